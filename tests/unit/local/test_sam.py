"""local.sam: Globals merging and the resolved function specs (routes, event sources, environment)."""

from __future__ import annotations

import copy
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
    runtime_note,
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
        "DashboardFunction",
        "WidgetFunction",
    }
    webhook, management = specs["LeadWebhookFunction"], specs["ManagementApiFunction"]
    assert specs["DashboardFunction"].http_routes == (
        HttpApiRoute("DashboardFunction", "ANY", "/", "Root"),
        HttpApiRoute("DashboardFunction", "ANY", "/{proxy+}", "Pages"),
    )
    assert specs["WidgetFunction"].http_routes == (
        HttpApiRoute("WidgetFunction", "GET", "/widget.js", "Script"),
        HttpApiRoute("WidgetFunction", "OPTIONS", "/widget/v1/{widgetKey}/{action}", "Preflight"),
        HttpApiRoute("WidgetFunction", "GET", "/widget/v1/{widgetKey}/{action}", "Read"),
        HttpApiRoute("WidgetFunction", "POST", "/widget/v1/{widgetKey}/{action}", "Write"),
    )
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
    assert stream.parallelization_factor == 1
    [queue] = specs["DeliveryWorkerFunction"].sqs_sources
    assert (queue.batch_size, queue.report_batch_item_failures) == (10, True)


def test_every_queue_consumer_of_the_real_template_has_its_maximum_concurrency() -> None:
    defaults = {
        spec.logical_id: source.maximum_concurrency
        for spec in real_specs().values()
        for source in spec.sqs_sources
    }
    assert defaults == {
        "DeliveryWorkerFunction": 20,
        "ConversationWorkerFunction": 10,
        "EmailContentFunction": 5,
    }
    overridden = real_specs(DeliveryWorkerMaxConcurrency="3")
    assert overridden["DeliveryWorkerFunction"].sqs_sources[0].maximum_concurrency == 3


@pytest.mark.parametrize(
    ("declared", "running", "expected"),
    [
        (["python3.13", "python3.13"], "python3.11", "on AWS is python3.13; here they run on python3.11"),
        (["python3.13", "python3.12"], "python3.11", "is python3.12, python3.13; here"),
        (["python3.13"], "python3.13", None),
        ([""], "python3.11", None),
    ],
)
def test_one_runtime_note_covers_every_function(
    declared: list[str], running: str, expected: str | None
) -> None:
    specs = {
        f"F{i}": FunctionSpec(f"F{i}", f"f{i}", "a.b", Path(), (), runtime, 128, 3.0, "g", {})
        for i, runtime in enumerate(declared)
    }
    note = runtime_note(specs, running)
    if expected is None:
        assert note is None
    else:
        assert note is not None and expected in note and note.startswith("note: ")
        assert "make build" in note


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
    assert not any("python3" in w for w in webhook.warnings)  # a note for all functions, not a warning each
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
            ScalingConfig: {MaximumConcurrency: !Ref Batch}
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
            ParallelizationFactor: 4
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
            maximum_concurrency=5,
        ),
        SqsEventSource(function_id="Worker", event_name="PlainJobs", queue_arn="arn:Other:Arn"),
    )
    plain = worker.sqs_sources[1]
    assert (plain.batch_size, plain.batching_window_s, plain.report_batch_item_failures) == (10, 0.0, False)
    assert plain.maximum_concurrency is None  # Lambda's own scaling


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
            parallelization_factor=4,
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
    assert plain.parallelization_factor == 1
    # Read one batch per shard at a time locally, and said so.
    assert [w for w in worker.warnings if "Changes" in w] == [
        "event Changes: shards are read one batch at a time locally"
    ]


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("ScalingConfig: {MaximumConcurrency: 1}", "SQS", "MaximumConcurrency must be between 2 and 1000"),
        ("ScalingConfig: {MaximumConcurrency: 1001}", "SQS", "between 2 and 1000, got 1001"),
        ("ParallelizationFactor: 0", "DynamoDB", "ParallelizationFactor must be between 1 and 10, got 0"),
        ("ParallelizationFactor: 11", "DynamoDB", "between 1 and 10, got 11"),
    ],
)
def test_scaling_settings_lambda_would_refuse_are_refused(
    tmp_path: Path, setting: str, value: str, message: str
) -> None:
    source = "Queue: arn:aws:sqs:us-east-1:1:q" if value == "SQS" else "Stream: arn:stream"
    text = f"""
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src
      Handler: a.b
      Events:
        E:
          Type: {value}
          Properties:
            {source}
            {setting}
"""
    template = Template(load_template_text(text), path=tmp_path / "template.yaml")
    with pytest.raises(CfnError, match=message):
        build_function_specs(template, Evaluator(template, FakeValues()), {})


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
