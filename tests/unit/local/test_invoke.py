"""local.invoke: placeholders of events/README.md filled into sample events."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any, cast

import pytest

from local import settings
from local.invoke import fill_placeholders, placeholders
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


def test_placeholders_come_from_the_stacks_demo_account() -> None:
    stack = cast(
        LocalStack,
        SimpleNamespace(
            demo_account={"webhookToken": "tok", "apiKey": "key", "accountId": "acc"}, admin_key="a"
        ),
    )
    assert placeholders(stack) == {
        "DEMO_WEBHOOK_TOKEN": "tok",
        "DEMO_ACCOUNT_ID": "acc",
        "DEMO_API_KEY": "key",
        "ADMIN_KEY": "a",
    }
    bare = cast(LocalStack, SimpleNamespace(demo_account=None, admin_key="a"))
    assert placeholders(bare) == {
        "DEMO_WEBHOOK_TOKEN": "",
        "DEMO_ACCOUNT_ID": "",
        "DEMO_API_KEY": "",
        "ADMIN_KEY": "a",
    }


SAMPLE_EVENTS = sorted((settings.REPO_ROOT / "events").glob("*/*.json"))


@pytest.mark.parametrize("path", SAMPLE_EVENTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sample_events_have_no_placeholder_left(path: Any) -> None:
    filled = json.dumps(fill_placeholders(json.loads(path.read_text()), VALUES))
    assert not any(name in filled for name in VALUES)


def test_there_are_sample_events() -> None:
    assert len(SAMPLE_EVENTS) >= 2
