"""Schemathesis, an independent OpenAPI fuzzer, against the local stack: every operation of the document at
/api/openapi.json (the management API and the inbound webhooks) is called with generated valid and invalid
requests (its coverage and fuzzing phases), and every answer must be a documented status with a documented
content type and a body matching the documented schema, and never a 5xx.

The CLI runs it, as a user would (`schemathesis run …`): its pytest integration does not run under this
project's pytest. Bounded by a few examples per operation: ~30 s here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import wait_until
from tests.receiver import Receiver
from tests.stack_process import REPO_ROOT, StackProcess

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
MAX_EXAMPLES = 15
# Operations that end the credentials they are called with: revoking API keys, rotating the lead webhook
# token. They run apart, with an account of their own (the main run keeps its key and token).
BURNS_CREDENTIALS = (
    "delete_api_key_api_api_keys__keyId__delete",
    "post_rotate_token_api_accounts_current_webhook_token_rotate_post",
)
# API Gateway HTTP APIs know these methods (TRACE never reaches a function): the ones Schemathesis may
# try on an operation that does not declare them.
UNEXPECTED_METHODS = ["DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT"]


def fresh_account(stack: StackProcess, http: httpx.Client, name: str) -> dict[str, Any]:
    created = http.post(
        "/api/admin/accounts",
        json={"name": name, "plan": "business"},
        headers={"X-Admin-Key": stack.ready["adminKey"]},
    )
    assert created.status_code == 201, created.text
    return created.json()


def existing_resources(http: httpx.Client, account: dict[str, Any], receiver: Receiver) -> dict[str, str]:
    """Path parameters naming real resources of the account (an endpoint at `receiver`, a lead delivered
    to it, an automation), so that operations on them are fuzzed past the 404."""
    keyed = {"X-API-Key": account["apiKey"]}
    endpoint = http.post("/api/webhook-endpoints", json={"name": "CRM", "url": receiver.url}, headers=keyed)
    assert endpoint.status_code == 201, endpoint.text
    endpoint_id = endpoint.json()["endpointId"]
    lead = http.post(f"/api/webhooks/leads/{account['webhookToken']}", json={"phone": "+14155550177"})
    rule = http.post("/api/automations", json={"kind": "greeting", "reply": "Hello!"}, headers=keyed)
    deliveries: list[dict[str, Any]] = []

    def delivered() -> bool:
        deliveries[:] = http.get(f"/api/webhook-endpoints/{endpoint_id}/deliveries", headers=keyed).json()[
            "items"
        ]
        return bool(deliveries)

    assert wait_until(delivered, timeout=20)
    return {
        "endpointId": endpoint_id,
        "leadId": lead.json()["leadId"],
        "automationId": rule.json()["automationId"],
        "deliveryId": deliveries[0]["deliveryId"],
    }


def config_file(
    directory: Path, stack: StackProcess, account: dict[str, Any], resources: dict[str, str] | None = None
) -> Path:
    # Both keys on every request: the operators' routes take X-Admin-Key, the others X-API-Key. The lead
    # webhook gets the account's real token, so that its bodies are fuzzed past the 401.
    parameters = {"token": account["webhookToken"], **(resources or {})}
    lines = [
        f"headers = {{ X-API-Key = {json.dumps(account['apiKey'])}, "
        f"X-Admin-Key = {json.dumps(stack.ready['adminKey'])} }}",
        "[parameters]",
        *(f'"path.{name}" = {json.dumps(value)}' for name, value in parameters.items()),
        "[phases.coverage]",
        f"unexpected-methods = {json.dumps(UNEXPECTED_METHODS)}",
    ]
    path = directory / "schemathesis.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_schemathesis(stack: StackProcess, config: Path, *operation_filters: str) -> tuple[int, str, float]:
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(config),
        "run",
        f"{stack.api}/api/openapi.json",
        "--checks",
        CHECKS,
        "--phases",
        "coverage,fuzzing",
        "--mode",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--generation-database",
        "none",
        "--workers",
        "1",  # Hypothesis's lambda descriptions (ast.parse) are not thread-safe on Python 3.11
        "--no-color",
        *operation_filters,
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    started = time.monotonic()
    # In the config's directory, where it keeps its cache (not in the checkout).
    done = subprocess.run(command, cwd=config.parent, env=env, capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout + done.stderr, time.monotonic() - started


@pytest.mark.timeout(330)
def test_every_operation_answers_as_documented(
    stack: StackProcess, http: httpx.Client, tmp_path: Path
) -> None:
    account = fresh_account(stack, http, "Schemathesis")
    excluded = [arg for op in BURNS_CREDENTIALS for arg in ("--exclude-operation-id", op)]
    with Receiver() as receiver:
        config = config_file(tmp_path, stack, account, existing_resources(http, account, receiver))
        code, output, seconds = run_schemathesis(stack, config, *excluded)
    print(f"schemathesis: {seconds:.0f} s\n{output}")
    assert code == 0, output[-20000:]


@pytest.mark.timeout(120)
def test_operations_that_burn_credentials_answer_as_documented(
    stack: StackProcess, http: httpx.Client, tmp_path: Path
) -> None:
    config = config_file(tmp_path, stack, fresh_account(stack, http, "Schemathesis, burnt"))
    included = [arg for op in BURNS_CREDENTIALS for arg in ("--include-operation-id", op)]
    code, output, seconds = run_schemathesis(stack, config, *included)
    print(f"schemathesis: {seconds:.0f} s\n{output}")
    assert code == 0, output[-20000:]
