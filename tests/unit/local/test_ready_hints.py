"""local.stack.ready_hints: what `make run` prints below the ready line for a person to paste."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from local.stack import ready_hints

READY: dict[str, Any] = {
    "ready": True,
    "api": "http://127.0.0.1:3000",
    "adminKey": "lhadm_x",
    "demoAccount": {
        "accountId": "acc_1",
        "apiKey": "lhk_key",
        "webhookToken": "lht_tok",
        "webhookUrl": "http://127.0.0.1:3000/api/webhooks/leads/lht_tok",
    },
}
FAKES = {
    "telegram": {
        "telegramBotToken": "7000001:AAH-local-demo",
        "simulate": "http://127.0.0.1:4001/_simulate/telegram",
        "webhooks": "http://127.0.0.1:4001/_webhooks",
    }
}


def commands(hints: str) -> list[list[str]]:
    """Every line is a shell comment or a command; the commands, split as the shell would."""
    lines = hints.splitlines()
    assert all(line.startswith(("# ", "curl ")) for line in lines), lines
    return [shlex.split(line) for line in lines if line.startswith("curl ")]


def test_hints_say_where_the_api_its_docs_and_the_state_file_are() -> None:
    hints = ready_hints(READY, Path.cwd() / ".leadhub" / "local.json")
    assert "# Leadhub runs at http://127.0.0.1:3000 (API docs: http://127.0.0.1:3000/api/docs)." in hints
    assert "also in .leadhub/local.json" in hints
    assert "LEADHUB_FAKE_PROVIDERS=1" in hints
    assert "local.json" not in ready_hints(READY, None)


def test_hints_post_a_lead_and_list_leads_with_the_demo_accounts_credentials() -> None:
    post, leads = commands(ready_hints(READY, None))
    assert post[post.index("-X") + 1] == "POST"
    assert "http://127.0.0.1:3000/api/webhooks/leads/lht_tok" in post
    assert leads[-3:] == ["http://127.0.0.1:3000/api/leads", "-H", "X-API-Key: lhk_key"]


def test_with_fake_providers_the_hints_show_where_the_telegram_secret_is() -> None:
    hints = ready_hints({**READY, "fakeProviders": FAKES}, None)
    *_, webhooks = commands(hints)
    assert webhooks == ["curl", "-sS", "http://127.0.0.1:4001/_webhooks"]
    assert "secret token" in hints
    assert "LEADHUB_FAKE_PROVIDERS=1" not in hints


def test_without_a_demo_account_only_the_places_are_shown() -> None:
    hints = ready_hints({**READY, "demoAccount": None}, None)
    assert commands(hints) == []
