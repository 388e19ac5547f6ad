"""Trying the channels as a new user does: `LEADHUB_FAKE_PROVIDERS=1 make run` starts loopback fakes of
the Graph API, Telegram and Resend with the stack. Connect each channel with the demo credentials from
the ready line, have a person write on each (the fakes' /_simulate routes post the signed webhooks), and
see three conversations with their messages through the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import wait_until
from tests.stack_process import StackProcess


@pytest.fixture(scope="module")
def faked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    state_dir: Path = tmp_path_factory.mktemp("leadhub-fakes")
    with (state_dir / "stack.log").open("wb") as log:
        process = StackProcess(state_dir, env={"LEADHUB_FAKE_PROVIDERS": "1", "PORT": "0"}, log=log)
        process.start()
        try:
            yield process
        finally:
            process.stop()


def test_every_channel_can_be_tried_with_the_fakes(faked: StackProcess) -> None:
    fakes = faked.ready["fakeProviders"]
    keyed = {"X-API-Key": faked.demo["apiKey"]}
    whatsapp = {k: fakes["whatsapp"][k] for k in ("wabaId", "phoneNumberId", "accessToken")}
    with httpx.Client(base_url=faked.api, timeout=30) as http:
        assert http.put("/api/integrations/whatsapp", json=whatsapp, headers=keyed).status_code == 200
        telegram = {"telegramBotToken": fakes["telegram"]["telegramBotToken"]}
        assert http.put("/api/integrations/telegram", json=telegram, headers=keyed).status_code == 200
        email = {"emailFromAddress": "hello@shop.example", "emailFromName": "Shop"}
        assert http.put("/api/integrations/email", json=email, headers=keyed).status_code == 200

        said = [
            http.post(fakes["whatsapp"]["simulate"], json={"from": "14155550123", "text": "Hi on WhatsApp"}),
            http.post(fakes["telegram"]["simulate"], json={"from": 42, "text": "Hi on Telegram"}),
            http.post(fakes["email"]["simulate"], json={"to": "hello@shop.example", "text": "Hi by email"}),
        ]
        assert [r.json()["leadhubStatus"] for r in said] == [200, 200, 200]

        def all_three() -> bool:
            listed = http.get("/api/conversations", headers=keyed).json()["items"]
            texts = set()
            for conversation in listed:
                path = f"/api/conversations/{conversation['conversationId']}/messages"
                texts |= {m["text"] for m in http.get(path, headers=keyed).json()["items"]}
            return texts == {"Hi on WhatsApp", "Hi on Telegram", "Hi by email"}

        assert wait_until(all_three, timeout=15)  # the email's text arrives after its content is fetched
