"""DynamoDB requests per ingested lead and per inbound channel message: each webhook's real handler, in
this process, against the local emulator; every request its DynamoDB client sends is counted through
botocore's event hooks. Prints one JSON document (progress on stderr).

Targets: lead webhook - a new lead with a warm token cache = 1 request; with a cold cache <= 2; a
duplicate <= 2. Channel webhooks (every function in _common.CHANNELS) - a new message on a warm function
<= 3, from a new person (new lead and conversation) and from a known one (open conversation). Redelivered
messages and first (cold) requests are reported without a target.

Usage: python bench/ddb_requests.py
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import sys
from collections import Counter
from collections.abc import Callable
from typing import Any

from _common import CHANNELS, Channel, LocalStack, emit, lead_event, local_stack, log

LEAD_TARGETS = {  # scenario -> (comparison, limit)
    "new_lead_warm_token_cache": ("==", 1),
    "new_lead_cold_token_cache": ("<=", 2),
    "duplicate_lead_warm_token_cache": ("<=", 2),
}
CHANNEL_TARGETS = {
    "new_message_new_person_warm": ("<=", 3),
    "new_message_known_person_warm": ("<=", 3),
}


class RequestCounter:
    """Counts API calls (`before-call`) and the HTTP requests actually sent, retries included
    (`before-send`), on one botocore client."""

    def __init__(self, client: Any) -> None:
        self.calls: Counter[str] = Counter()
        self.sent = 0
        client.meta.events.register("before-call.dynamodb", self._on_call)
        client.meta.events.register("before-send.dynamodb", self._on_send)

    def _on_call(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def _on_send(self, **_: Any) -> None:
        self.sent += 1

    def reset(self) -> None:
        self.calls.clear()
        self.sent = 0


class _Context:
    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.memory_limit_in_mb = 1024
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = "00000000-0000-4000-8000-000000000000"


class FreshFunction:
    """One function in a fresh execution environment: its template environment (plus `env`), its handler
    imported afresh, new AWS clients and parameter caches, and a counter on its DynamoDB client."""

    def __init__(self, stack: LocalStack, function_id: str, env: dict[str, str] | None = None) -> None:
        from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

        from leadhub.platform.adapters.aws_clients import clear_clients, client

        self.function_id = function_id
        self.scenarios: dict[str, dict[str, Any]] = {}
        os.environ.clear()
        os.environ.update(_BASE_ENVIRONMENT)
        os.environ.update(stack.environment(function_id))
        os.environ.update(env or {})
        clear_clients()
        DEFAULT_PROVIDERS.clear()
        self.handler = _import_handler(stack, function_id)
        self.counter = RequestCounter(client("dynamodb"))  # the handler's own (cached) client

    def post(self, scenario: str, event: dict[str, Any], expected_status: int) -> dict[str, Any]:
        self.counter.reset()
        response = self.handler(event, _Context(self.function_id))
        if response["statusCode"] != expected_status:
            raise SystemExit(f"{self.function_id} {scenario}: expected {expected_status}, got {response}")
        body = json.loads(response.get("body") or "null")
        self.scenarios[scenario] = {
            "requests": self.counter.sent,
            "api_calls": dict(self.counter.calls),
            "status": response["statusCode"],
        }
        log(f"{self.function_id} {scenario}: {self.counter.sent} request(s) {dict(self.counter.calls)}")
        return body if isinstance(body, dict) else {}

    def report(self, targets: dict[str, tuple[str, int]], notes: dict[str, str]) -> dict[str, Any]:
        checked = {}
        for scenario, (comparison, limit) in targets.items():
            count = self.scenarios[scenario]["requests"]
            passed = count == limit if comparison == "==" else count <= limit
            checked[scenario] = {"requests": count, "target": f"{comparison} {limit}", "pass": passed}
        return {
            "scenarios": self.scenarios,
            "targets": checked,
            "informational": notes,
            "pass": all(t["pass"] for t in checked.values()),
        }


_BASE_ENVIRONMENT = dict(os.environ)


def _import_handler(stack: LocalStack, function_id: str) -> Callable[..., dict[str, Any]]:
    """The function's handler, its module imported afresh under a name of its own (every one is `app`)."""
    spec = stack.specs[function_id]
    module_name, _, handler_name = spec.handler.rpartition(".")
    for path in reversed(stack.sys_path(function_id)):
        if path not in sys.path:
            sys.path.insert(0, path)
    module_file = spec.code_dir / f"{module_name.replace('.', '/')}.py"
    module_spec = importlib.util.spec_from_file_location(f"bench_{function_id}", module_file)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    handler: Callable[..., dict[str, Any]] = getattr(module, handler_name)
    return handler


