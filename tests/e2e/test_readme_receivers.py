"""The README's receiver programs (Python and Node.js, with the standardwebhooks library and with plain
HMAC), each saved and started exactly as printed, against real deliveries of the local stack — the
handshake in both verification modes, events, a secret rotation — and against forged, replayed and
tampered requests signed as the delivery worker signs."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from leadhub.outbound.signing import new_endpoint_secret, signature_headers
from tests.e2e.conftest import wait_until
from tests.readme_blocks import Terminal, readme_block
from tests.stack_process import REPO_ROOT


def _node_modules_with_standardwebhooks() -> Path | None:
    """Where Node.js finds the npm package `standardwebhooks`: tests/node's (`make test` installs it from
    its lock), else a global install, if either has it."""
    local = REPO_ROOT / "tests" / "node" / "node_modules"
    if (local / "standardwebhooks" / "package.json").is_file():
        return local
    if shutil.which("npm") is None:
        return None
    root = subprocess.run(["npm", "root", "--global"], capture_output=True, text=True, timeout=60).stdout
    found = Path(root.strip())
    return found if (found / "standardwebhooks" / "package.json").is_file() else None


NODE = shutil.which("node") is not None
NODE_MODULES = _node_modules_with_standardwebhooks() if NODE else None
PROGRAMS = [
    pytest.param(("#### Python — with the `standardwebhooks` library", "python"), id="python-library"),
    pytest.param(("#### Python — plain HMAC, no library", "python"), id="python-hmac"),
    pytest.param(
        ("#### Node.js — with the `standardwebhooks` library", "js"),
        id="node-library",
        marks=pytest.mark.skipif(
            NODE_MODULES is None,
            reason="needs Node.js and npm (`make test` installs tests/node's standardwebhooks)",
        ),
    ),
    pytest.param(
        ("#### Node.js — plain HMAC, no library", "js"),
        id="node-hmac",
        marks=pytest.mark.skipif(not NODE, reason="Node.js is not installed"),
    ),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(params=PROGRAMS)
def receiver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Terminal, str, str]]:
    """The program saved as the README says and started with its secret and port: (it, its URL, secret)."""
    heading, language = request.param
    if language == "python":
        program, interpreter = tmp_path / "receiver.py", sys.executable  # `python3`, with the test venv
    else:
        program, interpreter = tmp_path / "receiver.mjs", "node"
        if NODE_MODULES is not None:
            (tmp_path / "node_modules").symlink_to(NODE_MODULES)
    program.write_text(readme_block(heading, language))
    secret, port = new_endpoint_secret(), free_port()
    env = {**os.environ, "LEADHUB_WEBHOOK_SECRET": secret, "PORT": str(port)}
    started = Terminal(f"exec {interpreter} {program.name}", tmp_path, env)
    try:
        assert wait_until(lambda: listening(port), timeout=30), "".join(started.output.seen)
        yield started, f"http://127.0.0.1:{port}/leadhub", secret
    finally:
        started.close()


def printed_events(program: Terminal) -> list[tuple[str, str]]:
    """(event type, webhook-id) per line the program printed for a new delivery."""
    lines = (line.split() for line in program.output.seen)
    return [(words[0], words[1]) for words in lines if len(words) == 2 and "." in words[0]]


def test_the_readme_receiver_gets_real_deliveries_in_both_modes_and_through_a_rotation(
    receiver: tuple[Terminal, str, str],
    http: httpx.Client,
    new_account: Callable[..., dict[str, str]],
) -> None:
    program, url, secret = receiver
    account = new_account("README receiver")
    keyed = {"X-API-Key": account["apiKey"]}
    body = {
        "name": "README",
        "url": url,
        "events": ["lead.created"],
        "secret": secret,
        "verification": "echo",
    }

    created = http.post("/api/webhook-endpoints", json=body, headers=keyed).json()
    assert created["verification"]["status"] == "verified", created
    endpoint = f"/api/webhook-endpoints/{created['endpointId']}"
    pinged = http.patch(endpoint, json={"verification": "ping"}, headers=keyed).json()
    assert pinged["verification"] == {**pinged["verification"], "mode": "ping", "status": "verified"}

    first = http.post(account["webhookUrl"], json={"phone": "+14155550101"}).json()
    assert wait_until(lambda: [e for e, _ in printed_events(program)] == ["lead.created"], timeout=30)
    # The program still holds the previous secret: webhook-signature carries a signature by each.
    assert http.post(f"{endpoint}/rotate-secret", headers=keyed).status_code == 200
    second = http.post(account["webhookUrl"], json={"phone": "+14155550102"}).json()
    assert wait_until(lambda: len(printed_events(program)) == 2, timeout=30)

    log = http.get(f"{endpoint}/deliveries", headers=keyed).json()["items"]
    assert {(d["status"], d["lastStatusCode"]) for d in log} == {("delivered", 204)}
    assert len({d["deliveryId"] for d in log}) == 2 and first["leadId"] != second["leadId"]
    assert {webhook_id for _, webhook_id in printed_events(program)} == {d["deliveryId"] for d in log}


BODY = json.dumps({"id": "evt_1", "event": "lead.created", "data": {"name": "Zoë"}}).encode()


def signed(secrets: list[str], *, at: float | None = None, msg_id: str = "msg_readme") -> dict[str, str]:
    timestamp = int(time.time() if at is None else at)
    return signature_headers(secrets, msg_id, timestamp, BODY, "lead.created")


def test_the_readme_receiver_refuses_what_it_must(receiver: tuple[Terminal, str, str]) -> None:
    program, url, secret = receiver
    other = new_endpoint_secret()
    valid = signed([secret])
    forged: list[tuple[dict[str, str], bytes]] = [
        (signed([other]), BODY),
        (valid, BODY + b" "),  # not the bytes that were signed
        (signed([secret], at=time.time() - 600), BODY),  # replayed 10 minutes later
        ({**valid, "webhook-id": "msg_other"}, BODY),
        ({**valid, "webhook-timestamp": "12e9"}, BODY),
        ({**valid, "webhook-signature": "v1"}, BODY),
        ({**valid, "webhook-signature": valid["webhook-signature"].replace("v1,", "v2,")}, BODY),
        ({}, BODY),
    ]
    with httpx.Client(timeout=10) as client:
        accepted = [
            client.post(url, content=BODY, headers=signed([secret], msg_id="msg_new")).status_code,
            client.post(
                url, content=BODY, headers=signed([other, secret], msg_id="msg_rotating")
            ).status_code,
            client.post(url, content=BODY, headers=signed([secret], msg_id="msg_new")).status_code,  # again
        ]
        refused = [client.post(url, content=body, headers=headers).status_code for headers, body in forged]

    assert (accepted, refused) == ([204, 204, 204], [401] * len(forged))
    assert printed_events(program) == [("lead.created", "msg_new"), ("lead.created", "msg_rotating")]
