"""A `sam local invoke` stand-in: run one function once with an event file, without Docker.

    python -m local.invoke LeadWebhookFunction events/lead_webhook/new-lead.json

Starts a private local stack (own emulator, free ports, demo account), replaces the placeholders
of events/README.md in the event, invokes the function and prints its result as JSON on stdout
(the function's logs go to stderr). Exit status 1 when the invocation failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from local.stack import LocalStack, StackConfig


def placeholders(stack: LocalStack) -> dict[str, str]:
    account = stack.demo_account or {}
    return {
        "DEMO_WEBHOOK_TOKEN": account.get("webhookToken", ""),
        "DEMO_ACCOUNT_ID": account.get("accountId", ""),
        "DEMO_API_KEY": account.get("apiKey", ""),
        "ADMIN_KEY": stack.admin_key,
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.invoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("function", help="the function's logical id in template.yaml")
    parser.add_argument("event", type=Path, help="event file, e.g. events/lead_webhook/new-lead.json")
    args = parser.parse_args(argv)
    try:
        event = json.loads(args.event.read_text())
    except (OSError, ValueError) as exc:
        parser.error(f"cannot read event {args.event}: {exc}")

    config = StackConfig(port=0, state_dir=None, access_log=False)
    with LocalStack(config) as stack:
        if args.function not in stack.pools:
            known = ", ".join(sorted(stack.pools))
            parser.error(f"unknown function {args.function!r}; choose one of {known}")
        result = stack.invoke(args.function, fill_placeholders(event, placeholders(stack)))
    if result.ok:
        sys.stdout.write(json.dumps(result.result, indent=2) + "\n")
        return 0
    sys.stdout.write(json.dumps(result.error, indent=2) + "\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
