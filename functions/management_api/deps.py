"""What the management routes depend on, built once per execution environment (clients stay lazy)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from leadhub.adapters.dynamodb_accounts import DynamoAccountRepository
from leadhub.adapters.dynamodb_leads import DynamoLeadRepository
from leadhub.adapters.kms_cipher import KmsCipher
from leadhub.adapters.ssm_secrets import SsmSecret
from leadhub.domain.api_keys import authenticate, require_scope
from leadhub.models.account import Principal, Scope
from leadhub.settings import ManagementSettings, load_settings
from leadhub.web import base_url

settings = load_settings(ManagementSettings)
accounts = DynamoAccountRepository(settings.table_name)
leads = DynamoLeadRepository(settings.table_name)
cipher = KmsCipher(settings.kms_key_id)
admin_key = SsmSecret(settings.admin_key_parameter)

API_KEY_SECURITY = [{"apiKey": []}]
ADMIN_KEY_SECURITY = [{"adminKey": []}]


def principal(router: Router, scope: Scope) -> Principal:
    """The caller of this request, refused (401/403) unless its key is valid and holds `scope`."""
    caller = authenticate(router.current_event.headers.get("x-api-key"), accounts=accounts)
    require_scope(caller, scope)
    return caller


def public_base_url(router: Router) -> str:
    return base_url(router.current_event, settings.public_base_url)
