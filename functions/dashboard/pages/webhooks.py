"""Webhooks (/webhooks): outbound endpoints (add, edit, verify, test, enable/disable, rotate the secret,
delete) and each endpoint's delivery log (/webhooks/{endpointId}: retry, recover). Every action calls the
domain function the management API's route calls, with `webhooks:manage` (the section's scope)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any
from urllib.parse import urlencode

import wiring
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from leadhub.accounts.models import Account
from leadhub.dashboard.http import redirect, validated
from leadhub.dashboard.navigation import WEBHOOKS
from leadhub.dashboard.visit import Visit
from leadhub.dashboard.webhooks import (
    EndpointForm,
    delivery_log,
    endpoint_state,
    form_errors,
    preview_payload,
)
from leadhub.outbound import delivery_log as deliveries
from leadhub.outbound import endpoints
from leadhub.outbound.endpoints import Verifier
from leadhub.outbound.models import SUBSCRIBABLE_EVENTS, DeliveryStatus, WebhookEndpoint
from leadhub.outbound.payload_template import PLACEHOLDERS
from leadhub.outbound.ports import DeliveryLog, DeliveryQueue, EndpointRepository, HttpPost, Resolver
from leadhub.outbound.trial_delivery import TestResult, send_test_event
from leadhub.platform.errors import Conflict, FieldError, Forbidden, InvalidRequest, NotFound
from leadhub.platform.ports import SecretCipher
from leadhub.platform.timestamps import utc_now

router = Router()
NEW_PATH = f"{WEBHOOKS.path}/new"
PREVIEW_PATH = f"{WEBHOOKS.path}/preview"
MAX_ID_CHARS = 64  # as the API's path parameters
MAX_CURSOR_CHARS = 512  # as the API's `cursor` parameter
ENDPOINTS_PER_PAGE = 20  # the business plan's are unlimited: a page of them stays within its size budget
# Checkboxes in the form; with the other fields within the 200 fields a form may have (read_form).
MANAGED_ACCOUNTS_SHOWN = 50
# A payload template of 8 KiB compact JSON, pretty-printed and form-encoded (a brace or quote is 3 bytes).
ENDPOINT_FORM_BYTES = 96 * 1024
RECOVER_DEFAULT = timedelta(days=1)
LOG_READERS = 11  # threads reading a log page: its endpoint, and the attempts of its 10 deliveries


@dataclass(frozen=True)
class Outbound:
    """The Webhooks pages' ports and the endpoint settings, as the management API's deps has them."""

    endpoints: EndpointRepository
    cipher: SecretCipher
    resolver: Resolver
    verifier: Verifier
    http: HttpPost
    log: DeliveryLog
    queue: DeliveryQueue
    allow_private_targets: bool
    secret_overlap: timedelta
    reads: ThreadPoolExecutor  # a log page's attempts: one query per delivery, side by side

    def managing(self) -> dict[str, Any]:
        """The keywords of create_endpoint and update_endpoint."""
        return {
            "endpoints": self.endpoints,
            "accounts": wiring.accounts,
            "cipher": self.cipher,
            "resolver": self.resolver,
            "verifier": self.verifier,
            "allow_private_targets": self.allow_private_targets,
        }


@cache
def outbound() -> Outbound:
    """Built on first use, as the management API builds its ports (deps.py): the HTTP client and the
    resolver are imported by the Webhooks pages only."""
    from leadhub.outbound.adapters.dns_resolver import SystemResolver
    from leadhub.outbound.adapters.dynamodb_delivery_log import DynamoDeliveryLog
    from leadhub.outbound.adapters.dynamodb_endpoints import DynamoEndpointRepository
    from leadhub.outbound.adapters.pinned_http_sender import PinnedHttpSender
    from leadhub.outbound.adapters.sqs_delivery_queue import SqsDeliveryQueue
    from leadhub.outbound.endpoint_verification import handshake_verifier
    from leadhub.platform.adapters.kms_cipher import KmsCipher

    settings = wiring.settings
    resolver, http = SystemResolver(), PinnedHttpSender()
    allow_private = settings.allow_private_webhook_targets
    return Outbound(
        endpoints=DynamoEndpointRepository(settings.table_name),
        cipher=KmsCipher(settings.kms_key_id),
        resolver=resolver,
        verifier=handshake_verifier(resolver, http, allow_private=allow_private),
        http=http,
        log=DynamoDeliveryLog(settings.table_name),
        queue=SqsDeliveryQueue(settings.delivery_queue_url),
        allow_private_targets=allow_private,
        secret_overlap=timedelta(hours=settings.webhook_secret_overlap_hours),
        reads=ThreadPoolExecutor(max_workers=LOG_READERS, thread_name_prefix="leadhub-log"),
    )


def _path(endpoint_id: str, *rest: str) -> str:
    return "/".join([WEBHOOKS.path, endpoint_id, *rest])


def _endpoint(visit: Visit, endpoint_id: str) -> WebhookEndpoint:
    if len(endpoint_id) > MAX_ID_CHARS:
        raise NotFound("Webhook endpoint not found")
    return endpoints.get_endpoint(visit.principal, endpoint_id, endpoints=outbound().endpoints)


def _query(name: str) -> str | None:
    return router.current_event.get_query_string_value(name) or None


def _status_filter(value: str | None) -> DeliveryStatus | None:
    return DeliveryStatus(value) if value in set(DeliveryStatus) else None


def _back(form_value: str, endpoint_id: str) -> str:
    """Where an action returns to: the list, or the endpoint's page (the only two places with its buttons)."""
    return WEBHOOKS.path if form_value == "list" else _path(endpoint_id)


