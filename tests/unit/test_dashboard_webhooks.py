"""The Webhooks pages' own code without a server: an endpoint's state in words, the form read into the API's
request body (any form a browser can post), the template preview rendered by the deliveries' renderer,
the delivery log filled from a filtered listing, and the audit source of dashboard changes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadhub.accounts.accounts import create_account
from leadhub.accounts.models import ALL_SCOPES, Plan, Principal
from leadhub.dashboard.http import Form, read_form
from leadhub.dashboard.webhooks import (
    LOG_PAGE_SIZE,
    EndpointForm,
    HeaderRow,
    delivery_log,
    endpoint_state,
    form_errors,
    preview_payload,
    sample_envelope,
)
from leadhub.outbound import endpoints
from leadhub.outbound.delivery_log import MAX_FILTERED_READS
from leadhub.outbound.models import (
    DISABLED_THROUGH_API,
    Attempt,
    Delivery,
    DeliveryStatus,
    Verification,
    WebhookEndpoint,
)
from leadhub.outbound.payload_template import PLACEHOLDERS, placeholder_values, render
from leadhub.outbound.request_models import EndpointCreateRequest, EndpointRequest
from leadhub.platform.errors import FieldError, InvalidRequest
from leadhub.platform.paging import Page
from leadhub.platform.timestamps import to_iso
from tests.fakes import (
    ContextBoundCipher,
    EndpointPorts,
    InMemoryAccounts,
    InMemoryEndpoints,
    StaticResolver,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ALL = frozenset(str(s) for s in ALL_SCOPES)


def endpoint(**fields: object) -> WebhookEndpoint:
    base = WebhookEndpoint(
        "acc_1",
        "wep_1",
        "CRM",
        "https://crm.example.com/hooks",
        (),
        "t",
        "t",
        verification=Verification.VERIFIED,
    )
    return replace(base, **fields)


def form_of(fields: dict[str, object]) -> Form:
    class Event(dict):
        body = urlencode(fields, doseq=True)
        is_base64_encoded = False

    return read_form(Event())  # type: ignore[arg-type]


# -- state -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "label", "says", "verify"),
    [
        ({}, "Receiving events", [], False),
        (
            {"verification": Verification.FAILED, "verification_error": "HTTP 200 but did not echo"},
            "Unverified: receives nothing",
            ["handshake failed (ping mode): HTTP 200 but did not echo", "or kept for it"],
            True,
        ),
        ({"verification": Verification.PENDING}, "Unverified: receives nothing", ["not succeeded yet"], True),
        (
            {"enabled": False, "disabled_reason": DISABLED_THROUGH_API},
            "Disabled: receives nothing",
            ["by hand"],
            False,
        ),
        (
            {"enabled": False, "disabled_reason": "410 Gone"},
            "Disabled: receives nothing",
            ["Leadhub disabled it: 410 Gone", "skipped deliveries"],
            False,
        ),
        (
            {"enabled": False, "verification": Verification.FAILED},
            "Disabled and unverified: receives nothing",
            ["disabled it", "has not succeeded"],
            True,
        ),
    ],
)
def test_an_endpoint_that_receives_nothing_says_why_and_what_to_do(
    fields: dict, label: str, says: list[str], verify: bool
) -> None:
    state = endpoint_state(endpoint(**fields))

    assert state.label == label and state.receives_events is (label == "Receiving events")
    text = " ".join([*state.problems, state.consequence or ""])
    assert all(words in text for words in says), text
    assert state.can_verify is verify


# -- the preview -------------------------------------------------------------------------------------


def test_the_sample_lead_fills_every_placeholder() -> None:
    values = placeholder_values(sample_envelope("acc_1", NOW))

    assert all(values[name] for name in PLACEHOLDERS if name not in ("conversationId", "custom.KEY")), values
    assert sample_envelope("acc_1", NOW)["event"] == "lead.created"


def test_the_preview_is_the_rendered_body_and_invalid_templates_get_the_apis_words() -> None:
    template = '{"contact": {"name": "{{name}}", "phone": "{{phone}}"}, "tags": "{{tags}}", "n": 1}'

    preview = preview_payload(template, "acc_1", NOW)

    assert preview.error is None and preview.templated
    assert json.loads(preview.body or "") == json.loads(render(template, sample_envelope("acc_1", NOW)))
    unknown = preview_payload('{"a": "{{surname}}"}', "acc_1", NOW)
    assert unknown.body is None and "unknown placeholder {{surname}} at $.a" in (unknown.error or "")
    assert "Allowed placeholders" in (unknown.error or "")
    assert "not valid JSON" in (preview_payload("{", "acc_1", NOW).error or "")
    blank = preview_payload("  ", "acc_1", NOW)
    assert not blank.templated and json.loads(blank.body or "") == sample_envelope("acc_1", NOW)


@given(st.text(max_size=200))
def test_any_typed_template_previews_or_says_what_is_wrong(text: str) -> None:
    preview = preview_payload(text, "acc_1", NOW)
    assert (preview.body is None) != (preview.error is None)


# -- the form ------------------------------------------------------------------------------------------


def test_a_new_endpoints_form_becomes_the_apis_create_body() -> None:
    form = EndpointForm.read(
        form_of(
            {
                "name": "Zap",
                "url": "https://hooks.zapier.com/x",
                "events": ["lead.created", "message.received"],
                "verification": "echo",
                "payloadTemplate": "",
                "secret": "",
                "headers-0-name": "Authorization",
                "headers-0-value": "Bearer x",
                "headers-1-name": "",
                "headers-1-value": "",
            }
        )
    )

    body = form.request_body(creating=True, agency=False, stored_headers={})

    assert body == {
        "name": "Zap",
        "url": "https://hooks.zapier.com/x",
        "events": ["lead.created", "message.received"],
        "verification": "echo",
        "headers": {"Authorization": "Bearer x"},
    }
    changes = EndpointCreateRequest.model_validate(body).changes()
    assert changes.payload_template is None and not changes.clear_payload_template


def test_an_edit_clears_what_was_emptied_and_keeps_header_values_left_blank() -> None:
    saved = endpoint(
        payload_template='{"a":"{{name}}"}',
        account_filter=("acc_2",),
        header_names=("Authorization", "X-Old"),
    )
    form = EndpointForm.of(saved)
    assert json.loads(form.payload_template) == {"a": "{{name}}"} and form.filter_accounts
    assert [(r.name, r.stored, r.value) for r in form.headers] == [
        ("Authorization", True, ""),
        ("X-Old", True, ""),
    ]
    form.payload_template, form.filter_accounts = "", False
    form.headers[1].remove = True
    form.headers.append(HeaderRow("X-New", "n"))

    assert form.headers_changed()
    body = form.request_body(
        creating=False, agency=True, stored_headers={"Authorization": "Bearer kept", "X-Old": "old"}
    )

    assert body["headers"] == {"Authorization": "Bearer kept", "X-New": "n"}
    changes = EndpointRequest.model_validate(body).changes()
    assert changes.clear_payload_template and changes.clear_account_filter
    untouched = EndpointForm.of(saved)
    assert not untouched.headers_changed()
    assert "headers" not in untouched.request_body(creating=False, agency=False, stored_headers=None)
    assert "accountFilter" not in untouched.request_body(creating=False, agency=False, stored_headers=None)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([HeaderRow("", "value")], "a header needs a name"),
        ([HeaderRow("X-A", "1"), HeaderRow("X-A", "2")], "X-A is given twice"),
    ],
)
def test_header_rows_the_api_could_not_take_apart_are_refused(rows: list[HeaderRow], message: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        EndpointForm(headers=rows).custom_headers({})
    assert form_errors(refused.value) == {"headers": message}


def test_field_errors_land_on_the_form_field_they_concern() -> None:
    refused = InvalidRequest(
        "Invalid",
        [
            FieldError("events.0", "Input should be a valid string"),
            FieldError("headers.Host", "this header is reserved; Leadhub sets it"),
            FieldError("headers.X-A", "values are printable"),
        ],
    )

    assert form_errors(refused) == {
        "events": "Input should be a valid string",
        "headers": "Host: this header is reserved; Leadhub sets it; X-A: values are printable",
    }
    assert form_errors(InvalidRequest("name and url are required")) == {"body": "name and url are required"}


FORM_KEYS = st.sampled_from(
    [
        "name",
        "url",
        "events",
        "verification",
        "accountFilterMode",
        "accountFilter",
        "payloadTemplate",
        "secret",
        "headers-0-name",
        "headers-0-value",
        "headers-0-stored",
        "headers-0-remove",
        "headers-1-name",
        "headers-39-value",
        "other",
    ]
)


@given(st.lists(st.tuples(FORM_KEYS, st.text(max_size=30)), max_size=20), st.booleans(), st.booleans())
def test_any_posted_form_becomes_a_body_or_a_field_error(
    pairs: list[tuple[str, str]], creating: bool, agency: bool
) -> None:
    form = EndpointForm.read(form_of(pairs))  # type: ignore[arg-type]
    try:
        body = form.request_body(creating=creating, agency=agency, stored_headers={})
    except InvalidRequest as exc:
        assert set(form_errors(exc)) == {"headers"}
        return
    assert body["name"] == form.name and isinstance(body["events"], list)
    assert all(isinstance(v, str) for v in body.get("headers", {}).values())


# -- the delivery log ----------------------------------------------------------------------------------


class Records:
    """The delivery log's port: deliveries of one endpoint, newest first, and who read what."""

    def __init__(self, deliveries: Sequence[Delivery]) -> None:
        self.deliveries = list(deliveries)
        self.reads: list[int] = []
        self.attempt_reads: list[str] = []

    def list_for_endpoint(self, endpoint_id: str, limit: int, cursor: str | None) -> Page[Delivery]:
        self.reads.append(limit)
        start = int(cursor or 0)
        mine = [d for d in self.deliveries if d.endpoint_id == endpoint_id]
        more = start + limit < len(mine)
        return Page(mine[start : start + limit], str(start + limit) if more else None)

    def attempts(self, delivery_id: str) -> list[Attempt]:
        self.attempt_reads.append(delivery_id)
        return [
            Attempt(delivery_id, 2, "2026-11-23T09:00:02.000Z", 5.0, 500),
            Attempt(delivery_id, 1, "2026-11-23T09:00:01.000Z", 5.0, 503),
        ]

    def get(self, account_id: str, delivery_id: str) -> Delivery | None: ...

    def save(self, delivery: Delivery) -> None: ...

    def recoverable_since(self, endpoint_id, since, statuses):  # type: ignore[no-untyped-def]
        return []


