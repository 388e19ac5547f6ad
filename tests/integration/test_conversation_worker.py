"""The conversation worker inside moto, fed by the real pipeline: the Telegram webhook stores a message,
the fan-out turns its stream record into a job on the ConversationQueue (FIFO, one group per
conversation), and the worker answers through a loopback Telegram Bot API."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from local.fake_providers import FakeTelegramBotApi
from local.pollers import sqs_event, stream_event
from tests.integration.conftest import (
    Account,
    Api,
    LambdaContext,
    Stack,
    http_event,
    invoke,
    shared_clients,
)
from tests.integration.test_outbox_stream import stream_records

SAMPLE = (
    Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "telegram" / "text-start-official.json"
)
BOT_TOKEN = "7000001:AAH-test_token"
PRICE_REPLY = "Our prices: acme.test/prices"


@dataclass
class Pipeline:
    stack: Stack
    api: Api
    account: Account
    bot_api: FakeTelegramBotApi
    webhook: ModuleType
    fanout: ModuleType
    worker: ModuleType
    secret: str
    seen: int = 0
    update_ids: Iterator[int] = field(default_factory=lambda: iter(range(50_000, 60_000)))

    @property
    def queue_url(self) -> str:
        return self.stack.specs["ConversationWorkerFunction"].environment["CONVERSATION_QUEUE_URL"]

    @property
    def dlq_url(self) -> str:
        return self.stack.specs["ConversationWorkerFunction"].environment["CONVERSATION_DLQ_URL"]

    def write(self, chat_id: int, text: str) -> int:
        """A person writes to the bot; the Telegram message id."""
        update = json.loads(SAMPLE.read_text())
        update["update_id"] = next(self.update_ids)
        message = update["message"]
        message["message_id"] = update["update_id"]
        message["chat"]["id"] = message["from"]["id"] = chat_id
        message["text"] = text
        headers = {"content-type": "application/json", "x-telegram-bot-api-secret-token": self.secret}
        event = http_event(
            "POST",
            "/api/webhooks/telegram",
            route_key="POST /api/webhooks/telegram",
            headers=headers,
            body=json.dumps(update),
        )
        assert invoke(self.webhook, event).status == 200
        return message["message_id"]

    def fan_out(self) -> None:
        records = stream_records(self.stack)
        result = self.fanout.lambda_handler(
            stream_event(records[self.seen :], self.stack.stream_arn), LambdaContext()
        )
        assert result["batchItemFailures"] == []
        self.seen = len(records)

    def receive(self, count: int, url: str | None = None, timeout: float = 5.0) -> list[dict[str, Any]]:
        """`count` messages of the queue, as Lambda's poller receives them (all attributes)."""
        sqs, got = shared_clients().client("sqs"), []
        deadline = time.monotonic() + timeout
        while len(got) < count and time.monotonic() < deadline:
            got += sqs.receive_message(
                QueueUrl=url or self.queue_url,
                MaxNumberOfMessages=10,
                AttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
        assert len(got) == count, f"expected {count} messages, got {len(got)}"
        return got

    def work(self, messages: list[dict[str, Any]]) -> list[str]:
        """Run the worker on one batch and delete what succeeded, as Lambda's poller does; the ids of the
        records it reported as failed."""
        arn = f"arn:aws:sqs:us-east-1:123456789012:{self.queue_url.rsplit('/', 1)[1]}"
        result = self.worker.lambda_handler(sqs_event(messages, arn), LambdaContext())
        failed = [item["itemIdentifier"] for item in result["batchItemFailures"]]
        for message in messages:
            if message["MessageId"] not in failed:
                shared_clients().client("sqs").delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        return failed

    def texts_to(self, chat_id: int) -> list[str]:
        return [m["text"] for m in self.bot_api.sent if m["chat_id"] == chat_id]

    def conversation_messages(self, chat_id: int) -> list[dict[str, Any]]:
        conversations = self.api.call("GET", "/api/conversations", api_key=self.account.api_key).body["items"]
        for conversation in conversations:
            path = f"/api/conversations/{conversation['conversationId']}/messages"
            messages = self.api.call("GET", path, api_key=self.account.api_key).body["items"]
            if any(m["direction"] == "inbound" and str(chat_id) in m["providerMessageId"] for m in messages):
                return messages
        raise AssertionError(f"no conversation with chat {chat_id}")


@pytest.fixture
def bot_api() -> Iterator[FakeTelegramBotApi]:
    fake = FakeTelegramBotApi(BOT_TOKEN)
    yield fake
    fake.close()


def pipeline_with(
    stack: Stack,
    bot_api: FakeTelegramBotApi,
    *,
    plan: str = "free",
    management_env: dict[str, str] | None = None,
    **worker_env: str,
) -> Pipeline:
    api = Api(stack)
    api.management = stack.load_function(
        "ManagementApiFunction", TELEGRAM_API_BASE_URL=bot_api.url, **(management_env or {})
    )
    account = api.create_account(plan=plan)
    connected = api.call(
        "PUT",
        "/api/integrations/telegram",
        api_key=account.api_key,
        json_body={"telegramBotToken": BOT_TOKEN},
    )
    assert connected.status == 200, connected.body
    assert bot_api.webhook is not None
    rule = {"kind": "keyword", "match": "price", "reply": PRICE_REPLY}
    assert api.call("POST", "/api/automations", api_key=account.api_key, json_body=rule).status == 201
    return Pipeline(
        stack,
        api,
        account,
        bot_api,
        webhook=stack.load_function("TelegramWebhookFunction"),
        fanout=stack.load_function("EventFanoutFunction"),
        worker=stack.load_function(
            "ConversationWorkerFunction", TELEGRAM_API_BASE_URL=bot_api.url, **worker_env
        ),
        secret=bot_api.webhook["secret_token"],
    )


@pytest.fixture
def pipeline(stack: Stack, bot_api: FakeTelegramBotApi) -> Pipeline:
    return pipeline_with(stack, bot_api)


def test_a_keyword_is_answered_once_even_when_the_job_is_delivered_again(pipeline: Pipeline) -> None:
    asked = pipeline.write(1001, "What is the price?")
    pipeline.fan_out()
    [job] = pipeline.receive(1)
    assert job["Attributes"]["MessageGroupId"].startswith("conv_")

    assert pipeline.work([job]) == []
    assert pipeline.work([job]) == []  # SQS delivers at least once (the receipt handle is stale by then)

    [sent] = pipeline.bot_api.sent
    assert (sent["chat_id"], sent["text"]) == (1001, PRICE_REPLY)
    assert sent["reply_parameters"]["message_id"] == asked  # shown as an answer to the question
    reply = pipeline.conversation_messages(1001)[-1]
    assert (reply["direction"], reply["type"], reply["status"]) == ("outbound", "automation", "sent")
    assert reply["providerMessageId"].endswith(f":1001:{sent['message_id']}")
    # The reply counts in the conversation, once, and is its latest activity.
    path = f"/api/conversations/{reply['conversationId']}"
    conversation = pipeline.api.call("GET", path, api_key=pipeline.account.api_key).body
    assert (conversation["messageCount"], conversation["lastActivityAt"]) == (2, reply["receivedAt"])


def test_a_refused_send_waits_for_its_retry_and_holds_back_only_its_own_conversation(
    stack: Stack, bot_api: FakeTelegramBotApi
) -> None:
    pipeline = pipeline_with(stack, bot_api, CONVERSATION_RETRY_SCHEDULE="0s,1s,1s")
    pipeline.write(1001, "price?")
    pipeline.write(1001, "price, really?")
    pipeline.write(2002, "price please")
    pipeline.fan_out()
    first, second, other = pipeline.receive(3)

    bot_api.fail_next(1)  # Telegram has a bad moment for the first send
    assert pipeline.work([first, second, other]) == [first["MessageId"], second["MessageId"]]

    assert pipeline.texts_to(2002) == [PRICE_REPLY]  # the other conversation was answered
    assert pipeline.texts_to(1001) == []
    # The head waits out its delay (1 s ±20 %), then the group comes back in order.
    started = time.monotonic()
    again = pipeline.receive(2, timeout=10)
    assert time.monotonic() - started >= 0.7
    assert [m["MessageId"] for m in again] == [first["MessageId"], second["MessageId"]]
    assert [m["Attributes"]["ApproximateReceiveCount"] for m in again] == ["2", "2"]
    assert pipeline.work(again) == []
    assert pipeline.texts_to(1001) == [PRICE_REPLY, PRICE_REPLY]


def test_after_the_last_attempt_the_reply_is_failed_and_the_job_moves_to_the_dlq(
    stack: Stack, bot_api: FakeTelegramBotApi
) -> None:
    pipeline = pipeline_with(stack, bot_api, CONVERSATION_RETRY_SCHEDULE="0s,0s")
    pipeline.write(1001, "price?")
    pipeline.fan_out()
    [job] = pipeline.receive(1)
    bot_api.fail_next(2)

    assert pipeline.work([job]) == [job["MessageId"]]  # attempt 1 of 2: retried
    [job] = pipeline.receive(1)
    assert pipeline.work([job]) == []  # attempt 2 of 2: given up, not left to block the conversation

    reply = pipeline.conversation_messages(1001)[-1]
    assert (reply["direction"], reply["status"]) == ("outbound", "failed")
    assert "try again later" in reply["errors"][0]["reason"]
    [dead] = pipeline.receive(1, url=pipeline.dlq_url)
    assert json.loads(dead["Body"]) == json.loads(job["Body"])
    assert dead["Attributes"]["MessageGroupId"] == job["Attributes"]["MessageGroupId"]
    # The conversation goes on: the next message is answered.
    pipeline.write(1001, "price now?")
    pipeline.fan_out()
    assert pipeline.work(pipeline.receive(1)) == []
    assert pipeline.texts_to(1001) == [PRICE_REPLY]


def test_a_job_moved_back_from_the_dlq_sends_the_reply_its_attempts_could_not(
    stack: Stack, bot_api: FakeTelegramBotApi
) -> None:
    pipeline = pipeline_with(stack, bot_api, CONVERSATION_RETRY_SCHEDULE="0s")
    pipeline.write(1001, "price?")
    pipeline.fan_out()
    bot_api.fail_next(1)
    assert pipeline.work(pipeline.receive(1)) == []  # the only attempt: failed, moved to the DLQ
    [dead] = pipeline.receive(1, url=pipeline.dlq_url)
    assert pipeline.conversation_messages(1001)[-1]["errors"][0]["retryable"] is True

    # The operator moves it back once Telegram is healthy (as a DLQ redrive does: a new message).
    shared_clients().client("sqs").send_message(
        QueueUrl=pipeline.queue_url,
        MessageBody=dead["Body"],
        MessageGroupId=dead["Attributes"]["MessageGroupId"],
        MessageDeduplicationId=f"redrive-{dead['MessageId']}",
    )
    [job] = pipeline.receive(1)
    assert pipeline.work([job]) == []
    assert pipeline.work([job]) == []  # delivered again: still one reply
    assert pipeline.texts_to(1001) == [PRICE_REPLY]
    reply = pipeline.conversation_messages(1001)[-1]
    assert (reply["direction"], reply["status"], reply["errors"]) == ("outbound", "sent", [])


def test_out_of_hours_the_closed_message_answers_once(pipeline: Pipeline) -> None:
    api, key = pipeline.api, pipeline.account.api_key
    never_open = {"timezone": "Europe/Berlin", "days": [], "opens": "09:00", "closes": "17:00"}
    rule = {"kind": "out_of_hours", "reply": "We are closed.", "hours": never_open}
    created = api.call("POST", "/api/automations", api_key=key, json_body=rule)
    assert created.status == 201, created.body
    assert created.body["hours"] == never_open and created.body["match"] is None
    assert api.call("POST", "/api/automations", api_key=key, json_body=rule).status == 409
    listed = api.call("GET", "/api/automations", api_key=key).body["items"]
    assert [a["kind"] for a in listed] == ["keyword", "out_of_hours"]

    pipeline.write(1001, "hello?")
    pipeline.fan_out()
    assert pipeline.work(pipeline.receive(1)) == []
    pipeline.write(1001, "hello??")
    pipeline.write(1001, "and the price?")  # a keyword still answers
    pipeline.fan_out()
    assert pipeline.work(pipeline.receive(2)) == []
    assert pipeline.texts_to(1001) == ["We are closed.", PRICE_REPLY]


@pytest.mark.parametrize(
    ("hours", "field_name"),
    [
        ({"timezone": "Mars/Olympus", "opens": "09:00", "closes": "17:00"}, "hours.timezone"),
        ({"timezone": "UTC", "days": ["mon", "someday"], "opens": "09:00", "closes": "17:00"}, "hours.days"),
        ({"timezone": "UTC", "opens": "9", "closes": "17:00"}, "hours.opens"),
        (None, "hours"),
    ],
)
def test_out_of_hours_automations_that_cannot_work_are_400(
    pipeline: Pipeline, hours: dict[str, Any] | None, field_name: str
) -> None:
    rule = {"kind": "out_of_hours", "reply": "We are closed.", "hours": hours}
    result = pipeline.api.call("POST", "/api/automations", api_key=pipeline.account.api_key, json_body=rule)
    assert result.status == 400
    assert [d["field"] for d in result.body["details"]] == [field_name]


def test_a_lead_who_blocked_the_bot_is_marked_unreachable_until_they_write_again(pipeline: Pipeline) -> None:
    blocked = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
    pipeline.bot_api.route("POST", r"/bot(?P<token>[^/]+)/sendMessage", lambda call, match: (403, blocked))
    pipeline.write(1001, "price?")
    pipeline.fan_out()
    assert pipeline.work(pipeline.receive(1)) == []  # final: not retried

    api, key = pipeline.api, pipeline.account.api_key
    [conversation] = api.call("GET", "/api/conversations", api_key=key).body["items"]
    assert conversation["unreachableAt"] and "blocked" in conversation["unreachableReason"]
    path = f"/api/conversations/{conversation['conversationId']}/messages"
    refused = api.call("POST", path, api_key=key, json_body={"text": "Hello?"})
    assert refused.status == 409 and "cannot be written to" in refused.body["error"]

    pipeline.write(1001, "sorry, unblocked you")
    [conversation] = api.call("GET", "/api/conversations", api_key=key).body["items"]
    assert (conversation["unreachableAt"], conversation["unreachableReason"]) == (None, None)
    assert api.call("POST", path, api_key=key, json_body={"text": "Welcome back"}).status == 202