NOTICES = ("saved", "verified", "enabled", "disabled", "retried", "recovered")


def _notices() -> dict[str, str | None]:
    """What the action before the redirect did (its page says it once)."""
    return {name: _query(name) for name in NOTICES}


def _page_number(value: str | None) -> int:
    return int(value) if value and value.isdigit() and 0 < int(value) < 10_000 else 1


# -- the list ---------------------------------------------------------------------------------------


@router.get(WEBHOOKS.path)
def get_webhooks() -> Response[str]:
    visit = wiring.visit(router, WEBHOOKS)
    found = endpoints.list_endpoints(visit.principal, endpoints=outbound().endpoints)
    page_number = _page_number(_query("page"))
    start = (page_number - 1) * ENDPOINTS_PER_PAGE
    shown = found[start : start + ENDPOINTS_PER_PAGE]
    return wiring.show(
        visit,
        "webhooks.html",
        "Webhooks",
        endpoints=[(e, endpoint_state(e)) for e in shown],
        page_number=page_number,
        more=len(found) > start + ENDPOINTS_PER_PAGE,
        wanted=_status_filter(_query("status")),
        deleted=_query("deleted") == "1",
        notices=_notices(),
    )


# -- add and edit -----------------------------------------------------------------------------------


def _managed_accounts(visit: Visit) -> list[Account]:
    """An agency's managed accounts (for its endpoints' account filter); empty for any other account."""
    return wiring.accounts.list_managed_accounts(visit.principal.account_id, MANAGED_ACCOUNTS_SHOWN).items


def _form_page(
    visit: Visit,
    form: EndpointForm,
    endpoint: WebhookEndpoint | None,
    managed: list[Account],
    status: int = 200,
    errors: dict[str, str] | None = None,
) -> Response[str]:
    title = f"Edit “{endpoint.name}”" if endpoint else "Add an endpoint"
    return wiring.show(
        visit,
        "webhook_form.html",
        title,
        status,
        form=form,
        endpoint=endpoint,
        managed=managed,
        errors=errors or {},
        events=SUBSCRIBABLE_EVENTS,
        placeholders=PLACEHOLDERS,
        preview=preview_payload(form.payload_template, visit.principal.account_id, utc_now()),
    )


@router.get(NEW_PATH)
def get_new_endpoint() -> Response[str]:
    visit = wiring.visit(router, WEBHOOKS)
    return _form_page(visit, EndpointForm(), None, _managed_accounts(visit))


