"""Typed settings, read from the environment that template.yaml declares and validated at cold start.

Plain frozen dataclasses with a small reader rather than pydantic models: every function reads its
settings at cold start, and the stream and queue consumers use pydantic for nothing else (importing it
and building the models would cost them ~90 ms of cold start). Each field names its environment variable
and its bounds; `load_settings` converts by the field's type and reports every problem by variable name.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, get_type_hints

S = TypeVar("S", bound="BaseSettings")

_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "f", "false", "n", "no", "off"})


def setting(
    env: str,
    default: Any = dataclasses.MISSING,
    *,
    min_length: int | None = None,
    pattern: str | None = None,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    check: Callable[[Any], None] | None = None,
) -> Any:
    """A field read from the environment variable `env` (required when there is no default); `check`
    raises ValueError for a value the bounds cannot express."""
    rules = {"min_length": min_length, "pattern": pattern, "ge": ge, "gt": gt, "le": le, "lt": lt}
    metadata = {"env": env, "check": check, "rules": {k: v for k, v in rules.items() if v is not None}}
    return dataclasses.field(default=default, metadata=metadata)


def _schedule_check(value: str) -> None:
    from leadhub.domain.retry_schedule import parse_schedule  # only the delivery worker needs it

    parse_schedule(value)  # raises ValueError naming the bad entry


@dataclasses.dataclass(frozen=True, kw_only=True)
class BaseSettings:
    table_name: str = setting("TABLE_NAME", min_length=1)
    default_phone_region: str = setting("DEFAULT_PHONE_REGION", "US", pattern=r"^[A-Z]{2}$")

    def problems(self) -> list[str]:
        """Checks across settings, as "VARIABLE: message"."""
        return []


@dataclasses.dataclass(frozen=True, kw_only=True)
class LeadWebhookSettings(BaseSettings):
    # How long a warm environment may reuse a token lookup: a rotated token stops working within it.
    token_cache_seconds: int = setting("TOKEN_CACHE_SECONDS", 60, ge=0, le=60)


@dataclasses.dataclass(frozen=True, kw_only=True)
class WhatsappWebhookSettings(BaseSettings):
    # SSM SecureString parameters holding the Meta app secret (signs POSTs) and our verify token (GET).
    meta_app_secret_parameter: str = setting("META_APP_SECRET_PARAMETER", min_length=1)
    meta_verify_token_parameter: str = setting("META_VERIFY_TOKEN_PARAMETER", min_length=1)
    # Development only: accept unsigned POSTs while no app secret is configured. Off, a stack without the
    # secret answers 503 (Meta retries later) instead of storing messages anyone could have forged.
    meta_skip_signature_check: bool = setting("META_SKIP_SIGNATURE_CHECK", False)
    # How long a warm environment may reuse a phone-number-id → account lookup.
    route_cache_seconds: int = setting("ROUTE_CACHE_SECONDS", 60, ge=0, le=300)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TelegramWebhookSettings(BaseSettings):
    # How long a warm environment may reuse a secret-token → account lookup (a disconnected bot's
    # updates are refused within it).
    route_cache_seconds: int = setting("ROUTE_CACHE_SECONDS", 60, ge=0, le=300)


@dataclasses.dataclass(frozen=True, kw_only=True)
class EmailWebhookSettings(BaseSettings):
    # SSM SecureString holding the Resend webhook's signing secret (whsec_…).
    resend_webhook_secret_parameter: str = setting("RESEND_WEBHOOK_SECRET_PARAMETER", min_length=1)
    # Replies come back to reply+{conversationId}@ this domain; empty: no reply threading.
    resend_receiving_domain: str = setting("RESEND_RECEIVING_DOMAIN", "")
    route_cache_seconds: int = setting("ROUTE_CACHE_SECONDS", 60, ge=0, le=300)


@dataclasses.dataclass(frozen=True, kw_only=True)
class EmailContentSettings(BaseSettings):
    """Resend's API; its key is a deployment secret in SSM."""

    resend_api_base_url: str = setting("RESEND_API_BASE_URL", "https://api.resend.com", min_length=1)
    resend_api_key_parameter: str = setting("RESEND_API_KEY_PARAMETER", min_length=1)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProviderApiSettings(EmailContentSettings):
    """Every provider API. Base URLs are settings so that tests and the local stack use loopback fakes."""

    graph_api_base_url: str = setting("GRAPH_API_BASE_URL", "https://graph.facebook.com/v23.0", min_length=1)
    telegram_api_base_url: str = setting("TELEGRAM_API_BASE_URL", "https://api.telegram.org", min_length=1)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConversationWorkerSettings(ProviderApiSettings):
    kms_key_id: str = setting("KMS_KEY_ID", min_length=1)
    conversation_queue_url: str = setting("CONVERSATION_QUEUE_URL", min_length=1)
    # Where the worker moves a job whose reply could not be sent on any attempt (the reply is failed).
    conversation_dlq_url: str = setting("CONVERSATION_DLQ_URL", min_length=1)
    # Delay before each attempt to send a reply through a provider that refused it for now (as for
    # deliveries); the ConversationQueue's maxReceiveCount must be larger (it catches crashed jobs).
    conversation_retry_schedule: str = setting(
        "CONVERSATION_RETRY_SCHEDULE", "0s,15s,1m,5m,15m", check=_schedule_check
    )
    resend_receiving_domain: str = setting("RESEND_RECEIVING_DOMAIN", "")
    # How long a warm worker reuses an account's automations and responder settings.
    automation_cache_seconds: int = setting("AUTOMATION_CACHE_SECONDS", 30, ge=0, le=300)
    # Bedrock runtime endpoint; empty: the region's own. A setting so tests use a loopback fake.
    bedrock_endpoint_url: str = setting("BEDROCK_ENDPOINT_URL", "")
    # A model that takes longer is a failure: the fallback reply (if any) is sent instead.
    bedrock_timeout_seconds: float = setting("BEDROCK_TIMEOUT_SECONDS", 20, gt=0, le=120)

    @property
    def retry_schedule(self) -> tuple[float, ...]:
        from leadhub.domain.retry_schedule import parse_schedule

        return parse_schedule(self.conversation_retry_schedule)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ManagementSettings(ProviderApiSettings):
    kms_key_id: str = setting("KMS_KEY_ID", min_length=1)
    admin_key_parameter: str = setting("ADMIN_KEY_PARAMETER", min_length=1)
    # Base of the webhook URLs we hand out; empty means "the domain the request came in on".
    public_base_url: str = setting("PUBLIC_BASE_URL", "")
    # Local development only: lets endpoints point at http://127.0.0.1 (loopback, nothing else private).
    allow_private_webhook_targets: bool = setting("ALLOW_PRIVATE_WEBHOOK_TARGETS", False)
    # How long a rotated-out endpoint secret keeps signing next to the new one.
    webhook_secret_overlap_hours: float = setting("WEBHOOK_SECRET_OVERLAP_HOURS", 24, ge=0, le=24 * 30)
    delivery_queue_url: str = setting("DELIVERY_QUEUE_URL", min_length=1)
    # Agents' messages are sent by the conversation worker, in order with the automatic replies.
    conversation_queue_url: str = setting("CONVERSATION_QUEUE_URL", min_length=1)


