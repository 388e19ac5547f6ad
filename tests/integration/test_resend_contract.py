"""Every Resend call Leadhub makes, and every answer of the loopback fake, checked against Resend's
published contract: the official Python SDK's types (`resend`, test venv only) where it has them, and
types derived from Resend's API reference where it has not (each says which). A request Resend would
refuse, or an answer Resend would never give, fails here although the flows' own tests pass.

What the SDK (resend 2.51.0) cannot express, derived from the reference:
- `capabilities` on Create Domain, Update Domain and in domain answers (the SDK's params and `Domain`
  lack it; resend-node's `CreateDomainOptions`/`UpdateDomainsOptions` have it);
- Update Domain's body (the SDK's `UpdateParams` puts the id into it) and answer `{"object", "id"}`,
  which Verify Domain answers too;
- Retrieve Domain (the SDK's `Domain` requires `deleted`, which the reference's answer has not) and List
  Domains (the SDK lists `Domain`s with records; the reference's list has none, but capabilities);
- errors `{"statusCode", "name", "message"}` (resend-node's `ErrorResponse`; the names from "Errors")."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from email.headerregistry import HeaderRegistry
from typing import Any, Literal, NotRequired

import pytest
import resend as resend_sdk
from pydantic import ConfigDict, TypeAdapter, ValidationError, with_config
from resend.domains._record import Record
from typing_extensions import TypedDict  # pydantic reads TypedDicts of this kind on Python < 3.12

from leadhub.channels.email.adapters.resend_api import ResendApi
from leadhub.channels.senders import ChannelSenders
from leadhub.channels.telegram.adapters.bot_api import TelegramBotApi
from leadhub.channels.whatsapp.adapters.graph_api import GraphApi
from leadhub.conversations.models import Channel
from leadhub.conversations.replies import SendRejected
from local.fake_providers import FakeGraphApi, FakeProviders, FakeResendApi, FakeTelegramBotApi, svix_headers
from tests.channel_senders import all_channel_senders
from tests.fakes import StaticSecret
from tests.integration.conftest import Account, Api
from tests.integration.test_channel_senders import Integrations, PlainCipher, conversation, inbound
from tests.integration.test_email import API_KEY, channel_api, resend, secrets  # noqa: F401 - fixtures

STRICT = ConfigDict(extra="forbid", strict=True)
Capability = Literal["enabled", "disabled"]
DOMAIN_STATUSES = {"not_started", "pending", "verified", "partially_verified", "partially_failed", "failed"}
RECORD_STATUSES = {"not_started", "pending", "verified", "failed", "temporary_failure"}
ERROR_NAMES = {  # Resend's API reference, "Errors"
    "invalid_idempotency_key", "validation_error", "missing_api_key", "restricted_api_key",
    "invalid_api_key", "not_found", "method_not_allowed", "invalid_idempotent_request",
    "concurrent_idempotent_requests", "invalid_attachment", "invalid_from_address", "invalid_access",
    "invalid_parameter", "invalid_region", "missing_required_field", "monthly_quota_exceeded",
    "daily_quota_exceeded", "rate_limit_exceeded", "security_error", "application_error",
    "internal_server_error",
}  # fmt: skip


# -- requests ------------------------------------------------------------------------------------


class Capabilities(TypedDict):  # reference: Create Domain, Update Domain (omitted ones keep their value)
    sending: NotRequired[Capability]
    receiving: NotRequired[Capability]


@with_config(STRICT)
class CreateDomainRequest(resend_sdk.Domains.CreateParams):  # SDK + the reference's `capabilities`
    capabilities: NotRequired[Capabilities]


@with_config(STRICT)
class UpdateDomainRequest(TypedDict):  # reference: Update Domain's body
    click_tracking: NotRequired[bool]
    open_tracking: NotRequired[bool]
    tls: NotRequired[Literal["opportunistic", "enforced"]]
    tracking_subdomain: NotRequired[str]
    capabilities: NotRequired[Capabilities]


@with_config(STRICT)
class SendEmailRequest(resend_sdk.Emails.SendParams):  # SDK
    pass


# -- answers -------------------------------------------------------------------------------------


@with_config(STRICT)
class DomainRecord(Record):  # SDK
    pass


@with_config(STRICT)
class DomainCapabilities(TypedDict):  # reference: both are always in an answer
    sending: Capability
    receiving: Capability


@with_config(STRICT)
class CreatedDomain(resend_sdk.Domains.CreateDomainResponse):  # SDK + the reference's `capabilities`
    records: list[DomainRecord] | None
    capabilities: DomainCapabilities


@with_config(STRICT)
class RetrievedDomain(CreatedDomain):  # reference: Retrieve Domain
    object: Literal["domain"]


@with_config(STRICT)
class ListedDomain(TypedDict):  # reference: List Domains
    id: str
    name: str
    status: str
    created_at: str
    region: str
    capabilities: DomainCapabilities


@with_config(STRICT)
class DomainList(TypedDict):  # reference: List Domains
    object: Literal["list"]
    has_more: bool
    data: list[ListedDomain]


@with_config(STRICT)
class DomainReference(TypedDict):  # reference: Update Domain, Verify Domain
    object: Literal["domain"]
    id: str


@with_config(STRICT)
class SentEmail(resend_sdk.Emails.SendResponse):  # SDK
    pass


@with_config(STRICT)
class ReceivedEmail(resend_sdk.ReceivedEmail):  # SDK
    pass


@with_config(STRICT)
class EmailReceivedEvent(resend_sdk.EmailReceivedEvent):  # SDK (webhook)
    pass


@with_config(STRICT)
class ErrorAnswer(TypedDict):  # reference: Errors; resend-node's ErrorResponse
    statusCode: int
    name: str
    message: str


ID = r"[^/]+"
# (method, path) -> (the request body's type, the 2xx answer's type)
CONTRACT: dict[tuple[str, str], tuple[Any, Any]] = {
    ("POST", r"/domains"): (CreateDomainRequest, CreatedDomain),
    ("GET", r"/domains"): (None, DomainList),
    ("GET", rf"/domains/{ID}"): (None, RetrievedDomain),
    ("PATCH", rf"/domains/{ID}"): (UpdateDomainRequest, DomainReference),
    ("POST", rf"/domains/{ID}/verify"): (None, DomainReference),
    ("POST", r"/emails"): (SendEmailRequest, SentEmail),
    ("GET", rf"/emails/receiving/{ID}"): (None, ReceivedEmail),
}


def contract_of(method: str, path: str) -> tuple[str, tuple[Any, Any]]:
    for (known_method, pattern), types in CONTRACT.items():
        if known_method == method and re.fullmatch(pattern, path):
            return pattern, types
    raise AssertionError(f"Leadhub called {method} {path}, which is not in Resend's contract here")


def check_exchange(
    method: str, path: str, headers: dict[str, str], body: Any, status: int, answer: Any
) -> str:
    """Raises if the request or the answer breaks the contract; the contract entry it used."""
    pattern, (request_type, answer_type) = contract_of(method, path)
    assert headers["authorization"].startswith("Bearer re_")
    if request_type is None:
        assert body is None, f"{method} {path} takes no body"
    else:
        TypeAdapter(request_type).validate_python(body)
    if method == "POST" and pattern == "/emails":
        assert 1 <= len(headers["idempotency-key"]) <= 256
        for field in {"from", "reply_to"} & set(body):
            parsed = HeaderRegistry()("from", body[field])
            assert len(parsed.addresses) == 1 and not parsed.defects, f"{field}: {body[field]!r}"
    if 200 <= status < 300:
        TypeAdapter(answer_type).validate_python(answer)
        for domain in answer.get("data", [answer]) if "domains" in pattern else []:
            assert "status" not in domain or domain["status"] in DOMAIN_STATUSES
            assert {r["status"] for r in domain.get("records") or []} <= RECORD_STATUSES
    else:
        TypeAdapter(ErrorAnswer).validate_python(answer)
        assert answer["statusCode"] == status and answer["name"] in ERROR_NAMES
    return f"{method} {pattern} {status}"


@pytest.fixture
def senders(resend: FakeResendApi) -> Iterator[ChannelSenders]:  # noqa: F811 - test_email's fixture
    graph, telegram = FakeGraphApi("1", "555", "EAAG-ok"), FakeTelegramBotApi("7000001:AAH-ok")
    yield all_channel_senders(
        integrations=Integrations(),
        cipher=PlainCipher(),
        graph=GraphApi(graph.base_url),
        telegram=TelegramBotApi(telegram.url),
        resend=ResendApi(resend.url, StaticSecret(API_KEY)),
        receiving_domain="inbound.shop.example",
    )
    graph.close()
    telegram.close()


def test_every_call_and_answer_follows_resends_published_contract(
    channel_api: Api,  # noqa: F811 - test_email's fixture
    resend: FakeResendApi,  # noqa: F811 - test_email's fixture
    senders: ChannelSenders,
) -> None:
    keyed = channel_api.create_account("New domain")
    put = {"emailFromAddress": "hello@acme.test", "emailFromName": 'Acme, Inc. "Best"'}
    assert call(channel_api, keyed, "PUT", "/api/integrations/email", put).status == 200
    assert call(channel_api, keyed, "POST", "/api/integrations/email/verify").status == 200
    resend.complete_verification()
    assert call(channel_api, keyed, "GET", "/api/integrations/email").body["domainStatus"] == "verified"
    target = conversation(Channel.EMAIL, address="ada@example.com")
    question = inbound(Channel.EMAIL, "e-1", subject="Flat", messageId="<q@example.com>")
    with pytest.raises(SendRejected, match="domain is not verified"):  # shop.example: not at Resend yet
        senders.send_text(target, "Too early", question, "msg_reply_0")
    # A domain registered at Resend before, sending only: found, receiving turned on, verified again.
    resend.add_domain("shop.example", status="verified")
    other = channel_api.create_account("Known domain")
    put = {"emailFromAddress": "hi@shop.example", "emailFromName": "Zoë's Café"}
    assert call(channel_api, other, "PUT", "/api/integrations/email", put).status == 200
    assert call(channel_api, other, "POST", "/api/integrations/email/verify").status == 200
    assert resend.complete_verification("shop.example") == 1  # the new receiving record

    senders.send_text(target, "It is free.", question, "msg_reply_1")
    senders.send_text(target, "It is free.", question, "msg_reply_1")  # the first answer again
    resend.in_progress.add("msg_reply_2")
    for key, text in (("msg_reply_2", "Busy"), ("msg_reply_1", "Another payload")):
        with pytest.raises(SendRejected):
            senders.send_text(target, text, question, key)
    for status in (422, 429):
        resend.fail_next(1, status)
        with pytest.raises(SendRejected):
            senders.send_text(target, "x", question, f"msg_reply_{status}")
    data = resend.add_received_email("Ada <ada@example.com>", "hello@acme.test", "Hi", "Hello")
    assert ResendApi(resend.url, StaticSecret(API_KEY)).get(data["email_id"])["text"] == "Hello"
    assert ResendApi(resend.url, StaticSecret(API_KEY)).get("not-there") is None
    with pytest.raises(Exception, match="invalid_api_key"):
        ResendApi(resend.url, StaticSecret("re_wrong")).get_domain("any")

    checked = [
        check_exchange(c.method, c.path, c.headers, c.body, status, answer)
        for c, status, answer in resend.answers
        if c.headers.get("authorization") != "Bearer re_wrong"
    ]
    wrong = next(
        answer for c, _, answer in resend.answers if c.headers.get("authorization") == "Bearer re_wrong"
    )
    TypeAdapter(ErrorAnswer).validate_python(wrong)

    assert set(checked) == {
        "POST /domains 200",
        "POST /domains 403",  # registered already
        "GET /domains 200",
        f"GET /domains/{ID} 200",
        f"PATCH /domains/{ID} 200",
        f"POST /domains/{ID}/verify 200",
        "POST /emails 200",
        "POST /emails 403",  # from a domain the account has not verified
        "POST /emails 409",
        "POST /emails 422",
        "POST /emails 429",
        f"GET /emails/receiving/{ID} 200",
        f"GET /emails/receiving/{ID} 404",
    }
    create = next(c for c, _, _ in resend.answers if (c.method, c.path) == ("POST", "/domains"))
    assert create.body["capabilities"] == {"sending": "enabled", "receiving": "enabled"}


def test_the_webhook_the_fake_posts_is_an_email_received_event_the_sdk_verifies() -> None:
    providers = FakeProviders()
    try:
        data = providers.resend.add_received_email("Ada <ada@example.com>", "hello@acme.test", "Hi", "Hello")
    finally:
        providers.close()
    event = {"type": "email.received", "created_at": data["created_at"], "data": data}
    TypeAdapter(EmailReceivedEvent).validate_python(event)
    body = json.dumps(event)
    secret = "whsec_" + base64.b64encode(b"s" * 32).decode()
    signed = svix_headers(secret, "msg_1", body.encode())
    headers = {
        "id": signed["svix-id"],
        "timestamp": signed["svix-timestamp"],
        "signature": signed["svix-signature"],
    }
    verified = resend_sdk.Webhooks.verify({"payload": body, "headers": headers, "webhook_secret": secret})
    assert verified["data"]["email_id"] == data["email_id"]


def test_the_contract_types_refuse_what_resend_would() -> None:
    """The checks above can fail: the calls Leadhub made before this fix break them."""
    with pytest.raises(AssertionError, match="from"):
        check_exchange(
            "POST",
            "/emails",
            {"authorization": "Bearer re_x", "idempotency-key": "k"},
            {
                "from": "Acme, Inc. <hi@shop.example>",
                "to": ["a@b.example"],
                "subject": "s",
                "reply_to": "r@x.example",
            },
            200,
            {"id": "e"},
        )
    with pytest.raises(ValidationError):  # a capability Resend does not have
        check_exchange(
            "PATCH",
            "/domains/d",
            {"authorization": "Bearer re_x"},
            {"capabilities": {"inbound": "enabled"}},
            200,
            {"object": "domain", "id": "d"},
        )
    with pytest.raises(ValidationError):  # a domain answer without its capabilities
        check_exchange(
            "GET",
            "/domains/d",
            {"authorization": "Bearer re_x"},
            None,
            200,
            {"object": "domain", "id": "d", "name": "a", "created_at": "t", "status": "pending",
             "region": "us-east-1", "records": []},
        )  # fmt: skip
    with pytest.raises(ValidationError):  # the error shape the fake answered before
        check_exchange("GET", "/domains/d", {"authorization": "Bearer re_x"}, None, 404, {"message": "nope"})


def call(api: Api, account: Account, method: str, path: str, body: Any = None):
    return api.call(method, path, api_key=account.api_key, json_body=body)