@router.post(NEW_PATH)
def post_new_endpoint() -> Response[str]:
    from leadhub.outbound.request_models import EndpointCreateRequest  # pydantic: only when a form is saved

    visit, posted = wiring.change(router, WEBHOOKS, max_form_bytes=ENDPOINT_FORM_BYTES)
    form, managed = EndpointForm.read(posted), _managed_accounts(visit)
    if posted.get("intent") == "preview":
        return _form_page(visit, form, None, managed)
    try:
        body = form.request_body(creating=True, agency=bool(managed), stored_headers={})
        request = validated(EndpointCreateRequest, body)
        created, secret = endpoints.create_endpoint(
            visit.principal, request.changes(), utc_now(), **outbound().managing()
        )
    except InvalidRequest as exc:
        return _form_page(visit, form, None, managed, 400, form_errors(exc))
    except Forbidden as exc:  # the plan's endpoint limit
        return _form_page(visit, form, None, managed, 403, {"body": exc.message})
    return _secret_page(visit, created, secret, created_now=True)


@router.get(f"{WEBHOOKS.path}/<endpointId>/edit")
def get_edit_endpoint(endpointId: str) -> Response[str]:
    visit = wiring.visit(router, WEBHOOKS)
    endpoint = _endpoint(visit, endpointId)
    return _form_page(visit, EndpointForm.of(endpoint), endpoint, _managed_accounts(visit))


@router.post(f"{WEBHOOKS.path}/<endpointId>/edit")
def post_edit_endpoint(endpointId: str) -> Response[str]:
    from leadhub.outbound.request_models import EndpointRequest  # pydantic: only when a form is saved

    visit, posted = wiring.change(router, WEBHOOKS, max_form_bytes=ENDPOINT_FORM_BYTES)
    endpoint = _endpoint(visit, endpointId)
    form, managed = EndpointForm.read(posted), _managed_accounts(visit)
    if posted.get("intent") == "preview":
        return _form_page(visit, form, endpoint, managed)
    out = outbound()
    try:
        stored = endpoints.custom_headers(endpoint, out.cipher) if form.headers_changed() else None
        body = form.request_body(creating=False, agency=bool(managed), stored_headers=stored)
        request = validated(EndpointRequest, body)
        endpoints.update_endpoint(visit.principal, endpointId, request.changes(), utc_now(), **out.managing())
    except InvalidRequest as exc:
        return _form_page(visit, form, endpoint, managed, 400, form_errors(exc))
    return redirect(f"{_path(endpointId)}?saved=1")


@router.post(PREVIEW_PATH)
def post_preview() -> Response[str]:
    """The live preview (our script posts the template as it is typed): the body a delivery would carry."""
    visit, posted = wiring.change(router, WEBHOOKS, max_form_bytes=ENDPOINT_FORM_BYTES)
    preview = preview_payload(posted.get("payloadTemplate"), visit.principal.account_id, utc_now())
    body = {"body": preview.body, "error": preview.error, "templated": preview.templated}
    return Response(200, "application/json", json.dumps(body))


# -- the secret -------------------------------------------------------------------------------------


def _secret_page(visit: Visit, endpoint: WebhookEndpoint, secret: str, *, created_now: bool) -> Response[str]:
    title = "Endpoint added" if created_now else "Secret rotated"
    return wiring.show(
        visit,
        "webhook_secret.html",
        title,
        201 if created_now else 200,
        endpoint=endpoint,
        state=endpoint_state(endpoint),
        secret=secret,
        created_now=created_now,
    )


@router.get(f"{WEBHOOKS.path}/<endpointId>/rotate-secret")
def get_rotate_secret(endpointId: str) -> Response[str]:
    visit = wiring.visit(router, WEBHOOKS)
    endpoint = _endpoint(visit, endpointId)
    return _rotate_page(visit, endpoint)


def _rotate_page(visit: Visit, endpoint: WebhookEndpoint, status: int = 200, **errors: str) -> Response[str]:
    return wiring.show(
        visit, "webhook_rotate.html", "Rotate the signing secret", status, endpoint=endpoint, errors=errors
    )