@dataclasses.dataclass(frozen=True, kw_only=True)
class FanoutSettings(BaseSettings):
    delivery_queue_url: str = setting("DELIVERY_QUEUE_URL", min_length=1)
    # Inbound emails whose content is still to be fetched from Resend.
    email_content_queue_url: str = setting("EMAIL_CONTENT_QUEUE_URL", min_length=1)
    # Inbound messages to answer (FIFO, one group per conversation).
    conversation_queue_url: str = setting("CONVERSATION_QUEUE_URL", min_length=1)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DeliveryWorkerSettings(BaseSettings):
    kms_key_id: str = setting("KMS_KEY_ID", min_length=1)
    delivery_queue_url: str = setting("DELIVERY_QUEUE_URL", min_length=1)
    # Total time one POST may take (connect, send, answer); the function's timeout must exceed it.
    delivery_timeout_seconds: float = setting("DELIVERY_TIMEOUT_SECONDS", 15, gt=0, le=300)
    # Delay before each attempt; the DeliveryQueue's maxReceiveCount must equal the number of entries.
    delivery_retry_schedule: str = setting(
        "DELIVERY_RETRY_SCHEDULE", "0s,5s,5m,30m,2h,5h,10h,10h", check=_schedule_check
    )
    # The DeliveryQueue's maxReceiveCount as the template sets it; when given it must match the schedule.
    delivery_max_attempts: int | None = setting("DELIVERY_MAX_ATTEMPTS", None, ge=1)
    delivery_retry_jitter: float = setting("DELIVERY_RETRY_JITTER", 0.2, ge=0, lt=1)
    # An endpoint whose deliveries keep exhausting every attempt for this long is disabled.
    endpoint_auto_disable_hours: float = setting("ENDPOINT_AUTO_DISABLE_HOURS", 72, gt=0)
    # Local development only: deliveries may go to http://127.0.0.1 (loopback, nothing else private).
    allow_private_webhook_targets: bool = setting("ALLOW_PRIVATE_WEBHOOK_TARGETS", False)

    def problems(self) -> list[str]:
        attempts = len(self.retry_schedule)
        if self.delivery_max_attempts is not None and self.delivery_max_attempts != attempts:
            # A mismatch gives up early or retries more often than configured: refuse to start.
            return [
                f"DELIVERY_MAX_ATTEMPTS: must equal the number of entries of DELIVERY_RETRY_SCHEDULE "
                f"({attempts}): it is the delivery queue's maxReceiveCount"
            ]
        return []

    @property
    def retry_schedule(self) -> tuple[float, ...]:
        from leadhub.domain.retry_schedule import parse_schedule

        return parse_schedule(self.delivery_retry_schedule)


