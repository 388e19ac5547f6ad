"""Trying the channels as a new user does: `LEADHUB_FAKE_PROVIDERS=1 make run` starts loopback fakes of
the Graph API, Telegram and Resend with the stack. Connect each channel with the demo credentials from
the ready line, add automations, have a person write on each channel (the fakes' /_simulate routes post
the signed webhooks), and watch the replies arrive at the fakes and the events at an endpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from local import running
from tests.e2e.conftest import wait_until
from tests.receiver import Receiver
from tests.stack_process import StackProcess, running_stack


@pytest.fixture(scope="module")
def faked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    state_dir: Path = tmp_path_factory.mktemp("leadhub-fakes")
    env = {
        "LEADHUB_FAKE_PROVIDERS": "1",
        "PORT": "0",
        "ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
        "CONVERSATION_RETRY_SCHEDULE": "0s,1s",  # a failing provider is given up on within seconds
    }
    with running_stack(state_dir, env) as process:
        yield process


# The API key of the account the fake bot is connected to: a bot belongs to one account at a time.
_bot_holder: dict[str, str] = {}


def connect_the_bot(http: httpx.Client, faked: StackProcess, keyed: dict[str, str]) -> None:
    """Connect the fake bot to the account, disconnecting it from the account that had it first."""
    holder = _bot_holder.get("apiKey")
    if holder not in (None, keyed["X-API-Key"]):
        assert http.delete("/api/integrations/telegram", headers={"X-API-Key": holder}).status_code == 200
    bot = {"telegramBotToken": faked.ready["fakeProviders"]["telegram"]["telegramBotToken"]}
    assert http.put("/api/integrations/telegram", json=bot, headers=keyed).status_code == 200
    _bot_holder["apiKey"] = keyed["X-API-Key"]


def sent(http: httpx.Client, simulate_url: str) -> list[dict[str, Any]]:
    """What Leadhub sent through a fake provider."""
    return http.get(simulate_url.rsplit("/_simulate", 1)[0] + "/_sent").json()["sent"]


def test_every_channel_receives_and_answers_with_the_fakes(faked: StackProcess) -> None:
    fakes = faked.ready["fakeProviders"]
    keyed = {"X-API-Key": faked.demo["apiKey"]}
    whatsapp = {k: fakes["whatsapp"][k] for k in ("wabaId", "phoneNumberId", "accessToken")}
    with httpx.Client(base_url=faked.api, timeout=30) as http, Receiver() as receiver:
        assert http.put("/api/integrations/whatsapp", json=whatsapp, headers=keyed).status_code == 200
        connect_the_bot(http, faked, keyed)
        email = {"emailFromAddress": "hello@shop.example", "emailFromName": "Shop"}
        assert http.put("/api/integrations/email", json=email, headers=keyed).status_code == 200
        # Resend sends only from a verified domain: ask it to check, and have the fake finish now.
        assert http.post("/api/integrations/email/verify", headers=keyed).status_code == 200
        httpx.post(fakes["email"]["verifyNow"], json={"domain": "shop.example"})
        assert http.get("/api/integrations/email", headers=keyed).json()["domainStatus"] == "verified"
        for rule in (
            {"kind": "keyword", "match": "price", "reply": "Our prices: shop.example/prices"},
            {"kind": "greeting", "reply": "Welcome to the shop!"},
        ):
            assert http.post("/api/automations", json=rule, headers=keyed).status_code == 201
        endpoint = http.post(
            "/api/webhook-endpoints",
            json={
                "name": "CRM",
                "url": receiver.url,
                "events": ["message.received", "automation.triggered", "message.sent"],
            },
            headers=keyed,
        ).json()

        said = [
            http.post(
                fakes["whatsapp"]["simulate"], json={"from": "14155550123", "text": "What is the price?"}
            ),
            http.post(fakes["telegram"]["simulate"], json={"from": 42, "text": "Hi on Telegram"}),
            http.post(
                fakes["email"]["simulate"],
                json={"to": "hello@shop.example", "subject": "Flat", "text": "Hi by email"},
            ),
        ]
        assert [r.json()["leadhubStatus"] for r in said] == [200, 200, 200]

        assert wait_until(lambda: len(sent(http, fakes["whatsapp"]["simulate"])) == 1, timeout=20)
        assert wait_until(lambda: len(sent(http, fakes["telegram"]["simulate"])) == 1, timeout=20)
        assert wait_until(lambda: len(sent(http, fakes["email"]["simulate"])) == 1, timeout=20)
        # Each event is its own delivery: wait for all of each kind.
        events = [
            e
            for name in ("message.received", "automation.triggered", "message.sent")
            for e in receiver.wait_for(name, count=3)
        ]

        [to_whatsapp] = sent(http, fakes["whatsapp"]["simulate"])
        assert (to_whatsapp["to"], to_whatsapp["text"]["body"]) == (
            "14155550123",
            "Our prices: shop.example/prices",
        )
        assert to_whatsapp["context"]["message_id"].startswith("wamid.local-")  # quotes the question
        [to_telegram] = sent(http, fakes["telegram"]["simulate"])
        assert (to_telegram["chat_id"], to_telegram["text"]) == (42, "Welcome to the shop!")
        [to_email] = sent(http, fakes["email"]["simulate"])
        assert to_email["subject"] == "Re: Flat" and to_email["to"] == ["ada@example.com"]
        assert to_email["reply_to"].startswith("reply+conv_") and to_email["reply_to"].endswith(
            "@inbound.localhost"
        )
        assert to_email["headers"]["In-Reply-To"] == to_email["headers"]["References"]
        assert to_email["idempotencyKey"]

    verified = [Webhook(endpoint["secret"]).verify(e.body, e.headers) for e in events]
    by_event: dict[str, int] = {}
    for event in verified:
        by_event[event["event"]] = by_event.get(event["event"], 0) + 1
    assert by_event == {"message.sent": 3, "message.received": 3, "automation.triggered": 3}


def test_an_agent_writes_then_closes_and_the_next_message_opens_a_new_conversation(
    faked: StackProcess,
) -> None:
    fakes = faked.ready["fakeProviders"]
    keyed = {"X-API-Key": faked.demo["apiKey"]}
    whatsapp = {k: fakes["whatsapp"][k] for k in ("wabaId", "phoneNumberId", "accessToken")}
    with httpx.Client(base_url=faked.api, timeout=30) as http:
        assert http.put("/api/integrations/whatsapp", json=whatsapp, headers=keyed).status_code == 200
        http.post(fakes["whatsapp"]["simulate"], json={"from": "14155550999", "text": "Anyone there?"})

        def conversation_of_the_writer() -> dict[str, Any] | None:
            listed = http.get("/api/conversations", params={"channel": "whatsapp"}, headers=keyed).json()[
                "items"
            ]
            for conversation in listed:
                lead = http.get(f"/api/leads/{conversation['leadId']}", headers=keyed).json()
                if lead["phone"] == "+14155550999" and conversation["status"] == "open":
                    return conversation
            return None

        assert wait_until(lambda: conversation_of_the_writer() is not None, timeout=10)
        conversation = conversation_of_the_writer()
        assert conversation is not None
        cid = conversation["conversationId"]
        before = len(sent(http, fakes["whatsapp"]["simulate"]))

        taken = http.patch(f"/api/conversations/{cid}", json={"autoReply": False}, headers=keyed)
        assert taken.json()["autoReply"] is False
        queued = http.post(
            f"/api/conversations/{cid}/messages", json={"text": "Hi, Sam here."}, headers=keyed
        )
        assert queued.status_code == 202 and queued.json()["status"] == "queued"

        def agent_message_sent() -> bool:
            return any(
                m["text"]["body"] == "Hi, Sam here."
                for m in sent(http, fakes["whatsapp"]["simulate"])[before:]
            )

        assert wait_until(agent_message_sent, timeout=15)
        closed = http.post(f"/api/conversations/{cid}/close", headers=keyed).json()
        assert closed["status"] == "closed" and closed["closedAt"]
        refused = http.post(f"/api/conversations/{cid}/messages", json={"text": "late"}, headers=keyed)
        assert refused.status_code == 409

        http.post(fakes["whatsapp"]["simulate"], json={"from": "14155550999", "text": "Me again"})
        assert wait_until(
            lambda: (c := conversation_of_the_writer()) is not None and c["conversationId"] != cid, timeout=10
        )


def test_the_bedrock_responder_answers_with_the_models_words(faked: StackProcess) -> None:
    fakes = faked.ready["fakeProviders"]
    account_request = {"name": "Model shop", "plan": "pro"}
    with httpx.Client(base_url=faked.api, timeout=30) as http:
        created = http.post(
            "/api/admin/accounts", json=account_request, headers={"X-Admin-Key": faked.ready["adminKey"]}
        ).json()
        keyed = {"X-API-Key": created["apiKey"]}
        connect_the_bot(http, faked, keyed)
        responder = {
            "responder": "bedrock",
            "modelId": "anthropic.claude-3-haiku",
            "systemPrompt": "Be brief.",
        }
        assert http.put("/api/responder", json=responder, headers=keyed).json()["responder"] == "bedrock"
        assert http.put("/api/responder", json={"responder": "bedrock"}, headers=keyed).status_code == 400
        said = http.post(fakes["telegram"]["simulate"], json={"from": 77, "text": "Do you have parking?"})
        assert said.json()["leadhubStatus"] == 200

        def model_reply() -> list[dict[str, Any]]:
            return [m for m in sent(http, fakes["telegram"]["simulate"]) if m.get("chat_id") == 77]

        assert wait_until(lambda: bool(model_reply()), timeout=20)
        assert model_reply()[0]["text"] == "(anthropic.claude-3-haiku) You wrote: Do you have parking?"


def emulator_sqs(faked: StackProcess) -> Any:
    """SQS of the local stack's emulator, to look into its queues."""
    return running.emulator(faked.ready).client("sqs")


