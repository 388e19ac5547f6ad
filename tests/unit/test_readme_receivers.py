"""The README's signature checks, as printed: the plain-HMAC receiver's `verify_leadhub` (Python) and the
`X-Leadhub-Signature` checks (Python and Node.js) accept our signatures and reject tampered, stale and
foreign ones. (tests/e2e/test_readme_receivers.py runs the complete receiver programs.)"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from leadhub.outbound.signing import new_endpoint_secret, signature_headers
from tests.readme_blocks import readme_block

BODY = json.dumps({"id": "evt_1", "event": "lead.created", "data": {"name": "Zoë"}}).encode()


class Headers(dict[str, str]):
    """Looked up case-insensitively, as the README asks of a receiver's header mapping."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__({name.lower(): value for name, value in headers.items()})

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(name.lower(), default)


def signed(secrets: list[str], body: bytes = BODY, at: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if at is None else at)
    return signature_headers(secrets, "msg_01readme", timestamp, body, "lead.created")


NEW, OLD, OTHER = new_endpoint_secret(), new_endpoint_secret(), new_endpoint_secret()
# (secret the receiver holds, headers, body, expected by verify, expected by verify_simple)
CASES: list[tuple[str, dict[str, str], bytes, bool, bool]] = [
    (NEW, signed([NEW]), BODY, True, True),
    (NEW, signed([NEW, OLD]), BODY, True, True),  # during a rotation, with the new secret
    (OLD, signed([NEW, OLD]), BODY, True, False),  # ... and with the previous one (webhook-signature only)
    (OTHER, signed([NEW, OLD]), BODY, False, False),
    (NEW, signed([NEW]), BODY + b" ", False, False),  # not the bytes that were signed
    (NEW, signed([NEW], at=time.time() - 600), BODY, False, True),  # replayed 10 minutes later
    (NEW, {**signed([NEW]), "webhook-id": "msg_other"}, BODY, False, True),
    (NEW, {**signed([NEW]), "webhook-timestamp": "12e9"}, BODY, False, True),
    (NEW, {}, BODY, False, False),
]
SIMPLE = "#### Checking `X-Leadhub-Signature` instead"


def test_the_python_checks_accept_our_signatures_and_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADHUB_WEBHOOK_SECRET", NEW)  # the program reads it; not run as __main__ here
    namespace: dict[str, Any] = {"__name__": "readme_receiver"}
    exec(readme_block("#### Python — plain HMAC, no library", "python"), namespace)  # noqa: S102 - our README
    exec(readme_block(SIMPLE, "python"), namespace)  # noqa: S102 - our README
    verify, verify_simple = namespace["verify_leadhub"], namespace["verify_leadhub_simple"]

    results = [
        (verify(secret, Headers(headers), body), verify_simple(secret, Headers(headers), body))
        for secret, headers, body, *_ in CASES
    ]

    assert results == [(expected, simple) for *_, expected, simple in CASES]


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_node_simple_check_accepts_our_signatures_and_nothing_else(tmp_path: Path) -> None:
    # The README's JavaScript after the heading: the first block is Python's.
    (tmp_path / "verify.mjs").write_text(readme_block(SIMPLE, "js"))
    (tmp_path / "main.mjs").write_text(
        'import { readFileSync } from "node:fs";\n'
        'import { verifyLeadhubSimple } from "./verify.mjs";\n'
        'const cases = JSON.parse(readFileSync(0, "utf8"));\n'
        "console.log(JSON.stringify(cases.map(([secret, headers, body]) =>\n"
        '  verifyLeadhubSimple(secret, headers, Buffer.from(body, "base64")))));\n'
    )
    # Node lower-cases incoming header names; the README's code relies on it.
    cases = [
        [secret, {name.lower(): value for name, value in headers.items()}, base64.b64encode(body).decode()]
        for secret, headers, body, *_ in CASES
    ]

    node = subprocess.run(
        ["node", str(tmp_path / "main.mjs")],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )

    assert json.loads(node.stdout) == [simple for *_, simple in CASES]
