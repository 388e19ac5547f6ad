"""template.yaml provisioned in moto by the local stack's own code, and the handlers' resolved settings."""

from __future__ import annotations

import sys

from tests.integration.conftest import Api, Stack, shared_clients


def test_the_table_is_created_as_the_template_declares(stack: Stack) -> None:
    table = stack.ddb.describe_table(TableName=stack.table_name)["Table"]

    assert stack.table_name == "leadhub-local-LeadhubTable"
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    [gsi] = table["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "gsi1"
    assert gsi["KeySchema"] == [
        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
    ]
    assert gsi["Projection"] == {"ProjectionType": "ALL"}
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    ttl = stack.ddb.describe_time_to_live(TableName=stack.table_name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}


def test_the_secrets_key_and_its_alias_exist(stack: Stack) -> None:
    kms = shared_clients().client("kms")

    key = kms.describe_key(KeyId=stack.kms_key_id)["KeyMetadata"]
    assert key["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert key["Enabled"] is True
    assert kms.get_key_rotation_status(KeyId=stack.kms_key_id)["KeyRotationEnabled"] is True
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    assert aliases["alias/leadhub-local-secrets"] == stack.kms_key_id


def test_each_function_gets_its_environment_from_the_template(stack: Stack) -> None:
    webhook = stack.specs["LeadWebhookFunction"]
    management = stack.specs["ManagementApiFunction"]
    common = {
        "TABLE_NAME": stack.table_name,
        "DEFAULT_PHONE_REGION": "US",
        "POWERTOOLS_SERVICE_NAME": "leadhub",
        "POWERTOOLS_METRICS_NAMESPACE": "Leadhub",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
    }

    assert dict(webhook.environment) == {**common, "TOKEN_CACHE_SECONDS": "60"}
    assert dict(management.environment) == {
        **common,
        "KMS_KEY_ID": stack.kms_key_id,
        "ADMIN_KEY_PARAMETER": "/leadhub/admin-key",
        "ALLOW_PRIVATE_WEBHOOK_TARGETS": "false",
        "WEBHOOK_SECRET_OVERLAP_HOURS": "24",
        "DELIVERY_QUEUE_URL": stack.delivery_queue_url,
        "GRAPH_API_BASE_URL": "https://graph.facebook.com/v23.0",
        "TELEGRAM_API_BASE_URL": "https://api.telegram.org",
        "RESEND_API_BASE_URL": "https://api.resend.com",
        "RESEND_API_KEY_PARAMETER": "/leadhub/resend-api-key",
        "CONVERSATION_QUEUE_URL": stack.specs["ConversationWorkerFunction"].environment[
            "CONVERSATION_QUEUE_URL"
        ],
    }
    assert webhook.handler == management.handler == "app.lambda_handler"
    assert webhook.code_dir.name == "lead_webhook" and management.code_dir.name == "management_api"
    assert [d.name for d in webhook.layer_dirs] == ["common"]
    assert webhook.timeout_s == 6 and management.timeout_s == 20
    assert [(r.method, r.path) for r in webhook.http_routes] == [("POST", "/api/webhooks/leads/{token}")]
    assert [(r.method, r.path) for r in management.http_routes] == [("ANY", "/api/{proxy+}")]


def test_the_handlers_load_their_settings_from_that_environment(api: Api, stack: Stack) -> None:
    api.management.include_routes(("admin",))
    deps = sys.modules["deps"]  # functions/management_api/deps.py, as the handler imported it
    webhook = api.webhook.settings
    assert webhook.table_name == stack.table_name
    assert webhook.token_cache_seconds == 60
    assert webhook.default_phone_region == "US"
    assert deps.settings.table_name == stack.table_name
    assert deps.settings.kms_key_id == stack.kms_key_id
    assert deps.settings.admin_key_parameter == "/leadhub/admin-key"
    assert deps.settings.public_base_url == ""