@router.post(f"{WEBHOOKS.path}/<endpointId>/rotate-secret")
def post_rotate_secret(endpointId: str) -> Response[str]:
    from leadhub.outbound.request_models import RotateSecretRequest  # pydantic: only when a form is saved

    visit, posted = wiring.change(router, WEBHOOKS)
    endpoint = _endpoint(visit, endpointId)
    try:
        request = validated(RotateSecretRequest, {"secret": posted.get("secret").strip() or None})
        out = outbound()
        rotated, secret = endpoints.rotate_secret(
            visit.principal,
            endpointId,
            utc_now(),
            request.secret,
            endpoints=out.endpoints,
            cipher=out.cipher,
            secret_overlap=out.secret_overlap,
        )
    except InvalidRequest as exc:
        return _rotate_page(visit, endpoint, 400, **form_errors(exc))
    return _secret_page(visit, rotated, secret, created_now=False)


# -- verify, enable/disable, test, delete -----------------------------------------------------------


@router.post(f"{WEBHOOKS.path}/<endpointId>/verify")
def post_verify(endpointId: str) -> Response[str]:
    visit, posted = wiring.change(router, WEBHOOKS)
    out = outbound()
    endpoints.verify_endpoint(
        visit.principal,
        endpointId,
        utc_now(),
        endpoints=out.endpoints,
        cipher=out.cipher,
        verifier=out.verifier,
    )
    return redirect(f"{_back(posted.get('back'), endpointId)}?verified={endpointId}")


@router.post(f"{WEBHOOKS.path}/<endpointId>/enabled")
def post_enabled(endpointId: str) -> Response[str]:
    from leadhub.outbound.request_models import EndpointRequest  # pydantic: only when a form is saved

    visit, posted = wiring.change(router, WEBHOOKS)
    request = validated(EndpointRequest, {"enabled": posted.get("enabled")})
    endpoints.update_endpoint(
        visit.principal, endpointId, request.changes(), utc_now(), **outbound().managing()
    )
    change = "enabled" if request.enabled else "disabled"
    return redirect(f"{_back(posted.get('back'), endpointId)}?{change}={endpointId}")


@router.post(f"{WEBHOOKS.path}/<endpointId>/test")
def post_test(endpointId: str) -> Response[str]:
    visit, _ = wiring.change(router, WEBHOOKS)
    out = outbound()
    result = send_test_event(
        visit.principal,
        endpointId,
        utc_now(),
        endpoints=out.endpoints,
        cipher=out.cipher,
        resolver=out.resolver,
        allow_private_targets=out.allow_private_targets,
        http=out.http,
    )
    return _endpoint_page(visit, endpointId, test=result)


@router.get(f"{WEBHOOKS.path}/<endpointId>/test")
def get_test(endpointId: str) -> Response[str]:
    """A reload of the page a test answered with (its address): the endpoint's page, without sending again."""
    endpoint = _endpoint(wiring.visit(router, WEBHOOKS), endpointId)
    return redirect(_path(endpoint.endpoint_id))


@router.get(f"{WEBHOOKS.path}/<endpointId>/delete")
def get_delete(endpointId: str) -> Response[str]:
    visit = wiring.visit(router, WEBHOOKS)
    endpoint = _endpoint(visit, endpointId)
    return wiring.show(visit, "webhook_delete.html", "Delete an endpoint", endpoint=endpoint)


@router.post(f"{WEBHOOKS.path}/<endpointId>/delete")
def post_delete(endpointId: str) -> Response[str]:
    visit, _ = wiring.change(router, WEBHOOKS)
    endpoints.delete_endpoint(visit.principal, endpointId, utc_now(), endpoints=outbound().endpoints)
    return redirect(f"{WEBHOOKS.path}?deleted=1")


# -- the delivery log -------------------------------------------------------------------------------


