"""The Webhooks pages: an endpoint's state in words, the add/edit form read into the management API's
request body, the payload template's preview from a sample lead (rendered as deliveries render it), and
the delivery log a page at a time with each delivery's attempts.

The rules stay in the domain (leadhub.outbound.endpoints, delivery_log, payload_template): this
module only translates between a browser's form and what the API accepts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadhub.accounts.models import Principal
from leadhub.dashboard.http import Form
from leadhub.leads.models import Lead
from leadhub.outbound.delivery_log import attempts_of, list_deliveries
from leadhub.outbound.fanout import envelope_for
from leadhub.outbound.models import (
    DEFAULT_VERIFICATION_MODE,
    DISABLED_THROUGH_API,
    Attempt,
    Delivery,
    DeliveryStatus,
    Verification,
    WebhookEndpoint,
)
from leadhub.outbound.outbox import lead_facts
from leadhub.outbound.payload_template import render, validate_template
from leadhub.outbound.ports import DeliveryLog, EndpointRepository
from leadhub.platform.errors import FieldError, InvalidRequest
from leadhub.platform.timestamps import to_iso

# -- an endpoint's state ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EndpointState:
    """What the pages say about an endpoint, loudly when it receives nothing."""

    receives_events: bool
    label: str
    problems: tuple[str, ...]  # why it receives nothing, each with what to do
    consequence: str | None  # what happens to its events meanwhile
    can_verify: bool  # unverified: the Verify button


def endpoint_state(endpoint: WebhookEndpoint) -> EndpointState:
    if endpoint.active:
        return EndpointState(True, "Receiving events", (), None, False)
    problems: list[str] = []
    if not endpoint.enabled:
        if endpoint.disabled_reason == DISABLED_THROUGH_API:
            problems.append("It was disabled by hand. Enable it to resume deliveries.")
        else:
            reason = endpoint.disabled_reason or "no reason recorded"
            problems.append(f"Leadhub disabled it: {reason}. Fix the receiver, then enable it.")
    verified = endpoint.verification is Verification.VERIFIED
    if not verified:
        mode = f"{endpoint.verification_mode} mode"
        if endpoint.verification_error:
            problems.append(f"The verification handshake failed ({mode}): {endpoint.verification_error}")
        else:
            problems.append(f"The verification handshake ({mode}) has not succeeded yet.")
    if verified:
        label = "Disabled: receives nothing"
        consequence = "Its events are kept as skipped deliveries: enable it, then recover them (skipped too)."
    else:
        label = (
            "Unverified: receives nothing"
            if endpoint.enabled
            else "Disabled and unverified: receives nothing"
        )
        consequence = "No events are sent to it, or kept for it, until a verification handshake succeeds."
    return EndpointState(False, label, tuple(problems), consequence, not verified)


# -- the payload template's preview -----------------------------------------------------------------

SAMPLE_LEAD_ID = "lead_sample"


def sample_lead(account_id: str, now: datetime) -> Lead:
    """The lead a preview is rendered for: every placeholder has a value (a custom field too)."""
    at = to_iso(now)
    return Lead(
        account_id=account_id,
        lead_id=SAMPLE_LEAD_ID,
        captured_at=at,
        updated_at=at,
        last_activity_at=at,
        source="website-form",
        phone="+14155552671",
        name="Ada Lovelace",
        email="ada@example.com",
        tags=("demo", "spring-campaign"),
        custom_fields={"budget": "25000", "company": "Analytical Engines Ltd"},
    )


def sample_envelope(account_id: str, now: datetime) -> dict[str, Any]:
    """The `lead.created` envelope the sample lead's capture would be delivered in (through the outbox and
    the fan-out's own functions)."""
    [fact] = lead_facts(None, sample_lead(account_id, now))
    return envelope_for(fact)


@dataclass(frozen=True, slots=True)
class Preview:
    body: str | None  # the request body, pretty-printed; None when the template is invalid
    error: str | None  # the API's words for what is wrong with the template
    templated: bool  # False: no template, the envelope itself is sent


def preview_payload(template_text: str, account_id: str, now: datetime) -> Preview:
    """The body a delivery of the sample lead's `lead.created` would carry with this template (empty: the
    envelope as is), validated and rendered by the functions that save and deliver templates."""
    envelope = sample_envelope(account_id, now)
    if not template_text.strip():
        return Preview(_pretty(envelope), None, False)
    try:
        body = render(validate_template(template_text), envelope)
    except InvalidRequest as exc:
        return Preview(None, "; ".join(d.message for d in exc.details) or exc.message, True)
    return Preview(_pretty(json.loads(body)), None, True)


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


# -- the add/edit form ------------------------------------------------------------------------------

MAX_HEADER_ROWS = 40  # twice the API's limit: a form with more rows is not ours
NEW_HEADER_ROWS = 3  # blank rows the form offers (no script needed to add a header)


@dataclass(slots=True)
class HeaderRow:
    name: str = ""
    value: str = ""
    stored: bool = False  # saved already: its value is not shown, a blank value keeps it
    remove: bool = False


