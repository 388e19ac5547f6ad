"""Managing outbound webhook endpoints: create (secret shown once), read, change, rotate, delete.

Nothing leaves Leadhub for a create that is refused: every check, the plan's limit included (the
endpoint is stored, pending, first), comes before the verification handshake."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from leadhub.accounts.audit import AuditEntry
from leadhub.accounts.models import Principal
from leadhub.accounts.ports import AccountRepository
from leadhub.outbound.models import (
    DEFAULT_VERIFICATION_MODE,
    DISABLED_THROUGH_API,
    ENDPOINT_LIMITS,
    SUBSCRIBABLE_EVENTS,
    EndpointSecret,
    Verification,
    VerificationMode,
    WebhookEndpoint,
)
from leadhub.outbound.payload_template import validate_template
from leadhub.outbound.ports import EndpointRepository, Resolver
from leadhub.outbound.signing import checked_secret, new_endpoint_secret
from leadhub.outbound.url_safety import UnsafeUrl, check_webhook_url
from leadhub.platform.errors import FieldError, Forbidden, InvalidRequest, NotFound
from leadhub.platform.header_text import HTTP_HEADER_VALUE_RULE, is_http_header_value
from leadhub.platform.ids import sortable_id
from leadhub.platform.json_input import printable
from leadhub.platform.ports import SecretCipher
from leadhub.platform.timestamps import to_iso

MAX_CUSTOM_HEADERS = 20
MAX_HEADER_VALUE_CHARS = 1024
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}")
# Headers we set ourselves, or that belong to the connection: a customer value would break signing,
# framing or routing.
_RESERVED_HEADERS = frozenset(
    {
        "host",
        "user-agent",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "x-leadhub-signature",
        "x-leadhub-event",
        "x-leadhub-delivery-id",
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
    }
)
_RESERVED_PREFIXES = ("content-", "x-amz-", "x-leadhub-", "webhook-")


@dataclass(frozen=True, slots=True)
class VerificationResult:
    verified: bool
    error: str | None = None


# Runs the signed webhook.verify handshake against an endpoint with its plaintext secrets and custom headers.
Verifier = Callable[[WebhookEndpoint, Sequence[str], Mapping[str, str]], VerificationResult]


@dataclass(frozen=True, slots=True)
class EndpointChanges:
    """Fields of a create or PATCH request; None = not given (PATCH keeps the stored value)."""

    name: str | None = None
    url: str | None = None
    events: Sequence[str] | None = None
    account_filter: Sequence[str] | None = None
    clear_account_filter: bool = False
    payload_template: str | None = None
    clear_payload_template: bool = False
    headers: Mapping[str, str] | None = None
    enabled: bool | None = None
    verification_mode: VerificationMode | None = None
    secret: str | None = None  # create only: the client's own signing secret


def secret_context(account_id: str, endpoint_id: str) -> dict[str, str]:
    return {"accountId": account_id, "endpointId": endpoint_id, "purpose": "endpoint-secret"}


def headers_context(account_id: str, endpoint_id: str) -> dict[str, str]:
    return {"accountId": account_id, "endpointId": endpoint_id, "purpose": "endpoint-headers"}


def _checked_url(url: str, resolver: Resolver, allow_private_targets: bool) -> str:
    try:
        return check_webhook_url(url, resolver, allow_private=allow_private_targets).url
    except UnsafeUrl as exc:
        raise exc.to_invalid_request() from None


def _checked_events(events: Sequence[str]) -> tuple[str, ...]:
    unknown = [e for e in events if e not in SUBSCRIBABLE_EVENTS]
    if unknown:
        allowed = ", ".join(SUBSCRIBABLE_EVENTS)
        raise InvalidRequest(
            "Unknown event types",
            [FieldError("events", f"unknown: {', '.join(unknown)}; choose from {allowed}")],
        )
    return tuple(dict.fromkeys(events))


def _checked_account_filter(
    principal: Principal, ids: Sequence[str], accounts: AccountRepository
) -> tuple[str, ...]:
    for account_id in dict.fromkeys(ids):
        managed = accounts.get_account(account_id)
        if managed is None or managed.parent_account_id != principal.account_id:
            # The same answer whether the account does not exist or belongs to someone else.
            raise InvalidRequest(
                "Invalid account filter",
                [FieldError("accountFilter", f"{account_id} is not a managed account of this account")],
            )
    return tuple(dict.fromkeys(ids))


def _checked_secret(secret: str) -> str:
    try:
        return checked_secret(secret)
    except ValueError as exc:
        raise InvalidRequest("Invalid secret", [FieldError("secret", str(exc))]) from None


def _checked_headers(headers: Mapping[str, str]) -> dict[str, str]:
    problems: list[FieldError] = []
    if len(headers) > MAX_CUSTOM_HEADERS:
        problems.append(FieldError("headers", f"at most {MAX_CUSTOM_HEADERS} custom headers"))
    for name, value in headers.items():
        lowered = name.lower()
        if not _HEADER_NAME.fullmatch(name):
            problems.append(FieldError(f"headers.{printable(name)}", "not a valid header name"))
        elif lowered in _RESERVED_HEADERS or lowered.startswith(_RESERVED_PREFIXES):
            problems.append(FieldError(f"headers.{name}", "this header is reserved; Leadhub sets it"))
        elif not isinstance(value, str) or not is_http_header_value(value):
            problems.append(FieldError(f"headers.{name}", f"values are {HTTP_HEADER_VALUE_RULE}"))
        elif len(value) > MAX_HEADER_VALUE_CHARS:
            problems.append(FieldError(f"headers.{name}", f"at most {MAX_HEADER_VALUE_CHARS} characters"))
    lowered_names = [name.lower() for name in headers]
    if len(set(lowered_names)) != len(lowered_names):
        problems.append(FieldError("headers", "header names must differ in more than case"))
    if problems:
        raise InvalidRequest("Invalid custom headers", problems)
    return dict(headers)


def _with_headers(
    endpoint: WebhookEndpoint, headers: Mapping[str, str], cipher: SecretCipher
) -> WebhookEndpoint:
    if not headers:
        return replace(endpoint, header_names=(), headers_ciphertext=None)
    context = headers_context(endpoint.account_id, endpoint.endpoint_id)
    return replace(
        endpoint,
        header_names=tuple(headers),
        headers_ciphertext=cipher.encrypt(json.dumps(dict(headers)), context),
    )


def custom_headers(endpoint: WebhookEndpoint, cipher: SecretCipher) -> dict[str, str]:
    if endpoint.headers_ciphertext is None:
        return {}
    context = headers_context(endpoint.account_id, endpoint.endpoint_id)
    return dict(json.loads(cipher.decrypt(endpoint.headers_ciphertext, context)))


def signing_secrets(endpoint: WebhookEndpoint, cipher: SecretCipher, now: datetime) -> list[str]:
    """Plaintext secrets that sign now: the current one and a previous one still in its overlap."""
    context = secret_context(endpoint.account_id, endpoint.endpoint_id)
    now_iso = to_iso(now)
    return [
        cipher.decrypt(secret.ciphertext, context)
        for secret in endpoint.secrets
        if secret.expires_at is None or secret.expires_at > now_iso
    ]


def _verified(
    endpoint: WebhookEndpoint, now: datetime, *, verifier: Verifier, cipher: SecretCipher
) -> WebhookEndpoint:
    result = verifier(endpoint, signing_secrets(endpoint, cipher, now), custom_headers(endpoint, cipher))
    if result.verified:
        return replace(
            endpoint, verification=Verification.VERIFIED, verified_at=to_iso(now), verification_error=None
        )
    return replace(endpoint, verification=Verification.FAILED, verification_error=result.error)


def _audit(principal: Principal, action: str, endpoint_id: str, now: datetime) -> AuditEntry:
    return AuditEntry(
        account_id=principal.account_id,
        action=action,
        source=principal.source,
        at=to_iso(now),
        actor=principal.key_id,
        target={"endpointId": endpoint_id},
    )


def create_endpoint(
    principal: Principal,
    changes: EndpointChanges,
    now: datetime,
    *,
    endpoints: EndpointRepository,
    accounts: AccountRepository,
    cipher: SecretCipher,
    resolver: Resolver,
    verifier: Verifier,
    allow_private_targets: bool,
) -> tuple[WebhookEndpoint, str]:
    """The new endpoint (verified or not) and its signing secret: the client's own, or a new one that
    is shown only this once."""
    if not changes.name or not changes.url:
        raise InvalidRequest("name and url are required")
    account = accounts.get_account(principal.account_id)
    if account is None:
        raise NotFound("Account not found")
    endpoint_id = sortable_id("wep")
    secret = new_endpoint_secret() if changes.secret is None else _checked_secret(changes.secret)
    stamp = to_iso(now)
    endpoint = WebhookEndpoint(
        account_id=principal.account_id,
        endpoint_id=endpoint_id,
        name=changes.name,
        url=_checked_url(changes.url, resolver, allow_private_targets),
        secrets=(
            EndpointSecret(cipher.encrypt(secret, secret_context(principal.account_id, endpoint_id)), stamp),
        ),
        created_at=stamp,
        updated_at=stamp,
        events=_checked_events(changes.events or ()),
        account_filter=None
        if changes.account_filter is None
        else _checked_account_filter(principal, changes.account_filter, accounts),
        payload_template=None
        if changes.payload_template is None
        else validate_template(changes.payload_template),
        enabled=True if changes.enabled is None else changes.enabled,
        verification_mode=changes.verification_mode or DEFAULT_VERIFICATION_MODE,
    )
    endpoint = _with_headers(endpoint, _checked_headers(changes.headers or {}), cipher)
    limit = ENDPOINT_LIMITS[account.plan]
    # Stored (pending, so it receives nothing yet) before the handshake: the plan's limit holds under
    # concurrent creates, and a refused create sends no request to the URL.
    if not endpoints.insert(endpoint, limit, _audit(principal, "webhook_endpoint.created", endpoint_id, now)):
        raise Forbidden(
            f"The {account.plan} plan allows {limit} webhook endpoint{'s' if limit != 1 else ''}; "
            "delete one or upgrade the plan"
        )
    verified = _verified(endpoint, now, verifier=verifier, cipher=cipher)
    return _save(verified, endpoint, endpoints), secret


def get_endpoint(principal: Principal, endpoint_id: str, *, endpoints: EndpointRepository) -> WebhookEndpoint:
    endpoint = endpoints.get(principal.account_id, endpoint_id)
    if endpoint is None:
        raise NotFound("Webhook endpoint not found")
    return endpoint


def list_endpoints(principal: Principal, *, endpoints: EndpointRepository) -> list[WebhookEndpoint]:
    return endpoints.list_for_account(principal.account_id)


def _save(
    endpoint: WebhookEndpoint, previous: WebhookEndpoint, endpoints: EndpointRepository
) -> WebhookEndpoint:
    saved = replace(endpoint, version=previous.version + 1)
    if not endpoints.replace(saved, previous.version):
        raise InvalidRequest("The endpoint changed meanwhile; read it again and retry")
    return saved


def update_endpoint(
    principal: Principal,
    endpoint_id: str,
    changes: EndpointChanges,
    now: datetime,
    *,
    endpoints: EndpointRepository,
    accounts: AccountRepository,
    cipher: SecretCipher,
    resolver: Resolver,
    verifier: Verifier,
    allow_private_targets: bool,
) -> WebhookEndpoint:
    """PATCH: given fields change; a new URL or verification mode is verified again (in the mode it
    will have) before it receives anything. Disabling keeps URL, secret and settings; enabling resumes
    delivery without re-entering them."""
    current = get_endpoint(principal, endpoint_id, endpoints=endpoints)
    endpoint = replace(current, updated_at=to_iso(now))
    if changes.name is not None:
        endpoint = replace(endpoint, name=changes.name)
    if changes.events is not None:
        endpoint = replace(endpoint, events=_checked_events(changes.events))
    if changes.clear_account_filter:
        endpoint = replace(endpoint, account_filter=None)
    elif changes.account_filter is not None:
        endpoint = replace(
            endpoint, account_filter=_checked_account_filter(principal, changes.account_filter, accounts)
        )
    if changes.clear_payload_template:
        endpoint = replace(endpoint, payload_template=None)
    elif changes.payload_template is not None:
        endpoint = replace(endpoint, payload_template=validate_template(changes.payload_template))
    if changes.headers is not None:
        endpoint = _with_headers(endpoint, _checked_headers(changes.headers), cipher)
    if changes.enabled is not None:
        reason = None if changes.enabled else DISABLED_THROUGH_API
        endpoint = replace(endpoint, enabled=changes.enabled, disabled_reason=reason)
    if changes.verification_mode is not None:
        endpoint = replace(endpoint, verification_mode=changes.verification_mode)
    if changes.url is not None and changes.url != current.url:
        endpoint = replace(endpoint, url=_checked_url(changes.url, resolver, allow_private_targets))
    if (endpoint.url, endpoint.verification_mode) != (current.url, current.verification_mode):
        endpoint = _verified(endpoint, now, verifier=verifier, cipher=cipher)
    saved = _save(endpoint, current, endpoints)
    endpoints.add_audit(_audit(principal, "webhook_endpoint.updated", endpoint_id, now))
    return saved


def delete_endpoint(
    principal: Principal, endpoint_id: str, now: datetime, *, endpoints: EndpointRepository
) -> None:
    if not endpoints.delete(
        principal.account_id, endpoint_id, _audit(principal, "webhook_endpoint.deleted", endpoint_id, now)
    ):
        raise NotFound("Webhook endpoint not found")


def verify_endpoint(
    principal: Principal,
    endpoint_id: str,
    now: datetime,
    *,
    endpoints: EndpointRepository,
    cipher: SecretCipher,
    verifier: Verifier,
) -> WebhookEndpoint:
    current = get_endpoint(principal, endpoint_id, endpoints=endpoints)
    verified = _verified(current, now, verifier=verifier, cipher=cipher)
    return _save(replace(verified, updated_at=to_iso(now)), current, endpoints)


def rotate_secret(
    principal: Principal,
    endpoint_id: str,
    now: datetime,
    secret: str | None = None,
    *,
    endpoints: EndpointRepository,
    cipher: SecretCipher,
    secret_overlap: timedelta,
) -> tuple[WebhookEndpoint, str]:
    """A new secret (the client's own, or a new one shown once); the previous one keeps signing for the
    overlap so that receivers can switch without dropping deliveries."""
    current = get_endpoint(principal, endpoint_id, endpoints=endpoints)
    context = secret_context(current.account_id, current.endpoint_id)
    if secret is None:
        secret = new_endpoint_secret()
    elif _checked_secret(secret) in signing_secrets(current, cipher, now):
        raise InvalidRequest("Invalid secret", [FieldError("secret", "the endpoint signs with it already")])
    previous = replace(current.secrets[0], expires_at=to_iso(now + secret_overlap))
    endpoint = replace(
        current,
        secrets=(EndpointSecret(cipher.encrypt(secret, context), to_iso(now)), previous),
        updated_at=to_iso(now),
    )
    saved = _save(endpoint, current, endpoints)
    endpoints.add_audit(_audit(principal, "webhook_endpoint.secret_rotated", endpoint_id, now))
    return saved, secret
