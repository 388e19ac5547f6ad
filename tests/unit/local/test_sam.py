"""local.sam: Globals merging and the resolved function specs (routes, event sources, environment)."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest

from local import settings
from local.cfn import CfnError, Evaluator, Template, load_template_text
from local.provision import ResourceRegistry
from local.sam import (
    FunctionSpec,
    HttpApiRoute,
    SqsEventSource,
    StreamEventSource,
    build_function_specs,
    function_ids,
    merge_globals,
)

TABLE = "leadhub-local-LeadhubTable"
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{settings.ACCOUNT_ID}:table/{TABLE}"
KEY_ID = "0b1c2d3e-0000-4000-8000-000000000001"

# ---------------------------------------------------------------------------------------------
# merge_globals
# ---------------------------------------------------------------------------------------------


def test_merge_globals_merges_maps_with_the_function_winning() -> None:
    merged = merge_globals(
        {"Environment": {"Variables": {"A": "global", "B": "global"}}, "Tags": {"t": "1"}},
        {"Environment": {"Variables": {"B": "own", "C": "own"}}},
    )
    assert merged == {
        "Environment": {"Variables": {"A": "global", "B": "own", "C": "own"}},
        "Tags": {"t": "1"},
    }


def test_merge_globals_concatenates_lists_globals_first() -> None:
    merged = merge_globals({"Layers": ["g1", "g2"]}, {"Layers": ["own"]})
    assert merged == {"Layers": ["g1", "g2", "own"]}


def test_merge_globals_replaces_scalars_and_mismatched_kinds() -> None:
    merged = merge_globals(
        {"Timeout": 10, "MemorySize": 1024, "Runtime": "python3.13", "Layers": ["g"]},
        {"Timeout": 6, "Runtime": "python3.12", "Layers": {"Ref": "L"}},
    )
    assert merged == {"Timeout": 6, "MemorySize": 1024, "Runtime": "python3.12", "Layers": {"Ref": "L"}}


def test_merge_globals_does_not_merge_into_an_intrinsic() -> None:
    own_env = {"Fn::If": ["C", {"Variables": {"X": "1"}}, {"Ref": "AWS::NoValue"}]}
    merged = merge_globals({"Environment": {"Variables": {"A": "1"}}}, {"Environment": own_env})
    assert merged == {"Environment": own_env}


def test_merge_globals_leaves_its_inputs_alone() -> None:
    globals_ = {"Environment": {"Variables": {"A": "1"}}, "Layers": ["g"]}
    own = {"Environment": {"Variables": {"B": "2"}}, "Layers": ["o"]}
    before = copy.deepcopy((globals_, own))
    merge_globals(globals_, own)
    assert (globals_, own) == before


# ---------------------------------------------------------------------------------------------
# The real template
# ---------------------------------------------------------------------------------------------


def real_specs(runner_env: dict[str, str] | None = None, **overrides: Any) -> dict[str, FunctionSpec]:
    template = Template.from_file(settings.DEFAULT_TEMPLATE, parameter_overrides=overrides)
    registry = ResourceRegistry(template)
    registry.set("LeadhubTable", TABLE, Arn=TABLE_ARN, StreamArn=f"{TABLE_ARN}/stream/1")
    registry.set("SecretsKey", KEY_ID, Arn=f"arn:aws:kms:us-east-1:{settings.ACCOUNT_ID}:key/{KEY_ID}")
    for queue in (
        "DeliveryQueue",
        "DeliveryDLQ",
        "FanoutFailureQueue",
        "EmailContentQueue",
        "EmailContentDLQ",
        "ConversationQueue",
        "ConversationDLQ",
    ):
        arn = f"arn:aws:sqs:us-east-1:{settings.ACCOUNT_ID}:{queue}"
        registry.set(queue, f"http://sqs.local/{queue}", Arn=arn, QueueName=queue)
    return build_function_specs(template, registry.evaluator, runner_env or {})


def test_real_template_functions_and_routes() -> None:
    specs = real_specs()
    assert set(specs) == {
        "LeadWebhookFunction",
        "ManagementApiFunction",
        "EventFanoutFunction",
        "DeliveryWorkerFunction",
        "WhatsappWebhookFunction",
        "TelegramWebhookFunction",
        "EmailWebhookFunction",
        "EmailContentFunction",
        "ConversationWorkerFunction",
    }
    webhook, management = specs["LeadWebhookFunction"], specs["ManagementApiFunction"]
    assert specs["WhatsappWebhookFunction"].http_routes == (
        HttpApiRoute("WhatsappWebhookFunction", "GET", "/api/webhooks/meta-whatsapp", "Verify"),
        HttpApiRoute("WhatsappWebhookFunction", "POST", "/api/webhooks/meta-whatsapp", "Notify"),
    )
    assert webhook.http_routes == (
        HttpApiRoute("LeadWebhookFunction", "POST", "/api/webhooks/leads/{token}", "LeadWebhook"),
    )
    assert management.http_routes == (
        HttpApiRoute("ManagementApiFunction", "ANY", "/api/{proxy+}", "ManagementApi"),
    )
    for spec in (webhook, management):
        assert spec.sqs_sources == () and spec.stream_sources == ()
    [stream] = specs["EventFanoutFunction"].stream_sources
    assert (stream.stream_arn, stream.report_batch_item_failures, stream.bisect_on_error) == (
        f"{TABLE_ARN}/stream/1",
        True,
        True,
    )
    assert stream.on_failure_arn == f"arn:aws:sqs:us-east-1:{settings.ACCOUNT_ID}:FanoutFailureQueue"
    [queue] = specs["DeliveryWorkerFunction"].sqs_sources
    assert (queue.batch_size, queue.report_batch_item_failures) == (10, True)


def test_real_template_function_settings() -> None:
    specs = real_specs()
    webhook, management = specs["LeadWebhookFunction"], specs["ManagementApiFunction"]
    root = settings.REPO_ROOT
    assert webhook.timeout_s == 6.0  # its own
    assert management.timeout_s == 20.0  # its own (the endpoint handshake waits up to 10 s)
    assert management.memory_mb == 1024  # from Globals
    assert webhook.memory_mb == management.memory_mb == 1024
    assert webhook.handler == management.handler == "app.lambda_handler"
    assert webhook.code_dir == root / "functions" / "lead_webhook"
    assert management.code_dir == root / "functions" / "management_api"
    assert webhook.layer_dirs == management.layer_dirs == (root / "layers" / "common",)
    assert webhook.sys_path == (root / "functions" / "lead_webhook", root / "layers" / "common")
    assert webhook.runtime == "python3.13"
    running = f"python{sys.version_info.major}.{sys.version_info.minor}"
    assert any("python3.13" in w for w in webhook.warnings) is (running != "python3.13")
    assert webhook.function_name == "leadhub-local-LeadWebhookFunction"
    assert webhook.arn == settings.function_arn("leadhub-local-LeadWebhookFunction")
    assert webhook.log_group_name == "leadhub-local-LeadWebhookLogGroup"
    assert management.log_group_name == "leadhub-local-ManagementApiLogGroup"


def test_real_template_environment_is_resolved() -> None:
    specs = real_specs()
    assert dict(specs["LeadWebhookFunction"].environment) == {
        "TABLE_NAME": TABLE,
        "DEFAULT_PHONE_REGION": "US",
        "POWERTOOLS_SERVICE_NAME": "leadhub",
        "POWERTOOLS_METRICS_NAMESPACE": "Leadhub",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
        "TOKEN_CACHE_SECONDS": "60",
    }
    management = dict(specs["ManagementApiFunction"].environment)
    assert management["TABLE_NAME"] == TABLE
    assert management["KMS_KEY_ID"] == KEY_ID
    assert management["ADMIN_KEY_PARAMETER"] == "/leadhub/admin-key"
    assert "TOKEN_CACHE_SECONDS" not in management


def test_parameter_overrides_reach_the_environment() -> None:
    specs = real_specs(DefaultPhoneRegion="GB")
    assert specs["LeadWebhookFunction"].environment["DEFAULT_PHONE_REGION"] == "GB"


def test_runner_env_overrides_only_variables_that_do_not_reference_resources() -> None:
    runner_env = {
        "TOKEN_CACHE_SECONDS": "2",
        "DEFAULT_PHONE_REGION": "DE",  # template value is a parameter Ref: overridable
        "POWERTOOLS_LOG_LEVEL": "DEBUG",
        "TABLE_NAME": "someone-elses-table",  # template value is a resource Ref: not overridable
        "KMS_KEY_ID": "other-key",
        "UNRELATED": "x",
    }
    specs = real_specs(runner_env)
    webhook = dict(specs["LeadWebhookFunction"].environment)
    assert webhook["TOKEN_CACHE_SECONDS"] == "2"
    assert webhook["DEFAULT_PHONE_REGION"] == "DE"
    assert webhook["POWERTOOLS_LOG_LEVEL"] == "DEBUG"
    assert webhook["TABLE_NAME"] == TABLE
    assert "UNRELATED" not in webhook
    management = specs["ManagementApiFunction"].environment
    assert management["KMS_KEY_ID"] == KEY_ID
    assert "TOKEN_CACHE_SECONDS" not in management  # runner env only overrides, never adds


def test_real_template_needs_its_created_resources() -> None:
    template = Template.from_file(settings.DEFAULT_TEMPLATE)
    registry = ResourceRegistry(template)  # the table was never provisioned
    with pytest.raises(CfnError, match="LeadhubTable"):
        build_function_specs(template, registry.evaluator, {})


# ---------------------------------------------------------------------------------------------
# A small inline template: event sources and the less common properties
# ---------------------------------------------------------------------------------------------


class FakeValues:
    def ref(self, logical_id: str) -> Any:
        return f"ref-{logical_id}"

    def get_att(self, logical_id: str, attribute: str) -> Any:
        return f"arn:{logical_id}:{attribute}"


INLINE = """
Parameters:
  Batch: {Type: Number, Default: 5}
