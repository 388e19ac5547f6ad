"""The fakes and Leadhub's requests against the providers' official models (test venv only): the Bedrock
runtime's service model in botocore, and python-telegram-bot's Bot API types. A fake that drifted from
its provider, or a request the provider would refuse, fails here rather than in production."""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import botocore.session
import pytest
import telegram
from botocore.validate import validate_parameters

from leadhub.channels.email.adapters.resend_api import ResendApi
from leadhub.channels.models import Integration
from leadhub.channels.telegram.adapters.bot_api import TelegramBotApi
from leadhub.channels.telegram.updates import button_press_answer
from leadhub.channels.whatsapp.adapters.graph_api import GraphApi
from leadhub.conversations.adapters.bedrock_model import BedrockModel
from leadhub.conversations.model_responder import ModelFailed, Turn
from leadhub.conversations.models import Channel, Conversation, ConversationStatus, Direction, Message
from local.fake_providers import FakeBedrockRuntime, FakeGraphApi, FakeResendApi, FakeTelegramBotApi
from tests.channel_senders import all_channel_senders
from tests.integration.conftest import fake_aws_environment

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "telegram"
MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"
BOT_TOKEN = "7000001:AAH-contract"


# -- Bedrock: botocore's bedrock-runtime service model ---------------------------------------------


@pytest.fixture
def bedrock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBedrockRuntime]:
    fake_aws_environment(monkeypatch)
    fake = FakeBedrockRuntime()
    yield fake
    fake.close()


def converse_model() -> Any:
    """Converse as botocore's full (test venv) data describes it, not the layer's trimmed copy."""
    return botocore.session.get_session().get_service_model("bedrock-runtime").operation_model("Converse")


def test_our_converse_request_and_the_fakes_answer_fit_the_service_model(bedrock: FakeBedrockRuntime) -> None:
    model = BedrockModel(bedrock.url, timeout_seconds=5)
    turns = [Turn("user", "Is the flat free?"), Turn("assistant", "Yes."), Turn("user", "Parking?")]
    assert model.reply(MODEL_ID, "Be brief.", turns, 333) == f"({MODEL_ID}) You wrote: Parking?"

    [call] = [c for c in bedrock.calls if c.path.endswith("/converse")]
    operation = converse_model()
    request = {**call.body, "modelId": unquote(call.path.split("/")[2])}
    validate_parameters(request, operation.input_shape)  # raises ParamValidationError when it does not fit
    assert request["modelId"] == MODEL_ID
    [answer] = bedrock.answers
    validate_parameters(answer, operation.output_shape)


def test_throttling_is_retried_by_botocore_then_reported_as_the_models_failure(
    bedrock: FakeBedrockRuntime,
) -> None:
    model = BedrockModel(bedrock.url, timeout_seconds=5)
    bedrock.throttle_next(1)
    assert model.reply(MODEL_ID, "", [Turn("user", "Hi")], 64).endswith("You wrote: Hi")  # the retry got it
    bedrock.throttle_next(2)  # two attempts in all, so that both fit the worker's Timeout
    with pytest.raises(ModelFailed, match=r"^Bedrock ThrottlingException$"):
        model.reply(MODEL_ID, "", [Turn("user", "Hi")], 64)
    assert len([c for c in bedrock.calls if c.path.endswith("/converse")]) == 2 + 2
    error_shapes = {shape.name for shape in converse_model().error_shapes}
    assert "ThrottlingException" in error_shapes


# -- Telegram: python-telegram-bot's types ------------------------------------------------------------

# Samples from the Bot API page of 2015: their users lack `is_bot`, required since Bot API 3.0 (2017).
# Leadhub reads neither; the rest of them parses as today's Updates.
PRE_IS_BOT = {"text-start-official", "edited-message-official"}


@pytest.mark.parametrize(
    "name",
    ["text-start-official", "edited-message-official", "photo-caption-nutgram", "callback-query-nutgram"],
)
def test_the_sample_updates_are_updates_to_the_official_library(name: str) -> None:
    data = json.loads((SAMPLES / f"{name}.json").read_text())
    if name in PRE_IS_BOT:
        with pytest.raises(TypeError, match="is_bot"):
            telegram.Update.de_json(json.loads(json.dumps(data)), None)
        for kind in ("message", "edited_message"):
            for user in (data.get(kind, {}).get("from"), data.get(kind, {}).get("chat")):
                if user and user.get("type", "private") == "private" and "first_name" in user:
                    user.setdefault("is_bot", False)
    update = telegram.Update.de_json(data, None)
    assert update is not None and update.update_id == data["update_id"]
    assert update.effective_user is not None and update.effective_chat is not None


def test_a_button_press_answer_is_an_answer_callback_query_call() -> None:
    data = json.loads((SAMPLES / "callback-query-nutgram.json").read_text())
    update = telegram.Update.de_json(data, None)
    answer = button_press_answer(data)
    assert update.callback_query is not None and answer is not None
    assert answer["callback_query_id"] == update.callback_query.id
    parameters = inspect.signature(telegram.Bot.answer_callback_query).parameters
    assert answer["method"] == "answerCallbackQuery" and set(answer) - {"method"} <= set(parameters)


class Integrations:
    def get(self, account_id: str, channel: Channel) -> Integration | None:
        return Integration(account_id, channel, "h", "t", BOT_TOKEN.encode())


class PlainCipher:
    def decrypt(self, ciphertext: bytes, context: Any) -> str:
        return ciphertext.decode()


def test_our_send_message_call_and_the_fakes_answers_fit_the_official_types() -> None:
    bot_api = FakeTelegramBotApi(BOT_TOKEN)
    graph, resend = FakeGraphApi("1", "2", "t"), FakeResendApi("k")
    try:
        senders = all_channel_senders(
            integrations=Integrations(),
            cipher=PlainCipher(),
            graph=GraphApi(graph.base_url),
            telegram=TelegramBotApi(bot_api.url),
            resend=ResendApi(resend.url, None),  # type: ignore[arg-type]  # email is not sent here
            receiving_domain="",
        )
        conversation = Conversation(
            "acc",
            "conv",
            "lead",
            Channel.TELEGRAM,
            ConversationStatus.OPEN,
            "t",
            "t",
            {"botId": "7", "chatId": "42"},
        )
        question = Message(
            "acc",
            "conv",
            "m",
            "lead",
            Channel.TELEGRAM,
            Direction.INBOUND,
            "text",
            "t",
            "t",
            "received",
            "7:42:1365",
        )
        senders.send_text(conversation, "Hello", question, "k")
        [call] = [c for c in bot_api.calls if c.path.endswith("/sendMessage")]
        send_parameters = inspect.signature(telegram.Bot.send_message).parameters
        assert set(call.body) <= set(send_parameters)
        reply = telegram.ReplyParameters.de_json(call.body["reply_parameters"], None)
        assert reply is not None and reply.message_id == 1365

        status, answer = bot_api.call_method(BOT_TOKEN, "sendMessage", call.body)
        sent = telegram.Message.de_json(answer["result"], None)
        assert status == 200 and sent is not None and (sent.chat.id, sent.text) == (42, "Hello")
        me = telegram.User.de_json(bot_api.call_method(BOT_TOKEN, "getMe", {})[1]["result"], None)
        assert me is not None and me.is_bot
    finally:
        for fake in (bot_api, graph, resend):
            fake.close()