def log_context() -> tuple[Principal, str, EndpointPorts]:
    accounts = InMemoryAccounts()
    created = create_account(
        "Acme", Plan.PRO, "US", None, accounts=accounts, cipher=ContextBoundCipher(), now=NOW
    )
    principal = Principal(created.view.account.account_id, "key_1", ALL, "dashboard")
    ports = EndpointPorts(
        endpoints=InMemoryEndpoints(),
        accounts=accounts,
        cipher=ContextBoundCipher(),
        resolver=StaticResolver({"crm.example.com": ["93.184.215.14"]}),
        verifier=lambda endpoint, secrets, headers: endpoints.VerificationResult(True),
    )
    changes = endpoints.EndpointChanges(name="CRM", url="https://crm.example.com/hooks")
    made, _ = endpoints.create_endpoint(principal, changes, NOW, **ports.managing())
    return principal, made.endpoint_id, ports


def delivery(
    account_id: str, endpoint_id: str, n: int, status: DeliveryStatus, attempts: int = 1
) -> Delivery:
    at = to_iso(NOW - timedelta(minutes=n))
    return Delivery(
        account_id,
        f"msg_{n}",
        endpoint_id,
        f"evt_{n}",
        "lead.created",
        account_id,
        at,
        at,
        {},
        status,
        attempts,
    )


