"""local.invoke: placeholders of events/README.md filled into sample events, the signed samples, and
which function an event file is for."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from standardwebhooks.webhooks import Webhook

from local import settings
from local.cfn import Template
from local.invoke import (
    SAMPLE_SECRETS,
    fill_placeholders,
    function_for_event,
    main,
    placeholders,
    sign_svix,
    stack_config,
)
from local.stack import LocalStack

VALUES = {"DEMO_WEBHOOK_TOKEN": "lht_abc", "DEMO_API_KEY": "lhk_key", "ADMIN_KEY": "adm-secret"}


def test_nested_strings_lists_and_keys_are_filled() -> None:
    event = {
        "rawPath": "/api/webhooks/leads/DEMO_WEBHOOK_TOKEN",
        "headers": {"x-api-key": "DEMO_API_KEY", "x-admin-key": "ADMIN_KEY"},
        "pathParameters": {"token": "DEMO_WEBHOOK_TOKEN"},
        "list": ["DEMO_API_KEY", ["nested ADMIN_KEY"], {"DEMO_WEBHOOK_TOKEN": "key too"}],
    }
    assert fill_placeholders(event, VALUES) == {
        "rawPath": "/api/webhooks/leads/lht_abc",
        "headers": {"x-api-key": "lhk_key", "x-admin-key": "adm-secret"},
        "pathParameters": {"token": "lht_abc"},
        "list": ["lhk_key", ["nested adm-secret"], {"lht_abc": "key too"}],
    }


def test_placeholders_inside_json_bodies_are_filled_and_the_body_stays_json() -> None:
    body = json.dumps({"token": "DEMO_WEBHOOK_TOKEN", "note": "uses DEMO_API_KEY twice: DEMO_API_KEY"})
    filled = fill_placeholders({"body": body, "isBase64Encoded": False}, VALUES)
    assert json.loads(filled["body"]) == {"token": "lht_abc", "note": "uses lhk_key twice: lhk_key"}
    assert filled["isBase64Encoded"] is False


def test_non_strings_are_untouched_and_the_input_is_not_modified() -> None:
    event: dict[str, Any] = {"n": 1, "f": 1.5, "b": True, "none": None, "s": "ADMIN_KEY", 7: "int key"}
    original = json.loads(json.dumps({k: v for k, v in event.items() if k != 7}))
    filled = fill_placeholders(event, VALUES)
    assert filled == {"n": 1, "f": 1.5, "b": True, "none": None, "s": "adm-secret", 7: "int key"}
    assert filled["b"] is True and filled["none"] is None
    assert {k: v for k, v in event.items() if k != 7} == original  # a new structure, input unchanged


def test_without_values_or_placeholders_nothing_changes() -> None:
    event = {"a": ["x", {"y": "z"}]}
    assert fill_placeholders(event, {}) == event
    assert fill_placeholders(event, VALUES) == event
    assert fill_placeholders("ADMIN_KEY", VALUES) == "adm-secret"
    assert fill_placeholders(42, VALUES) == 42


def test_placeholders_come_from_the_stacks_demo_account_and_secrets() -> None:
    stack = cast(
        LocalStack,
        SimpleNamespace(
            demo_account={"webhookToken": "tok", "apiKey": "key", "accountId": "acc"},
            admin_key="a",
            local_secrets={"META_WEBHOOK_VERIFY_TOKEN": "vt"},
        ),
    )
    assert placeholders(stack) == {
        "DEMO_WEBHOOK_TOKEN": "tok",
        "DEMO_ACCOUNT_ID": "acc",
        "DEMO_API_KEY": "key",
        "ADMIN_KEY": "a",
        "META_VERIFY_TOKEN": "vt",
    }
    bare = cast(LocalStack, SimpleNamespace(demo_account=None, admin_key="a", local_secrets={}))
    assert placeholders(bare) == {
        "DEMO_WEBHOOK_TOKEN": "",
        "DEMO_ACCOUNT_ID": "",
        "DEMO_API_KEY": "",
        "ADMIN_KEY": "a",
        "META_VERIFY_TOKEN": "",
    }


SAMPLE_EVENTS = sorted((settings.REPO_ROOT / "events").glob("*/*.json"))
EVENTS_DIR = settings.REPO_ROOT / "events"


@pytest.mark.parametrize("path", SAMPLE_EVENTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sample_events_have_no_placeholder_left(path: Any) -> None:
    filled = json.dumps(fill_placeholders(json.loads(path.read_text()), VALUES))
    assert not any(name in filled for name in VALUES)


def test_there_are_sample_events() -> None:
    assert len(SAMPLE_EVENTS) >= 2


def _event(relative: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / relative).read_text())


def test_the_signed_whatsapp_sample_is_signed_with_the_documented_app_secret() -> None:
    event = _event("whatsapp_webhook/signed-text-message.json")
    body = event["body"].encode()
    expected = hmac.new(SAMPLE_SECRETS["FB_APP_SECRET"].encode(), body, hashlib.sha256).hexdigest()
    assert event["headers"]["x-hub-signature-256"] == f"sha256={expected}"
    assert event["headers"]["content-length"] == str(len(body))
    bad = _event("whatsapp_webhook/bad-signature.json")
    assert bad["body"] == event["body"]
    assert bad["headers"]["x-hub-signature-256"] != event["headers"]["x-hub-signature-256"]


def test_the_stale_email_sample_is_svix_signed_with_the_documented_secret_at_its_timestamp() -> None:
    event = _event("email_webhook/stale-signature.json")
    headers = event["headers"]
    at = datetime.fromtimestamp(int(headers["svix-timestamp"]), UTC)
    # The official library's signature for that id, time and body (verify() would refuse the old time).
    expected = Webhook(SAMPLE_SECRETS["RESEND_WEBHOOK_SECRET"]).sign(headers["svix-id"], at, event["body"])
    assert headers["svix-signature"] == expected
    assert time.time() - at.timestamp() > 5 * 60  # stale, as its name says


def test_svix_placeholders_are_signed_now_over_the_body() -> None:
    event = _event("email_webhook/email-received.json")
    assert (event["headers"]["svix-timestamp"], event["headers"]["svix-signature"]) == (
        "SVIX_TIMESTAMP",
        "SVIX_SIGNATURE",
    )
    signed = sign_svix(event, SAMPLE_SECRETS["RESEND_WEBHOOK_SECRET"])
    headers = {name.replace("svix-", "webhook-"): value for name, value in signed["headers"].items()}
    assert headers["webhook-id"] == event["headers"]["svix-id"]
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    assert Webhook(SAMPLE_SECRETS["RESEND_WEBHOOK_SECRET"]).verify(signed["body"], headers) is not None
    assert signed["body"] == event["body"] and event["headers"]["svix-signature"] == "SVIX_SIGNATURE"


def test_the_documented_sample_secrets_are_the_ones_make_invoke_uses() -> None:
    readme = (EVENTS_DIR / "README.md").read_text()
    for name, value in SAMPLE_SECRETS.items():
        assert f"`{name}={value}`" in readme
    assert stack_config().env.items() >= SAMPLE_SECRETS.items()
    assert stack_config().fake_providers is True


def test_an_event_file_names_its_function_by_its_directory() -> None:
    template = Template.from_file(settings.DEFAULT_TEMPLATE)
    assert (
        function_for_event(template, EVENTS_DIR / "lead_webhook" / "new-lead.json") == "LeadWebhookFunction"
    )
    assert function_for_event(template, Path("elsewhere/event_fanout/x.json")) == "EventFanoutFunction"
    assert function_for_event(template, Path("nowhere/x.json")) is None


def test_an_event_outside_a_functions_directory_needs_the_function_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    event = tmp_path / "mine" / "event.json"
    event.parent.mkdir()
    event.write_text("{}")
    with pytest.raises(SystemExit) as exit_:
        main([str(event)])
    assert exit_.value.code == 2
    assert "no function's CodeUri is named 'mine': name the function" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["A", "B", str(event)])
    assert "expected [FUNCTION] EVENT" in capsys.readouterr().err