ORDER_REPLY = "Noted."


def telegram_shop(http: httpx.Client, faked: StackProcess, name: str) -> dict[str, str]:
    """A new account with the fake bot connected and a keyword automation for "order"; its API key."""
    admin = {"X-Admin-Key": faked.ready["adminKey"]}
    created = http.post("/api/admin/accounts", json={"name": name, "plan": "pro"}, headers=admin).json()
    keyed = {"X-API-Key": created["apiKey"]}
    connect_the_bot(http, faked, keyed)
    rule = {"kind": "keyword", "match": "order", "reply": ORDER_REPLY}
    assert http.post("/api/automations", json=rule, headers=keyed).status_code == 201
    return keyed


def test_each_conversation_is_answered_in_order_while_the_others_go_on(faked: StackProcess) -> None:
    simulate = faked.ready["fakeProviders"]["telegram"]["simulate"]
    writers = [7101, 7102, 7103]
    with httpx.Client(base_url=faked.api, timeout=30) as http:
        telegram_shop(http, faked, "Ordered shop")

        def write_five(user: int) -> list[int]:
            """One person's messages, each sent once the previous one was acknowledged."""
            ids = []
            for n in range(5):
                said = httpx.post(simulate, json={"from": user, "text": f"order {n}"}, timeout=30).json()
                assert said["leadhubStatus"] == 200
                ids.append(said["messageId"])
            return ids

        with ThreadPoolExecutor(len(writers)) as pool:  # three people write at the same time
            written = dict(zip(writers, pool.map(write_five, writers), strict=True))

        def answered(user: int) -> list[int]:
            return [
                m["reply_parameters"]["message_id"] for m in sent(http, simulate) if m.get("chat_id") == user
            ]

        assert wait_until(lambda: all(len(answered(user)) == 5 for user in writers), timeout=60)
        for user in writers:
            assert answered(user) == written[user]  # each reply quotes its message, in order