def _endpoint_page(
    visit: Visit,
    endpoint_id: str,
    status: int = 200,
    test: TestResult | None = None,
    recover: dict[str, Any] | None = None,
) -> Response[str]:
    shown = _status_filter(_query("status"))
    cursor = _query("cursor")
    if cursor is not None and len(cursor) > MAX_CURSOR_CHARS:
        raise InvalidRequest("Invalid cursor", [FieldError("cursor", "not a cursor of this listing")])
    out = outbound()
    reading = out.reads.submit(_endpoint, visit, endpoint_id)  # while the log is read (it checks it too)
    log = delivery_log(
        visit.principal,
        endpoint_id,
        shown,
        cursor,
        endpoints=out.endpoints,
        log=out.log,
        map_over=out.reads.map,
    )
    endpoint = reading.result()
    now = utc_now()
    query = urlencode({k: v for k, v in (("status", shown), ("cursor", cursor)) if v})
    return wiring.show(
        visit,
        "webhook_endpoint.html",
        endpoint.name,
        status,
        endpoint=endpoint,
        state=endpoint_state(endpoint),
        log=log,
        shown=shown,
        statuses=[str(s) for s in DeliveryStatus],
        first_page=cursor is None,
        request_path=f"{_path(endpoint_id)}?{query}" if query else _path(endpoint_id),
        test=test,
        recover={
            "since": (now - RECOVER_DEFAULT).strftime("%Y-%m-%dT%H:%M"),
            "includeSkipped": False,
            "errors": {},
            **(recover or {}),
        },
        earliest=(now - deliveries.RECOVER_WINDOW).strftime("%Y-%m-%dT%H:%M"),
        latest=now.strftime("%Y-%m-%dT%H:%M"),
        notices=_notices(),
    )


@router.get(f"{WEBHOOKS.path}/<endpointId>")
def get_endpoint(endpointId: str) -> Response[str]:
    return _endpoint_page(wiring.visit(router, WEBHOOKS), endpointId)


@router.get(f"{WEBHOOKS.path}/<endpointId>/deliveries/<deliveryId>")
def get_delivery(endpointId: str, deliveryId: str) -> Response[str]:
    visit = wiring.visit(router, WEBHOOKS)
    endpoint = _endpoint(visit, endpointId)
    delivery, attempts = deliveries.get_delivery(visit.principal, deliveryId, log=outbound().log)
    if delivery.endpoint_id != endpoint.endpoint_id:
        raise NotFound("Delivery not found")
    payload = json.dumps(delivery.envelope, indent=2, ensure_ascii=False)
    return wiring.show(
        visit,
        "webhook_delivery.html",
        f"Delivery {delivery.delivery_id}",
        endpoint=endpoint,
        delivery=delivery,
        attempts=attempts,
        payload=payload,
    )


@router.post(f"{WEBHOOKS.path}/<endpointId>/deliveries/<deliveryId>/retry")
def post_retry(endpointId: str, deliveryId: str) -> Response[str]:
    visit, _ = wiring.change(router, WEBHOOKS)
    out = outbound()
    delivery, _ = deliveries.get_delivery(visit.principal, deliveryId, log=out.log)
    if delivery.endpoint_id != endpointId:
        raise NotFound("Delivery not found")
    deliveries.retry_delivery(visit.principal, deliveryId, log=out.log, queue=out.queue)
    # The whole log, not a status filter: the retried delivery stays in sight whatever its outcome.
    return redirect(f"{_path(endpointId)}?retried={deliveryId}")


@router.post(f"{WEBHOOKS.path}/<endpointId>/recover")
def post_recover(endpointId: str) -> Response[str]:
    from leadhub.outbound.request_models import RecoverRequest  # pydantic: only when a form is saved

    visit, posted = wiring.change(router, WEBHOOKS)
    entered = {"since": posted.get("since"), "includeSkipped": posted.get("includeSkipped") == "true"}
    out = outbound()
    try:
        request = validated(RecoverRequest, entered)
        count = deliveries.recover_deliveries(
            visit.principal,
            endpointId,
            request.since,
            utc_now(),
            include_skipped=request.includeSkipped,
            endpoints=out.endpoints,
            log=out.log,
            queue=out.queue,
        )
    except InvalidRequest as exc:
        return _endpoint_page(visit, endpointId, 400, recover={**entered, "errors": form_errors(exc)})
    except Conflict as exc:  # disabled or unverified: they would only be skipped again
        return _endpoint_page(visit, endpointId, 409, recover={**entered, "errors": {"body": exc.message}})
    return redirect(f"{_path(endpointId)}?recovered={count}")