class SettingsError(RuntimeError):
    pass


def load_settings(model: type[S], environ: Mapping[str, str] | None = None) -> S:
    """`model` read from `environ` (the process environment); SettingsError names every bad variable."""
    environ = os.environ if environ is None else environ
    types = get_type_hints(model)
    values: dict[str, Any] = {}
    problems: list[str] = []
    for spec in dataclasses.fields(model):
        env = spec.metadata["env"]
        raw = environ.get(env)
        if raw is None:
            if spec.default is dataclasses.MISSING:
                problems.append(f"{env}: Field required")
            continue
        try:
            values[spec.name] = _converted(raw, types[spec.name], spec.metadata)
        except ValueError as exc:
            problems.append(f"{env}: {exc}")
    if not problems:
        settings = model(**values)
        problems = settings.problems()
    if problems:
        raise SettingsError(f"invalid configuration: {'; '.join(problems)}")
    return settings


def _converted(raw: str, kind: Any, metadata: Mapping[str, Any]) -> Any:
    if kind in (int, int | None):
        try:
            value: Any = int(raw.strip())
        except ValueError:
            raise ValueError("Input should be a valid integer, unable to parse the string") from None
    elif kind is float:
        try:
            value = float(raw.strip())
        except ValueError:
            raise ValueError("Input should be a valid number, unable to parse string as a number") from None
    elif kind is bool:
        text = raw.strip().lower()
        if text not in _TRUE | _FALSE:
            raise ValueError("Input should be a valid boolean, unable to interpret input")
        value = text in _TRUE
    else:
        value = raw
    _check_rules(value, metadata["rules"])
    if metadata["check"] is not None:
        metadata["check"](value)
    return value


def _check_rules(value: Any, rules: Mapping[str, Any]) -> None:
    if "min_length" in rules and len(value) < rules["min_length"]:
        raise ValueError(f"String should have at least {rules['min_length']} character")
    if "pattern" in rules and not re.search(rules["pattern"], value):
        raise ValueError(f"String should match pattern '{rules['pattern']}'")
    bounds = {
        "ge": (lambda a, b: a >= b, "greater than or equal to"),
        "gt": (lambda a, b: a > b, "greater than"),
        "le": (lambda a, b: a <= b, "less than or equal to"),
        "lt": (lambda a, b: a < b, "less than"),
    }
    for name, (holds, words) in bounds.items():
        if name in rules and not holds(value, rules[name]):
            raise ValueError(f"Input should be {words} {rules[name]}")