def test_a_filtered_log_keeps_reading_for_matches_and_its_pages_follow_on() -> None:
    principal, endpoint_id, ports = log_context()
    statuses = [DeliveryStatus.DELIVERED, DeliveryStatus.DELIVERED, DeliveryStatus.FAILED] * 10
    records = Records([delivery(principal.account_id, endpoint_id, n, s) for n, s in enumerate(statuses)])

    first = delivery_log(
        principal, endpoint_id, DeliveryStatus.FAILED, None, endpoints=ports.endpoints, log=records
    )
    second = delivery_log(
        principal,
        endpoint_id,
        DeliveryStatus.FAILED,
        first.next_cursor,
        endpoints=ports.endpoints,
        log=records,
    )

    assert len(first.items) > LOG_PAGE_SIZE // 2 and second.next_cursor is None
    shown = [i.delivery.delivery_id for i in first.items + second.items]
    assert shown == [f"msg_{n}" for n in range(2, 30, 3)]  # every match once, newest first
    assert records.reads[0] == LOG_PAGE_SIZE and len(records.reads) <= 2 * MAX_FILTERED_READS
    assert [a.number for a in first.items[0].attempts] == [1, 2]  # oldest first
    assert all(item.retryable for item in first.items) and not first.waiting


def test_a_sparse_filter_stops_after_its_reads_with_a_cursor_to_go_on() -> None:
    principal, endpoint_id, ports = log_context()
    records = Records(
        [delivery(principal.account_id, endpoint_id, n, DeliveryStatus.DELIVERED) for n in range(200)]
    )

    page = delivery_log(
        principal, endpoint_id, DeliveryStatus.PENDING, None, endpoints=ports.endpoints, log=records
    )

    assert page.items == [] and page.next_cursor is not None and len(records.reads) == MAX_FILTERED_READS