@dataclass(slots=True)
class EndpointForm:
    """The form as the browser posted it (or as it starts out), to show again with its errors."""

    name: str = ""
    url: str = ""
    events: list[str] = field(default_factory=list)
    verification: str = str(DEFAULT_VERIFICATION_MODE)
    filter_accounts: bool = False  # agencies: only the checked managed accounts' events
    account_filter: list[str] = field(default_factory=list)
    payload_template: str = ""
    secret: str = ""
    headers: list[HeaderRow] = field(default_factory=list)

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> EndpointForm:
        """An endpoint's current settings, to edit (header values stay secret)."""
        template = endpoint.payload_template
        return cls(
            name=endpoint.name,
            url=endpoint.url,
            events=list(endpoint.events),
            verification=str(endpoint.verification_mode),
            filter_accounts=endpoint.account_filter is not None,
            account_filter=list(endpoint.account_filter or ()),
            payload_template=json.dumps(json.loads(template), indent=2, ensure_ascii=False)
            if template
            else "",
            headers=[HeaderRow(name, stored=True) for name in endpoint.header_names],
        )

    @classmethod
    def read(cls, form: Form) -> EndpointForm:
        rows: list[HeaderRow] = []
        for index in range(MAX_HEADER_ROWS):
            prefix = f"headers-{index}-"
            name, value = form.get(prefix + "name").strip(), form.get(prefix + "value")
            stored = form.get(prefix + "stored") == "1"
            if name or value or stored:
                rows.append(HeaderRow(name, value, stored, form.get(prefix + "remove") == "1"))
        return cls(
            name=form.get("name"),
            url=form.get("url"),
            events=form.get_all("events"),
            verification=form.get("verification"),
            filter_accounts=form.get("accountFilterMode") == "only",
            account_filter=form.get_all("accountFilter"),
            payload_template=form.get("payloadTemplate"),
            secret=form.get("secret"),
            headers=rows,
        )

    @property
    def header_rows(self) -> list[HeaderRow]:
        """The rows to show: the saved and entered ones, and blank ones to add more."""
        return [*self.headers, *(HeaderRow() for _ in range(NEW_HEADER_ROWS))]

    def headers_changed(self) -> bool:
        return any(not row.stored or row.remove or row.value for row in self.headers)

    def custom_headers(self, stored_values: Mapping[str, str]) -> dict[str, str]:
        """Every custom header the endpoint is to send: saved ones kept unless removed or given a new value.
        Raises InvalidRequest (field `headers`) for a value without a name, or a name given twice."""
        headers: dict[str, str] = {}
        for row in self.headers:
            if row.remove:
                continue
            if not row.name:
                raise InvalidRequest(
                    "Invalid custom headers", [FieldError("headers", "a header needs a name")]
                )
            if row.name in headers:
                raise _invalid_headers(f"{row.name} is given twice")
            headers[row.name] = row.value if row.value or not row.stored else stored_values.get(row.name, "")
        return headers

    def request_body(
        self, *, creating: bool, agency: bool, stored_headers: Mapping[str, str] | None
    ) -> dict[str, Any]:
        """The management API's request body for this form: create (POST) or change (PATCH, where null
        clears the template and the account filter). `stored_headers` (the saved values, read only when
        the headers changed) is None to leave the headers as they are."""
        body: dict[str, Any] = {"name": self.name, "url": self.url, "events": self.events}
        if self.verification:  # one of the radio buttons is always checked: absent only in a forged form
            body["verification"] = self.verification
        template = self.payload_template.strip()
        if template or not creating:
            body["payloadTemplate"] = template or None
        if agency:
            body["accountFilter"] = self.account_filter if self.filter_accounts else None
        if stored_headers is not None:
            body["headers"] = self.custom_headers(stored_headers)
        if creating and self.secret.strip():
            body["secret"] = self.secret
        return body


def _invalid_headers(message: str) -> InvalidRequest:
    return InvalidRequest("Invalid custom headers", [FieldError("headers", message)])


def form_errors(exc: InvalidRequest) -> dict[str, str]:
    """The API's field errors by the form field they concern (`events.0` → `events`; a header's name is
    kept in its message); errors without a field go to `body`."""
    errors: dict[str, str] = {}
    for detail in exc.details or [FieldError("body", exc.message)]:
        top, _, rest = detail.field.partition(".")
        message = f"{rest}: {detail.message}" if top == "headers" and rest else detail.message
        errors[top] = f"{errors[top]}; {message}" if top in errors else message
    return errors


# -- the delivery log -------------------------------------------------------------------------------

LOG_PAGE_SIZE = 10


@dataclass(frozen=True, slots=True)
class LoggedDelivery:
    delivery: Delivery
    attempts: list[Attempt]

    @property
    def retryable(self) -> bool:
        return self.delivery.status is not DeliveryStatus.DELIVERED


@dataclass(frozen=True, slots=True)
class DeliveryLogPage:
    items: list[LoggedDelivery]
    next_cursor: str | None

    @property
    def waiting(self) -> bool:
        """A delivery is still on its way: worth looking again in a few seconds."""
        return any(item.delivery.status is DeliveryStatus.PENDING for item in self.items)


# Runs a function over items, in order: `map`, or a thread pool's (a page's attempts are a query each).
MapOver = Callable[[Callable[[Delivery], list[Attempt]], Sequence[Delivery]], Iterable[list[Attempt]]]


def delivery_log(
    principal: Principal,
    endpoint_id: str,
    status: DeliveryStatus | None,
    cursor: str | None,
    *,
    endpoints: EndpointRepository,
    log: DeliveryLog,
    map_over: MapOver = map,
) -> DeliveryLogPage:
    """Newest first, LOG_PAGE_SIZE at most (the API's listing), each delivery with its attempts."""
    page = list_deliveries(
        principal, endpoint_id, status, LOG_PAGE_SIZE, cursor, endpoints=endpoints, log=log
    )
    found, cursor = page.items, page.next_cursor
    tried = [d for d in found if d.attempts]  # one never tried has no attempt to read
    attempts = dict(zip([d.delivery_id for d in tried], map_over(_attempts_reader(log), tried), strict=True))
    items = [LoggedDelivery(d, attempts.get(d.delivery_id, [])) for d in found]
    return DeliveryLogPage(items, cursor)


def _attempts_reader(log: DeliveryLog) -> Callable[[Delivery], list[Attempt]]:
    return lambda delivery: attempts_of(delivery, log=log)
