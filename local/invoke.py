"""A `sam local invoke` stand-in: run one function once with an event file, without Docker.

    python -m local.invoke events/lead_webhook/new-lead.json
    python -m local.invoke LeadWebhookFunction events/lead_webhook/new-lead.json

Starts a private local stack (own emulator, free ports, demo account, the providers' loopback fakes, and
the sample secrets of events/README.md), fills the event's placeholders (events/README.md), invokes the
function (named, or the one whose CodeUri directory names the event's directory) and prints its result
as JSON on stdout (the function's logs go to stderr). Exit status 1 when the invocation failed.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from local import settings
from local.cfn import Template
from local.fake_providers import DEMO_TELEGRAM_BOT_TOKEN, svix_headers
from local.sam import FUNCTION_TYPE
from local.stack import LocalStack, StackConfig
from local.workers import InvokeResult

# The provider secrets of the private stack, so that the signed samples in events/ verify (documented in
# events/README.md). Never used by `make run`, which generates its own.
SAMPLE_SECRETS = {
    "FB_APP_SECRET": "leadhub-sample-meta-app-secret",
    "META_WEBHOOK_VERIFY_TOKEN": "leadhub-sample-verify-token",
    "RESEND_WEBHOOK_SECRET": "whsec_bGVhZGh1Yi1zYW1wbGUtcmVzZW5kLXNlY3JldC0zMmI=",
}
TELEGRAM_SECRET = "DEMO_TELEGRAM_SECRET"  # noqa: S105 - a placeholder's name
SVIX_SIGNATURE = "SVIX_SIGNATURE"


def stack_config() -> StackConfig:
    """The private stack `make invoke` (and tests/e2e/test_sample_events.py) invokes in."""
    return StackConfig(
        port=0,
        state_dir=None,
        access_log=False,
        fake_providers=True,
        env={**os.environ, **SAMPLE_SECRETS},
    )


def placeholders(stack: LocalStack) -> dict[str, str]:
    account = stack.demo_account or {}
    return {
        "DEMO_WEBHOOK_TOKEN": account.get("webhookToken", ""),
        "DEMO_ACCOUNT_ID": account.get("accountId", ""),
        "DEMO_API_KEY": account.get("apiKey", ""),
        "ADMIN_KEY": stack.admin_key,
        "META_VERIFY_TOKEN": stack.local_secrets.get("META_WEBHOOK_VERIFY_TOKEN", ""),
    }


def fill_placeholders(event: Any, values: Mapping[str, str]) -> Any:
    """Replace placeholder names inside every string of the event (keys included)."""
    if isinstance(event, str):
        for name, value in values.items():
            event = event.replace(name, value)
        return event
    if isinstance(event, list):
        return [fill_placeholders(item, values) for item in event]
    if isinstance(event, dict):
        return {fill_placeholders(k, values): fill_placeholders(v, values) for k, v in event.items()}
    return event


def demo_telegram_secret(stack: LocalStack) -> str:
    """Connect the demo account to the fake Telegram bot (once) and return the secret token Leadhub
    registered with setWebhook, as Telegram would send it."""
    assert stack.fakes is not None, "the fake providers are off"
    webhook = stack.fakes.telegram.webhook
    if webhook is None:
        account = stack.demo_account or {}
        status, body = stack.request(
            "PUT",
            "/api/integrations/telegram",
            {"telegramBotToken": DEMO_TELEGRAM_BOT_TOKEN},
            headers={"X-API-Key": account.get("apiKey", "")},
        )
        webhook = stack.fakes.telegram.webhook
        if status != 200 or webhook is None:
            raise RuntimeError(f"connecting the demo account's Telegram bot failed: HTTP {status} {body}")
    return str(webhook["secret_token"])


def sign_svix(event: dict[str, Any], secret: str) -> dict[str, Any]:
    """The event with Resend's (Svix's) signature headers for its body made now, as Resend signs at send
    time (a signature more than 5 minutes old is refused)."""
    headers = dict(event.get("headers") or {})
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
    headers.update(svix_headers(secret, headers.get("svix-id", "msg_sample"), body))
    return {**event, "headers": headers}


def prepare_event(stack: LocalStack, event: Any) -> Any:
    """The event as the function gets it: placeholders filled, Telegram connected and Svix signed
    where the event asks for it."""
    values = placeholders(stack)
    text = json.dumps(event)
    if TELEGRAM_SECRET in text:
        values[TELEGRAM_SECRET] = demo_telegram_secret(stack)
    filled = fill_placeholders(event, values)
    if SVIX_SIGNATURE in text and isinstance(filled, dict):
        filled = sign_svix(filled, stack.local_secrets["RESEND_WEBHOOK_SECRET"])
    return filled


def function_for_event(template: Template, event_path: Path) -> str | None:
    """The function whose CodeUri directory has the event's directory name (events/<dir>/…)."""
    directory = event_path.resolve().parent.name
    for logical_id, body in template.active_resources().items():
        code_uri = (body.get("Properties") or {}).get("CodeUri")
        if (
            body.get("Type") == FUNCTION_TYPE
            and isinstance(code_uri, str)
            and Path(code_uri).name == directory
        ):
            return logical_id
    return None


def invoke_event(stack: LocalStack, function: str, event: Any) -> InvokeResult:
    return stack.invoke(function, prepare_event(stack, event))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.invoke", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "args", nargs="+", metavar="[FUNCTION] EVENT", help="logical id (optional) and event file"
    )
    args = parser.parse_args(argv).args
    if len(args) > 2:
        parser.error("expected [FUNCTION] EVENT")
    path = Path(args[-1])
    try:
        event = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        parser.error(f"cannot read event {path}: {exc}")
    template = Template.from_file(settings.DEFAULT_TEMPLATE)
    function = args[0] if len(args) == 2 else function_for_event(template, path)
    if function is None:
        parser.error(f"no function's CodeUri is named {path.resolve().parent.name!r}: name the function")

    with LocalStack(stack_config()) as stack:
        if function not in stack.pools:
            known = ", ".join(sorted(stack.pools))
            parser.error(f"unknown function {function!r}; choose one of {known}")
        result = invoke_event(stack, function, event)
    if result.ok:
        sys.stdout.write(json.dumps(result.result, indent=2) + "\n")
        return 0
    sys.stdout.write(json.dumps(result.error, indent=2) + "\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