def test_a_provider_that_keeps_failing_leaves_the_reply_failed_and_the_job_in_the_dlq(
    faked: StackProcess,
) -> None:
    simulate = faked.ready["fakeProviders"]["telegram"]["simulate"]
    with httpx.Client(base_url=faked.api, timeout=30) as http:
        keyed = telegram_shop(http, faked, "Unlucky shop")
        outage = httpx.post(simulate.rsplit("/_simulate", 1)[0] + "/_fail", json={"count": 2, "status": 500})
        assert outage.json() == {"failing": 2}
        assert httpx.post(simulate, json={"from": 7201, "text": "order one"}).json()["leadhubStatus"] == 200

        def reply() -> dict[str, Any] | None:
            conversations = http.get("/api/conversations", headers=keyed).json()["items"]
            if not conversations:
                return None
            cid = conversations[0]["conversationId"]
            messages = http.get(f"/api/conversations/{cid}/messages", headers=keyed).json()["items"]
            outbound = [m for m in messages if m["direction"] == "outbound"]
            return outbound[0] if outbound and outbound[0]["status"] != "queued" else None

        assert wait_until(lambda: reply() is not None, timeout=30)
        failed = reply()
        assert failed is not None and failed["status"] == "failed"
        assert "answered HTTP 500" in failed["errors"][0]["reason"]

    sqs = emulator_sqs(faked)
    dlq_url = running.queue_url(sqs, "ConversationDLQ")
    dead = sqs.receive_message(
        QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=5, VisibilityTimeout=0
    )["Messages"]
    assert [json.loads(m["Body"])["conversationId"] for m in dead] == [failed["conversationId"]]
    with httpx.Client(timeout=30) as http:
        assert not [m for m in sent(http, simulate) if m.get("chat_id") == 7201]

    # The provider is healthy again: the operator moves the job back, and the reply goes out, once.
    moved = subprocess.run(
        [sys.executable, "-m", "local.redrive", "ConversationDLQ"],
        env={**os.environ, "LEADHUB_STATE_DIR": str(faked.state_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(moved.stdout)["moved"] == 1
    with httpx.Client(base_url=faked.api, timeout=30) as http:
        assert wait_until(lambda: [m for m in sent(http, simulate) if m.get("chat_id") == 7201], timeout=30)
        assert wait_until(lambda: (reply() or {}).get("status") == "sent", timeout=30)
        assert [m["text"] for m in sent(http, simulate) if m.get("chat_id") == 7201] == [ORDER_REPLY]


def test_a_job_delivered_twice_is_answered_once(faked: StackProcess) -> None:
    simulate = faked.ready["fakeProviders"]["telegram"]["simulate"]
    with httpx.Client(base_url=faked.api, timeout=30) as http:
        keyed = telegram_shop(http, faked, "Repeat shop")
        assert httpx.post(simulate, json={"from": 7301, "text": "order it"}).json()["leadhubStatus"] == 200

        def replies() -> list[dict[str, Any]]:
            return [m for m in sent(http, simulate) if m.get("chat_id") == 7301]

        assert wait_until(lambda: len(replies()) == 1, timeout=20)
        [conversation] = http.get("/api/conversations", headers=keyed).json()["items"]
        cid = conversation["conversationId"]
        messages = http.get(f"/api/conversations/{cid}/messages", headers=keyed).json()["items"]
        [inbound] = [m for m in messages if m["direction"] == "inbound"]

        # SQS delivers at least once: the same job again, as a new message of the conversation's group.
        sqs = emulator_sqs(faked)
        url = running.queue_url(sqs, "ConversationQueue")
        job = {
            "kind": "reply",
            "accountId": conversation["accountId"],
            "conversationId": cid,
            "channel": "telegram",
            "providerMessageId": inbound["providerMessageId"],
        }
        sqs.send_message(
            QueueUrl=url, MessageBody=json.dumps(job), MessageGroupId=cid, MessageDeduplicationId="again"
        )

        def drained() -> bool:
            names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
            return all(counts[name] == "0" for name in names)

        assert wait_until(drained, timeout=20)
        assert len(replies()) == 1


def test_the_ready_line_says_where_to_find_the_telegram_secret_to_post_updates_by_hand(
    faked: StackProcess,
) -> None:
    """README's hand-made Telegram update needs the secret Leadhub registered with setWebhook."""
    webhooks = faked.ready["fakeProviders"]["telegram"]["webhooks"]
    with httpx.Client(base_url=faked.api, timeout=30) as http:
        telegram_shop(http, faked, "Shop posting by hand")
        listing = http.get(webhooks).json()
        registered = listing["webhook"]
        assert registered["url"] == f"{faked.api}/api/webhooks/telegram"
        assert listing["setWebhookCalls"][-1] == registered
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 1700000000,
                "chat": {"id": 4242, "type": "private"},
                "from": {"id": 4242, "first_name": "Ada"},
                "text": "Hi!",
            },
        }
        headers = {"X-Telegram-Bot-Api-Secret-Token": registered["secret_token"]}
        answer = http.post("/api/webhooks/telegram", json=update, headers=headers)
    assert (answer.status_code, answer.json()["outcome"]) == (200, "stored")


def test_the_fake_resend_verifies_a_domain_some_time_after_it_is_asked_as_resend_does(
    faked: StackProcess,
) -> None:
    email = faked.ready["fakeProviders"]["email"]
    admin = {"X-Admin-Key": faked.ready["adminKey"]}
    with httpx.Client(base_url=faked.api, timeout=30) as http:
        created = http.post("/api/admin/accounts", json={"name": "Verified shop"}, headers=admin).json()
        keyed = {"X-API-Key": created["apiKey"]}
        body = {"emailFromAddress": "hello@verified.example", "emailFromName": "Verified, Inc."}
        connected = http.put("/api/integrations/email", json=body, headers=keyed).json()
        assert "Receiving" in {r["record"] for r in connected["dnsRecords"]}

        asked = http.post("/api/integrations/email/verify", headers=keyed).json()
        assert asked["domainStatus"] == "pending" and asked["verificationRequestedAt"]
        assert http.get("/api/integrations/email", headers=keyed).json()["domainStatus"] == "pending"
        # The stack's fake verifies by itself seconds later; /_verify_now finishes the check at once.
        assert httpx.post(email["verifyNow"], json={"domain": "verified.example"}).json() == {"records": 4}
        shown = http.get("/api/integrations/email", headers=keyed).json()
        assert shown["domainStatus"] == "verified"
        assert {r["status"] for r in shown["dnsRecords"]} == {"verified"}


def test_a_whatsapp_user_without_a_number_is_answered_through_their_business_scoped_id(
    faked: StackProcess,
) -> None:
    fakes = faked.ready["fakeProviders"]["whatsapp"]
    keyed = {"X-API-Key": faked.demo["apiKey"]}
    whatsapp = {k: fakes[k] for k in ("wabaId", "phoneNumberId", "accessToken")}
    with httpx.Client(base_url=faked.api, timeout=30) as http:
        assert http.put("/api/integrations/whatsapp", json=whatsapp, headers=keyed).status_code == 200
        person = {"username": "sheena.nelson", "hideNumber": True, "name": "Sheena"}
        said = http.post(fakes["simulate"], json={**person, "text": "Which colour?"}).json()
        assert said["leadhubStatus"] == 200
        user_id = said["userId"]

        def lead() -> dict[str, Any]:
            for conversation in http.get("/api/conversations", headers=keyed).json()["items"]:
                found = http.get(f"/api/leads/{conversation['leadId']}", headers=keyed).json()
                if found["channelIds"].get("whatsapp") == user_id:
                    return {**found, "conversationId": conversation["conversationId"]}
            raise AssertionError("no lead with that business-scoped id")

        first = lead()
        assert (first["phone"], first["name"], first["usernames"]) == (
            None,
            "Sheena",
            {"whatsapp": "sheena.nelson"},
        )
        cid = first["conversationId"]
        written = http.post(f"/api/conversations/{cid}/messages", json={"text": "In blue."}, headers=keyed)
        assert written.status_code == 202

        def to_them() -> list[dict[str, Any]]:
            return [m for m in sent(http, fakes["simulate"]) if m.get("recipient") == user_id]

        assert wait_until(lambda: any(m["text"]["body"] == "In blue." for m in to_them()), timeout=20)
        assert not any("to" in m for m in to_them())  # `to` takes phone numbers only

        # Later Meta shares their number beside the id: the same lead, now with a phone.
        again = {"from": "14155550777", "userId": user_id, "username": "sheena.nelson", "text": "colour?"}
        assert http.post(fakes["simulate"], json=again).json()["leadhubStatus"] == 200
        assert wait_until(lambda: lead()["phone"] == "+14155550777", timeout=10)
        assert lead()["leadId"] == first["leadId"]

        # A day without a word from them: Meta accepts an agent's message, then reports it failed.
        assert http.post(fakes["closeWindow"], json={"recipient": user_id}).status_code == 200
        queued = http.post(f"/api/conversations/{cid}/messages", json={"text": "Still there?"}, headers=keyed)
        assert queued.status_code == 202

        def agent_message() -> dict[str, Any]:
            items = http.get(f"/api/conversations/{cid}/messages", headers=keyed).json()["items"]
            return next(m for m in items if m["text"] == "Still there?")

        assert wait_until(lambda: agent_message()["status"] == "failed", timeout=20)
        [error] = agent_message()["errors"]
        assert error["code"] == 131047 and "24 hours" in error["details"]


def test_a_telegram_button_press_is_answered_and_replied_to(faked: StackProcess) -> None:
    fakes = faked.ready["fakeProviders"]["telegram"]
    with httpx.Client(base_url=faked.api, timeout=30) as http:
        telegram_shop(http, faked, "Button shop")
        pressed = http.post(fakes["simulate"], json={"from": 7401, "button": "order now"}).json()
        assert pressed["leadhubStatus"] == 200
        assert pressed["leadhubAnswer"]["method"] == "answerCallbackQuery"
        answered = http.get(fakes["webhooks"]).json()["answeredCallbackQueries"]
        query_id = pressed["leadhubAnswer"]["callback_query_id"]
        assert {"callback_query_id": query_id} in answered  # Telegram ran it: the spinner stops

        assert wait_until(
            lambda: (
                [m["text"] for m in sent(http, fakes["simulate"]) if m.get("chat_id") == 7401]
                == [ORDER_REPLY]
            ),
            timeout=20,
        )