def lead_webhook(stack: LocalStack) -> dict[str, Any]:
    from leadhub.leads.adapters.dynamodb_leads import DynamoLeadRepository
    from leadhub.leads.leads import upsert_lead
    from leadhub.leads.submission import validate_submission
    from leadhub.platform.timestamps import utc_now

    section = FreshFunction(stack, "LeadWebhookFunction")
    first, second = stack.create_account("Bench A"), stack.create_account("Bench B")
    section.post("new_lead_cold_token_cache", lead_event(first, "+14155550101"), 201)
    section.post("new_lead_warm_token_cache", lead_event(first, "+14155550102"), 201)
    section.post("duplicate_lead_warm_token_cache", lead_event(first, "+14155550102"), 200)
    # Informational: a duplicate whose token this environment has not looked up yet. The lead is
    # written beforehand through another client, so only the handler's requests are counted.
    existing = validate_submission({"phone": "+14155550103"}, "US")
    upsert_lead(
        second.account_id,
        existing,
        leads=DynamoLeadRepository(stack.table_name, clients=stack.clients.client),
        now=utc_now(),
        source="webhook",
    )
    section.post("duplicate_lead_cold_token_cache", lead_event(second, "+14155550103"), 200)
    return {
        "unit": "DynamoDB HTTP requests per lead post (retries included)",
        **section.report(
            LEAD_TARGETS, {"duplicate_lead_cold_token_cache": "no target: a token lookup + the duplicate"}
        ),
    }


def channel_webhook(stack: LocalStack, connect: Callable[[LocalStack, Any], Channel]) -> dict[str, Any]:
    """A connected account's first message (cold), then a new person, the same person again, and a
    redelivery of that message, on the now warm function."""
    channel = connect(stack, stack.create_account("Bench Channel"))
    section = FreshFunction(stack, channel.function_id, dict(channel.env))

    def post(scenario: str, sender: str, message_id: str, outcome: str) -> None:
        body = section.post(scenario, channel.text_event(sender, message_id), 200)
        if channel.outcome(body) != outcome:
            raise SystemExit(f"{channel.function_id} {scenario}: expected {outcome}, got {body}")

    first_sender = channel.new_sender()
    post("new_message_new_person_cold", first_sender, channel.new_message_id(), "stored")
    sender, message_id = channel.new_sender(), channel.new_message_id()
    post("new_message_new_person_warm", sender, message_id, "stored")
    post("duplicate_message_warm", sender, message_id, "duplicate")
    post("new_message_known_person_warm", sender, channel.new_message_id(), "stored")
    return {
        "unit": "DynamoDB HTTP requests per webhook request with one text message (retries included)",
        **section.report(
            CHANNEL_TARGETS,
            {
                "new_message_new_person_cold": "no target: the first request of a fresh environment",
                "duplicate_message_warm": "no target: a redelivery of the new person's message",
            },
        ),
    }


def main() -> None:
    # The handlers log to stdout; keep stdout for the JSON result.
    with local_stack() as stack, contextlib.redirect_stdout(sys.stderr):
        functions = {"LeadWebhookFunction": lead_webhook(stack)}
        for function_id, connect in CHANNELS.items():
            functions[function_id] = channel_webhook(stack, connect)
    emit(
        {
            "benchmark": "ddb_requests",
            "functions": functions,
            "pass": all(f["pass"] for f in functions.values()),
        }
    )


if __name__ == "__main__":
    main()