Conditions:
  Never: !Equals [a, b]
Globals:
  Function:
    Runtime: python3.11
    Timeout: 30
    Environment:
      Variables:
        SHARED: shared
Resources:
  Layer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layer/}
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "${AWS::StackName}-worker"
      CodeUri: src/worker
      Handler: worker.handle
      Layers: [!Ref Layer, "arn:aws:lambda:us-east-1:123:layer:external:1"]
      Environment:
        Variables:
          QUEUE_URL: !Ref Jobs
          MAYBE: !If [Never, x, !Ref AWS::NoValue]
          FLAG: true
      Events:
        Jobs:
          Type: SQS
          Properties:
            Queue: !GetAtt Jobs.Arn
            BatchSize: !Ref Batch
            MaximumBatchingWindowInSeconds: 2
            FunctionResponseTypes: [ReportBatchItemFailures]
        PlainJobs:
          Type: SQS
          Properties:
            Queue: !GetAtt Other.Arn
        Changes:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Table.StreamArn
            StartingPosition: LATEST
            BatchSize: 25
            MaximumBatchingWindowInSeconds: 1
            MaximumRetryAttempts: 3
            BisectBatchOnFunctionError: true
            FunctionResponseTypes: [ReportBatchItemFailures]
            DestinationConfig:
              OnFailure:
                Destination: !GetAtt Dlq.Arn
        PlainChanges:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Table.StreamArn
        Off:
          Type: SQS
          Properties:
            Queue: !GetAtt Jobs.Arn
            Enabled: false
        Nightly:
          Type: Schedule
          Properties: {Schedule: rate(1 day)}
        Root:
          Type: HttpApi
          Properties: {Path: /, Method: get}
        Anything:
          Type: HttpApi
          Properties: {Path: /any, Method: x-amazon-apigateway-any-method}
        CatchAll:
          Type: HttpApi
  Skipped:
    Type: AWS::Serverless::Function
    Condition: Never
    Properties: {CodeUri: src/skipped, Handler: x.y}
  Jobs: {Type: AWS::SQS::Queue}
  Other: {Type: AWS::SQS::Queue}
  Dlq: {Type: AWS::SQS::Queue}
  Table: {Type: AWS::DynamoDB::Table}