def test_untried_deliveries_read_no_attempts_and_pending_ones_ask_to_look_again() -> None:
    principal, endpoint_id, ports = log_context()
    records = Records(
        [
            delivery(principal.account_id, endpoint_id, 1, DeliveryStatus.PENDING, attempts=0),
            delivery(principal.account_id, endpoint_id, 2, DeliveryStatus.DELIVERED),
            delivery("acc_other", endpoint_id, 3, DeliveryStatus.FAILED),
        ]
    )

    page = delivery_log(principal, endpoint_id, None, None, endpoints=ports.endpoints, log=records)

    assert [i.delivery.delivery_id for i in page.items] == ["msg_1", "msg_2"]  # never another account's
    assert records.attempt_reads == ["msg_2"] and page.waiting
    assert [i.retryable for i in page.items] == [True, False]


def test_dashboard_changes_are_audited_with_the_dashboard_as_their_source() -> None:
    principal, endpoint_id, ports = log_context()
    changes = endpoints.EndpointChanges(name="New")
    endpoints.update_endpoint(principal, endpoint_id, changes, NOW, **ports.managing())
    endpoints.delete_endpoint(principal, endpoint_id, NOW, endpoints=ports.endpoints)

    assert [(a.action, a.source) for a in ports.endpoints.audit] == [
        ("webhook_endpoint.created", "dashboard"),
        ("webhook_endpoint.updated", "dashboard"),
        ("webhook_endpoint.deleted", "dashboard"),
    ]


# -- the pages, for tests/unit/test_dashboard_pages.py's checks (escaping, size, nothing inline) ---------


