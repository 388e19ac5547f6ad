"""Typed settings, read from the environment that template.yaml declares and validated at cold start.

Plain frozen dataclasses with a small reader rather than pydantic models, because only the management API
loads pydantic anyway. Measured with bench/cold_start.py (CPU time of a cold start, against the floor of the
same runs): a pydantic model per function costs every other function 45-57 ms (lead webhook +50, WhatsApp
+51, Telegram +48, email +45, workers +46-53, widget +49, dashboard +57; management API +10), and pydantic's
engine alone (pydantic_core, for its wording) still 11-15 ms. Each field names its environment variable
and its bounds; `load_settings` converts by the field's type and reports every problem by variable name,
in pydantic's words.

Each function's settings class lives in a module of its own (leadhub.platform.settings.<function>) and is
imported from here on first use, so that a cold start creates its own classes, not all thirteen (~1 ms
against ~10 ms).
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, get_type_hints

if TYPE_CHECKING:
    from leadhub.platform.settings.conversation_worker import ConversationWorkerSettings
    from leadhub.platform.settings.dashboard import DashboardSettings
    from leadhub.platform.settings.delivery_worker import DeliveryWorkerSettings
    from leadhub.platform.settings.email_content import EmailContentSettings
    from leadhub.platform.settings.email_webhook import EmailWebhookSettings
    from leadhub.platform.settings.fanout import FanoutSettings
    from leadhub.platform.settings.lead_webhook import LeadWebhookSettings
    from leadhub.platform.settings.management import ManagementSettings
    from leadhub.platform.settings.provider_api import ProviderApiSettings
    from leadhub.platform.settings.telegram_webhook import TelegramWebhookSettings
    from leadhub.platform.settings.webhook_endpoints import WebhookEndpointSettings
    from leadhub.platform.settings.whatsapp_webhook import WhatsappWebhookSettings
    from leadhub.platform.settings.widget import WidgetFunctionSettings

__all__ = [
    "BaseSettings",
    "ConversationWorkerSettings",
    "DashboardSettings",
    "DeliveryWorkerSettings",
    "EmailContentSettings",
    "EmailWebhookSettings",
    "FanoutSettings",
    "LeadWebhookSettings",
    "ManagementSettings",
    "ProviderApiSettings",
    "SettingsError",
    "TelegramWebhookSettings",
    "WebhookEndpointSettings",
    "WhatsappWebhookSettings",
    "WidgetFunctionSettings",
    "load_settings",
    "setting",
    "shared_setting",
]

S = TypeVar("S", bound="BaseSettings")

# Each function's settings class -> the module that defines it.
_SETTINGS_MODULES = {
    "ConversationWorkerSettings": "conversation_worker",
    "DashboardSettings": "dashboard",
    "DeliveryWorkerSettings": "delivery_worker",
    "EmailContentSettings": "email_content",
    "EmailWebhookSettings": "email_webhook",
    "FanoutSettings": "fanout",
    "LeadWebhookSettings": "lead_webhook",
    "ManagementSettings": "management",
    "ProviderApiSettings": "provider_api",
    "TelegramWebhookSettings": "telegram_webhook",
    "WebhookEndpointSettings": "webhook_endpoints",
    "WhatsappWebhookSettings": "whatsapp_webhook",
    "WidgetFunctionSettings": "widget",
}


def __getattr__(name: str) -> Any:
    """`from leadhub.platform.settings import LeadWebhookSettings` imports that class's module only."""
    module = _SETTINGS_MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "f", "false", "n", "no", "off"})


def schedule_check(value: str) -> None:
    """For retry schedules ("0s,5s,5m,…"): raises ValueError naming the bad entry."""
    from leadhub.platform.retry_schedule import parse_schedule  # only when such a setting is read

    parse_schedule(value)


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


# Settings that several functions read, each declared once: the environment variable -> its default and
# bounds (what `setting` takes).
_SHARED: dict[str, dict[str, Any]] = {
    "KMS_KEY_ID": {"min_length": 1},
    # Inbound messages to answer and agents' messages to send (FIFO, one group per conversation).
    "CONVERSATION_QUEUE_URL": {"min_length": 1},
    # Delivery jobs: from the fan-out, retries and recoveries.
    "DELIVERY_QUEUE_URL": {"min_length": 1},
    # How long a warm webhook may reuse a route lookup (phone-number id, bot secret, address -> account);
    # a disconnected channel's messages are refused within it.
    "ROUTE_CACHE_SECONDS": {"default": 60, "ge": 0, "le": 300},
    # How long a warm worker reuses an account's automations and responder settings.
    "AUTOMATION_CACHE_SECONDS": {"default": 30, "ge": 0, "le": 300},
    # Local development only: endpoints may be http://127.0.0.1 (loopback, nothing else private).
    "ALLOW_PRIVATE_WEBHOOK_TARGETS": {"default": False},
    # Replies come back to reply+{conversationId}@ this domain; empty: no reply threading.
    "RESEND_RECEIVING_DOMAIN": {"default": ""},
    # Base of the URLs we hand out and show; empty means "the domain the request came in on".
    "PUBLIC_BASE_URL": {"default": ""},
}


def shared_setting(env: str) -> Any:
    """A field for a setting several functions read (declared once, in _SHARED)."""
    return setting(env, **_SHARED[env])


@dataclasses.dataclass(frozen=True, kw_only=True)
class BaseSettings:
    table_name: str = setting("TABLE_NAME", min_length=1)
    default_phone_region: str = setting("DEFAULT_PHONE_REGION", "US", pattern=r"^[A-Z]{2}$")

    def problems(self) -> list[str]:
        """Checks across settings, as "VARIABLE: message"."""
        return []


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
    bounds: dict[str, tuple[Callable[[Any, Any], bool], str]] = {
        "ge": (lambda a, b: a >= b, "greater than or equal to"),
        "gt": (lambda a, b: a > b, "greater than"),
        "le": (lambda a, b: a <= b, "less than or equal to"),
        "lt": (lambda a, b: a < b, "less than"),
    }
    for name, (holds, words) in bounds.items():
        if name in rules and not holds(value, rules[name]):
            raise ValueError(f"Input should be {words} {rules[name]}")