"""


@pytest.fixture
def worker(tmp_path: Path) -> FunctionSpec:
    template = Template(load_template_text(INLINE), path=tmp_path / "template.yaml")
    assert function_ids(template) == ["Worker"]  # the conditional function is inactive
    specs = build_function_specs(template, Evaluator(template, FakeValues()), {})
    assert list(specs) == ["Worker"]
    return specs["Worker"]


def test_sqs_event_sources(worker: FunctionSpec) -> None:
    assert worker.sqs_sources == (
        SqsEventSource(
            function_id="Worker",
            event_name="Jobs",
            queue_arn="arn:Jobs:Arn",
            batch_size=5,
            batching_window_s=2.0,
            report_batch_item_failures=True,
        ),
        SqsEventSource(function_id="Worker", event_name="PlainJobs", queue_arn="arn:Other:Arn"),
    )
    plain = worker.sqs_sources[1]
    assert (plain.batch_size, plain.batching_window_s, plain.report_batch_item_failures) == (10, 0.0, False)


def test_dynamodb_event_sources(worker: FunctionSpec) -> None:
    assert worker.stream_sources == (
        StreamEventSource(
            function_id="Worker",
            event_name="Changes",
            stream_arn="arn:Table:StreamArn",
            batch_size=25,
            batching_window_s=1.0,
            report_batch_item_failures=True,
            starting_position="LATEST",
            maximum_retry_attempts=3,
            bisect_on_error=True,
            on_failure_arn="arn:Dlq:Arn",
        ),
        StreamEventSource(function_id="Worker", event_name="PlainChanges", stream_arn="arn:Table:StreamArn"),
    )
    plain = worker.stream_sources[1]
    assert (plain.batch_size, plain.maximum_retry_attempts, plain.bisect_on_error, plain.on_failure_arn) == (
        100,
        -1,
        False,
        None,
    )


def test_http_events_methods_and_default_route(worker: FunctionSpec) -> None:
    assert worker.http_routes == (
        HttpApiRoute("Worker", "GET", "/", "Root"),
        HttpApiRoute("Worker", "ANY", "/any", "Anything"),
        HttpApiRoute("Worker", "ANY", "$default", "CatchAll"),
    )


def test_unsupported_events_warn_and_external_layers_are_skipped(worker: FunctionSpec) -> None:
    assert any("Nightly" in w and "Schedule" in w for w in worker.warnings)
    assert any("external" in w for w in worker.warnings)
    assert not any("Off" in w for w in worker.warnings)  # disabled, silently


def test_inline_function_properties(worker: FunctionSpec, tmp_path: Path) -> None:
    assert worker.function_name == f"{settings.STACK_NAME}-worker"
    assert worker.code_dir == (tmp_path / "src" / "worker").resolve()
    assert worker.layer_dirs == ((tmp_path / "layer").resolve(),)
    assert worker.timeout_s == 30.0
    assert worker.memory_mb == 128  # the default
    assert worker.log_group_name == f"/aws/lambda/{settings.STACK_NAME}-worker"
    assert dict(worker.environment) == {"SHARED": "shared", "QUEUE_URL": "ref-Jobs", "FLAG": "true"}


def test_non_local_code_uri_is_rejected(tmp_path: Path) -> None:
    text = """
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {Bucket: b, Key: k}
      Handler: a.b
"""
    template = Template(load_template_text(text), path=tmp_path / "template.yaml")
    with pytest.raises(CfnError, match="CodeUri"):
        build_function_specs(template, Evaluator(template, FakeValues()), {})