def webhook_pages(text: str, signed_in: dict) -> dict[str, str]:
    """Every Webhooks page with `text` wherever a stranger's or a user's words can appear, at their
    largest: 20 endpoints with headers, a log page of LOG_PAGE_SIZE deliveries with 8 attempts each and
    1 KiB answers."""
    from leadhub.accounts.models import Account
    from leadhub.dashboard.rendering import render
    from leadhub.dashboard.webhooks import DeliveryLogPage, LoggedDelivery
    from leadhub.outbound.models import EndpointSecret
    from leadhub.outbound.trial_delivery import TestResult

    secrets = (EndpointSecret(b"c", "t"), EndpointSecret(b"p", "t", "2026-11-24T09:00:00.000Z"))
    headers = tuple(f"X-{text}-{n}" for n in range(20))
    broken = endpoint(
        name=text,
        url=f"https://crm.example.com/{text}",
        events=("lead.created",),
        header_names=headers,
        account_filter=(text,),
        verification=Verification.FAILED,
        verification_error=text,
        enabled=False,
        disabled_reason=text,
        secrets=secrets,
    )
    listing = [(broken, endpoint_state(broken))] * 20
    attempts = [
        Attempt("msg_1", n, "2026-11-23T09:00:00.000Z", 12.0, 500, text, (text * 1024)[:1024], text)
        for n in range(1, 9)
    ]
    items = [
        LoggedDelivery(
            replace(delivery("acc_1", "wep_1", n, DeliveryStatus.FAILED), last_error=text), attempts
        )
        for n in range(LOG_PAGE_SIZE)
    ]
    log = DeliveryLogPage(items, "cursor")
    form = EndpointForm(
        name=text,
        url=text,
        events=["lead.created"],
        filter_accounts=True,
        account_filter=[text],
        payload_template=text,
        secret=text,
        headers=[HeaderRow(text, text, stored=n % 2 == 0) for n in range(20)],
    )
    errors = {k: text for k in ("body", "name", "url", "events", "verification", "accountFilter", "headers")}
    managed = [Account(f"acc_{n}", text, Plan.PRO, "US", "t", "h", b"c", "acc_1") for n in range(50)]
    notices = dict.fromkeys(("saved", "verified", "enabled", "disabled", "retried", "recovered"), text)
    test = TestResult(False, None, 10000.0, text, False, text)
    endpoint_page = {
        "endpoint": broken,
        "state": endpoint_state(broken),
        "log": log,
        "shown": DeliveryStatus.FAILED,
        "statuses": [str(s) for s in DeliveryStatus],
        "first_page": False,
        "request_path": "/webhooks/wep_1?status=failed",
        "test": test,
        "recover": {"since": text, "includeSkipped": True, "errors": {"since": text, "body": text}},
        "earliest": "2026-11-09T09:00",
        "latest": "2026-11-23T09:00",
        "notices": notices,
    }
    return {
        "webhooks": render(
            "webhooks.html",
            title="Webhooks",
            endpoints=listing,
            page_number=2,
            more=True,
            wanted=DeliveryStatus.FAILED,
            deleted=True,
            notices=notices,
            **signed_in,
        ),
        "webhooks-empty": render(
            "webhooks.html",
            title="Webhooks",
            endpoints=[],
            page_number=1,
            more=False,
            wanted=None,
            deleted=False,
            notices={},
            **signed_in,
        ),
        "webhook-form": render(
            "webhook_form.html",
            title=text,
            form=form,
            endpoint=None,
            managed=managed,
            errors=errors | {"payloadTemplate": text, "secret": text},
            events=("lead.created", "lead.updated"),
            placeholders=PLACEHOLDERS,
            preview=preview_payload("", text, NOW),
            **signed_in,
        ),
        "webhook-edit": render(
            "webhook_form.html",
            title=text,
            form=EndpointForm.of(broken),
            endpoint=broken,
            managed=[],
            errors={},
            events=("lead.created",),
            placeholders=PLACEHOLDERS,
            preview=preview_payload('{"a": "{{nope}}"}', "acc_1", NOW),
            **signed_in,
        ),
        "webhook-secret": render(
            "webhook_secret.html",
            title="Endpoint added",
            endpoint=broken,
            state=endpoint_state(broken),
            secret="whsec_x",
            created_now=True,
            **signed_in,
        ),
        "webhook-rotated": render(
            "webhook_secret.html",
            title="Secret rotated",
            endpoint=broken,
            state=endpoint_state(broken),
            secret="whsec_x",
            created_now=False,
            **signed_in,
        ),
        "webhook-rotate": render(
            "webhook_rotate.html", title="Rotate", endpoint=broken, errors={"secret": text}, **signed_in
        ),
        "webhook-delete": render("webhook_delete.html", title="Delete", endpoint=broken, **signed_in),
        "webhook-log": render("webhook_endpoint.html", title=text, **endpoint_page, **signed_in),
        "webhook-delivery": render(
            "webhook_delivery.html",
            title="Delivery",
            endpoint=broken,
            delivery=items[0].delivery,
            attempts=attempts,
            payload=json.dumps({"name": text}),
            **signed_in,
        ),
    }


WEBHOOK_TEMPLATES = {
    "webhooks",
    "webhooks_macros",
    "webhook_form",
    "webhook_secret",
    "webhook_rotate",
    "webhook_delete",
    "webhook_endpoint",
    "webhook_delivery",
}
