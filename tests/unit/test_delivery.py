"""One delivery attempt with in-memory ports: signed request, schedule and Retry-After, last attempt,
manual retries, 410, skipped endpoints, already-delivered messages, attempt log, auto-disable."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from standardwebhooks.webhooks import Webhook

from leadhub.outbound.batch_stores import BatchDeliveries, BatchEndpoints
from leadhub.outbound.delivery_attempt import (
    GONE_REASON,
    INTERRUPTED_REASON,
    AttemptResult,
    DeliveryConfig,
    Disposition,
    attempt_delivery,
)
from leadhub.outbound.endpoints import headers_context, secret_context
from leadhub.outbound.models import (
    Attempt,
    Delivery,
    DeliveryJob,
    DeliveryStatus,
    EndpointSecret,
    Verification,
    WebhookEndpoint,
    delivery_id_for,
)
from leadhub.outbound.payload_template import validate_template
from leadhub.outbound.ports import HttpOutcome, SafeTarget
from leadhub.outbound.signing import new_endpoint_secret, verify_leadhub_signature
from leadhub.platform.decryption_cache import DecryptionCache
from leadhub.platform.retry_schedule import parse_schedule
from leadhub.platform.settings import DeliveryWorkerSettings, SettingsError, load_settings
from leadhub.platform.timestamps import from_iso, to_iso
from tests.fakes import ContextBoundCipher, InMemoryEndpoints, StaticResolver

OWNER = "acc_owner"
ENDPOINT_ID = "wep_1"
URL = "https://crm.example.com/hooks?src=leadhub"
RESOLVER_ANSWERS = {"crm.example.com": ["93.184.215.14"]}
ENVELOPE = {
    "id": "evt_1",
    "event": "lead.created",
    "timestamp": "2026-11-23T09:00:00.000Z",
    "accountId": "acc_source",
    "data": {"leadId": "lead_1", "name": "Zoë O'Neil", "phone": "+14155552671", "tags": ["a", "b"]},
}
NO_JITTER = DeliveryConfig(jitter=0.0)


# --- fakes ---------------------------------------------------------------------------------------------


@dataclass
class SentRequest:
    target: SafeTarget
    body: bytes
    headers: dict[str, str]
    timeout_s: float


class ScriptedHttp:
    """An `HttpPost` answering with scripted outcomes (the last one repeats), recording every request."""

    def __init__(self, *outcomes: HttpOutcome) -> None:
        self.outcomes = list(outcomes) or [HttpOutcome(status=200, duration_ms=12.5)]
        self.requests: list[SentRequest] = []

    def post(
        self, target: SafeTarget, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> HttpOutcome:
        self.requests.append(SentRequest(target, body, dict(headers), timeout_s))
        return self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]


class InMemoryDeliveryLog:
    def __init__(self) -> None:
        self.deliveries: dict[tuple[str, str], Delivery] = {}
        self.attempt_log: list[Attempt] = []
        self.crash_on_record = False  # the worker dies after the request, before the attempt is stored

    def get(self, account_id: str, delivery_id: str) -> Delivery | None:
        return self.deliveries.get((account_id, delivery_id))

    def save(self, delivery: Delivery) -> None:
        self.deliveries[(delivery.account_id, delivery.delivery_id)] = delivery

    def record_attempt(self, delivery: Delivery, attempt: Attempt) -> Delivery:
        if self.crash_on_record:
            raise RuntimeError("the execution environment died")
        updated = replace(delivery, updated_at=attempt.at)
        self.save(updated)
        self.attempt_log.append(attempt)
        return updated


class LosingEndpoints(InMemoryEndpoints):
    """Every write loses to a concurrent writer (the API edits the endpoint meanwhile)."""

    def __init__(self) -> None:
        super().__init__()
        self.lost = 0

    def replace(self, endpoint: WebhookEndpoint, expected_version: int) -> bool:
        key = (endpoint.account_id, endpoint.endpoint_id)
        current = self.endpoints[key]
        self.endpoints[key] = replace(current, version=current.version + 1)
        self.lost += 1
        return False


class CountingCipher(ContextBoundCipher):
    def __init__(self) -> None:
        self.decryptions = 0

    def decrypt(self, ciphertext: bytes, context: Mapping[str, str]) -> str:
        self.decryptions += 1
        return super().decrypt(ciphertext, context)


# --- fixtures ------------------------------------------------------------------------------------------


@dataclass
class World:
    log: InMemoryDeliveryLog
    endpoints: InMemoryEndpoints
    http: ScriptedHttp
    resolver: StaticResolver
    cipher: ContextBoundCipher
    secret: str
    config: DeliveryConfig = NO_JITTER
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def attempt(
        self, job: DeliveryJob | None = None, receive_count: int = 1, now: datetime | None = None
    ) -> AttemptResult:
        return attempt_delivery(
            job or make_job(),
            receive_count,
            log=self.log,
            endpoints=self.endpoints,
            cipher=self.cipher,
            resolver=self.resolver,
            http=self.http,
            config=self.config,
            now=now or real_now(),
            rng=self.rng,
        )

    def endpoint(self) -> WebhookEndpoint:
        return self.endpoints.endpoints[(OWNER, ENDPOINT_ID)]

    def set_endpoint(self, **changes: object) -> None:
        self.endpoints.endpoints[(OWNER, ENDPOINT_ID)] = replace(self.endpoint(), **changes)

    def delivery(self, delivery_id: str | None = None) -> Delivery:
        return self.log.deliveries[(OWNER, delivery_id or make_job().delivery_id)]


def real_now() -> datetime:
    # Signatures are checked by standardwebhooks against the real clock (5 minutes tolerance).
    return datetime.now(UTC)


def make_job(manual: bool = False, envelope: dict | None = None) -> DeliveryJob:
    envelope = envelope or ENVELOPE
    return DeliveryJob(delivery_id_for(envelope["id"], ENDPOINT_ID), OWNER, ENDPOINT_ID, envelope, manual)


def make_endpoint(cipher: ContextBoundCipher, secret: str, **changes: object) -> WebhookEndpoint:
    stamp = "2026-11-01T00:00:00.000Z"
    endpoint = WebhookEndpoint(
        account_id=OWNER,
        endpoint_id=ENDPOINT_ID,
        name="CRM",
        url=URL,
        secrets=(EndpointSecret(cipher.encrypt(secret, secret_context(OWNER, ENDPOINT_ID)), stamp),),
        created_at=stamp,
        updated_at=stamp,
        verification=Verification.VERIFIED,
        verified_at=stamp,
    )
    return replace(endpoint, **changes)


def with_headers(
    endpoint: WebhookEndpoint, cipher: ContextBoundCipher, headers: dict[str, str]
) -> WebhookEndpoint:
    return replace(
        endpoint,
        header_names=tuple(headers),
        headers_ciphertext=cipher.encrypt(json.dumps(headers), headers_context(OWNER, ENDPOINT_ID)),
    )


def stored_delivery(status: DeliveryStatus = DeliveryStatus.PENDING, **changes: object) -> Delivery:
    job = make_job()
    delivery = Delivery(
        account_id=OWNER,
        delivery_id=job.delivery_id,
        endpoint_id=ENDPOINT_ID,
        event_id="evt_1",
        event="lead.created",
        source_account_id="acc_source",
        created_at="2026-11-23T09:00:00.000Z",
        updated_at="2026-11-23T09:00:00.000Z",
        envelope=ENVELOPE,
        status=status,
        enqueued=True,
    )
    return replace(delivery, **changes)


@pytest.fixture
def world() -> World:
    cipher = CountingCipher()
    secret = new_endpoint_secret()
    endpoints = InMemoryEndpoints()
    endpoint = make_endpoint(cipher, secret)
    endpoints.endpoints[(OWNER, ENDPOINT_ID)] = endpoint
    log = InMemoryDeliveryLog()
    log.save(stored_delivery())
    return World(log, endpoints, ScriptedHttp(), StaticResolver(RESOLVER_ANSWERS), cipher, secret)


def failure(status: int | None = 500, **fields: object) -> HttpOutcome:
    return HttpOutcome(status=status, **{"duration_ms": 8.0, **fields})  # type: ignore[arg-type]


# --- the request ---------------------------------------------------------------------------------------


def test_a_2xx_delivers_once_with_a_signed_envelope(world: World) -> None:
    world.http = ScriptedHttp(HttpOutcome(status=204, body_snippet=b"ok", duration_ms=42.0))
    now = real_now()
    result = world.attempt(now=now)

    assert result.disposition is Disposition.DELIVERED and result.done
    assert result.visibility_timeout is None and result.status_code == 204 and result.attempt == 1
    [request] = world.http.requests
    assert request.body == json.dumps(ENVELOPE, ensure_ascii=False, separators=(",", ":")).encode()
    assert request.target.url == URL and request.target.addresses == ("93.184.215.14",)
    assert request.timeout_s == 15.0
    headers = request.headers
    # The official Standard Webhooks library accepts what we send.
    assert Webhook(world.secret).verify(request.body, headers) == ENVELOPE
    assert headers["webhook-id"] == make_job().delivery_id
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert headers["X-Leadhub-Delivery-Id"] == make_job().delivery_id
    assert headers["X-Leadhub-Event"] == "lead.created"
    assert verify_leadhub_signature(world.secret, request.body, headers["X-Leadhub-Signature"])
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == "Leadhub-Webhooks/1.0"

    delivery = world.delivery()
    assert delivery.status is DeliveryStatus.DELIVERED and delivery.attempts == 1
    assert delivery.last_status_code == 204 and delivery.last_error is None
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
    [attempt] = world.log.attempt_log
    assert attempt == Attempt(
        delivery_id=make_job().delivery_id,
        number=1,
        at=to_iso(now),
        duration_ms=42.0,
        status_code=204,
        error_class=None,
        response_snippet="ok",
        next_attempt_at=None,
        manual=False,
    )


def test_the_timeout_comes_from_the_configuration(world: World) -> None:
    world.config = DeliveryConfig(timeout_s=2.5)
    world.attempt()
    assert world.http.requests[0].timeout_s == 2.5


def test_the_payload_template_is_rendered_and_signed(world: World) -> None:
    template = validate_template(
        '{"contact": {"full_name": "{{name}}", "first": "{{firstName}}"}, "e": "{{event}}"}'
    )
    world.set_endpoint(payload_template=template)
    world.attempt()
    [request] = world.http.requests
    assert json.loads(request.body) == {
        "contact": {"full_name": "Zoë O'Neil", "first": "Zoë"},
        "e": "lead.created",
    }
    assert Webhook(world.secret).verify(request.body, request.headers)


def test_custom_headers_are_decrypted_and_cannot_replace_ours(world: World) -> None:
    headers = {"Authorization": "Bearer crm-token", "X-Tenant": "42", "webhook-id": "forged"}
    world.endpoints.endpoints[(OWNER, ENDPOINT_ID)] = with_headers(world.endpoint(), world.cipher, headers)
    world.attempt()
    sent = world.http.requests[0].headers
    assert sent["Authorization"] == "Bearer crm-token" and sent["X-Tenant"] == "42"
    assert "forged" not in sent.values() and sent["webhook-id"] == make_job().delivery_id


def test_during_a_rotation_both_secrets_sign_and_an_expired_one_does_not(world: World) -> None:
    now = real_now()
    old, expired = new_endpoint_secret(), new_endpoint_secret()
    context = secret_context(OWNER, ENDPOINT_ID)
    world.set_endpoint(
        secrets=(
            world.endpoint().secrets[0],
            EndpointSecret(
                world.cipher.encrypt(old, context),
                "2026-11-01T00:00:00.000Z",
                to_iso(now + timedelta(hours=1)),
            ),
            EndpointSecret(
                world.cipher.encrypt(expired, context),
                "2026-10-01T00:00:00.000Z",
                to_iso(now - timedelta(hours=1)),
            ),
        )
    )
    world.attempt(now=now)
    request = world.http.requests[0]
    assert len(request.headers["webhook-signature"].split()) == 2
    for secret in (world.secret, old):
        assert Webhook(secret).verify(request.body, request.headers)
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(expired).verify(request.body, request.headers)


def test_the_webhook_id_is_stable_across_retries_and_the_timestamp_is_each_attempts(world: World) -> None:
    world.http = ScriptedHttp(failure(500), HttpOutcome(status=200))
    first, second = real_now() - timedelta(seconds=90), real_now()
    world.attempt(receive_count=1, now=first)
    world.attempt(receive_count=2, now=second)
    ids = [r.headers["webhook-id"] for r in world.http.requests]
    stamps = [r.headers["webhook-timestamp"] for r in world.http.requests]
    assert ids == [make_job().delivery_id] * 2
    assert stamps == [str(int(first.timestamp())), str(int(second.timestamp()))]
    for request in world.http.requests:
        assert Webhook(world.secret).verify(request.body, request.headers)


def test_a_missing_delivery_record_is_rebuilt_from_the_job(world: World) -> None:
    world.log.deliveries.clear()
    world.attempt()
    delivery = world.delivery()
    assert delivery.status is DeliveryStatus.DELIVERED
    assert (delivery.event_id, delivery.event, delivery.source_account_id) == (
        "evt_1",
        "lead.created",
        "acc_source",
    )
    assert delivery.envelope == ENVELOPE and delivery.endpoint_id == ENDPOINT_ID


# --- never twice, or not at all ------------------------------------------------------------------------


@pytest.mark.parametrize("manual", [False, True])
def test_an_already_delivered_delivery_is_never_sent_again(world: World, manual: bool) -> None:
    world.log.save(stored_delivery(DeliveryStatus.DELIVERED, attempts=1))
    result = world.attempt(make_job(manual=manual), receive_count=2)
    assert result.disposition is Disposition.ALREADY_DELIVERED and result.done
    assert world.http.requests == [] and world.log.attempt_log == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"enabled": False, "disabled_reason": "api"}, "endpoint disabled through the API"),
        ({"verification": Verification.FAILED}, "endpoint not verified"),
        ({"verification": Verification.PENDING}, "endpoint not verified"),
        (None, "endpoint deleted"),
    ],
)
def test_an_inactive_endpoint_skips_the_delivery(world: World, change: dict | None, reason: str) -> None:
    if change is None:
        world.endpoints.endpoints.clear()
    else:
        world.set_endpoint(**change)
    result = world.attempt()
    assert result.disposition is Disposition.SKIPPED and result.done and result.reason == reason
    assert world.http.requests == [] and world.log.attempt_log == []
    delivery = world.delivery()
    assert delivery.status is DeliveryStatus.SKIPPED and delivery.last_error == reason


def test_a_manual_retry_to_a_disabled_endpoint_keeps_the_failed_status(world: World) -> None:
    world.log.save(stored_delivery(DeliveryStatus.FAILED, attempts=8))
    world.set_endpoint(enabled=False)
    result = world.attempt(make_job(manual=True))
    assert result.disposition is Disposition.SKIPPED and result.done
    assert world.delivery().status is DeliveryStatus.FAILED and world.http.requests == []


# --- failures and the schedule -------------------------------------------------------------------------


def test_a_failure_is_retried_at_the_next_step_and_logged(world: World) -> None:
    world.http = ScriptedHttp(failure(500, body_snippet=b'{"error":"db down"}', duration_ms=30.0))
    now = real_now()
    result = world.attempt(receive_count=1, now=now)
    assert result.disposition is Disposition.RETRY and not result.done
    assert result.visibility_timeout == 5  # "0s,5s,...": attempt 2 five seconds after attempt 1
    delivery = world.delivery()
    assert delivery.status is DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.last_status_code == 500 and delivery.last_error == "HTTP 500"
    [attempt] = world.log.attempt_log
    assert attempt.status_code == 500 and attempt.response_snippet == '{"error":"db down"}'
    assert attempt.next_attempt_at == delivery.next_attempt_at
    expected = now + timedelta(milliseconds=30) + timedelta(seconds=5)
    assert abs(from_iso(attempt.next_attempt_at) - expected) < timedelta(milliseconds=2)


def test_the_default_schedule_then_the_dlq(world: World) -> None:
    world.http = ScriptedHttp(failure(503))
    delays = [world.attempt(receive_count=n).visibility_timeout for n in range(1, 8)]
    assert delays == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert [a.number for a in world.log.attempt_log] == list(range(1, 8))
    assert world.delivery().status is DeliveryStatus.PENDING

    last = world.attempt(receive_count=8)
    assert last.disposition is Disposition.EXHAUSTED and not last.done
    assert last.visibility_timeout == 0  # visible at once: the next receive moves it to the DLQ
    delivery = world.delivery()
    assert (
        delivery.status is DeliveryStatus.FAILED
        and delivery.attempts == 8
        and delivery.next_attempt_at is None
    )
    assert world.log.attempt_log[-1].next_attempt_at is None


def test_a_receive_beyond_the_schedule_is_exhausted_too(world: World) -> None:
    world.http = ScriptedHttp(failure(500))
    assert world.attempt(receive_count=12).disposition is Disposition.EXHAUSTED


def test_a_shrunk_schedule_from_settings(world: World) -> None:
    world.config = DeliveryConfig(schedule=parse_schedule("0s,1s,2s"), jitter=0.0)
    world.http = ScriptedHttp(failure(500))
    results = [world.attempt(receive_count=n) for n in (1, 2, 3)]
    assert [r.visibility_timeout for r in results] == [1, 2, 0]
    assert results[-1].disposition is Disposition.EXHAUSTED


def test_jitter_stays_within_bounds(world: World) -> None:
    world.config = DeliveryConfig(jitter=0.2)
    world.http = ScriptedHttp(failure(500))
    delays = {world.attempt(receive_count=3).visibility_timeout for _ in range(40)}
    assert len(delays) > 5 and all(1440 <= d <= 2160 for d in delays)  # 30 min ± 20 %


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [("120", 120), ("1", 5), ("garbage", 5), (None, 5)],
)
def test_retry_after_lengthens_but_never_shortens_the_wait(
    world: World, retry_after: str | None, expected: int
) -> None:
    headers = {} if retry_after is None else {"retry-after": retry_after}
    world.http = ScriptedHttp(failure(429, headers=headers))
    result = world.attempt(receive_count=1)
    assert result.disposition is Disposition.RETRY and result.visibility_timeout == expected


def test_retry_after_as_an_http_date(world: World) -> None:
    now = real_now()
    world.http = ScriptedHttp(
        failure(503, headers={"retry-after": format_datetime(now + timedelta(minutes=10), usegmt=True)})
    )
    result = world.attempt(receive_count=1, now=now)
    assert 595 <= result.visibility_timeout <= 601


@pytest.mark.parametrize("status", [301, 308, 400, 401, 404, 429, 500, 502])
def test_every_other_status_is_a_failed_attempt(world: World, status: int) -> None:
    world.http = ScriptedHttp(failure(status, headers={"location": "https://elsewhere.example/"}))
    result = world.attempt()
    assert result.disposition is Disposition.RETRY and result.status_code == status
    assert len(world.http.requests) == 1  # a redirect is never followed
    assert world.delivery().last_error == f"HTTP {status}"


@pytest.mark.parametrize("error_class", ["timeout", "reset", "tls_error", "connect_error"])
def test_network_failures_are_retried_with_their_error_class(world: World, error_class: str) -> None:
    world.http = ScriptedHttp(failure(None, error_class=error_class, error_detail="details"))
    result = world.attempt()
    assert result.disposition is Disposition.RETRY and result.error_class == error_class
    [attempt] = world.log.attempt_log
    assert attempt.status_code is None and attempt.error_class == error_class
    assert world.delivery().last_error == f"{error_class}: details"


def test_a_url_that_now_resolves_to_a_private_address_is_refused_without_a_request(world: World) -> None:
    world.resolver = StaticResolver({"crm.example.com": ["10.0.0.7"]})
    result = world.attempt()
    assert result.disposition is Disposition.RETRY and result.error_class == "blocked_address"
    assert world.http.requests == []
    [attempt] = world.log.attempt_log
    assert attempt.error_class == "blocked_address" and attempt.status_code is None
    assert "private address" in (world.delivery().last_error or "")


def test_a_host_that_does_not_resolve_is_a_dns_error(world: World) -> None:
    world.resolver = StaticResolver({})
    assert world.attempt().error_class == "dns_error"
    assert world.http.requests == []


def test_loopback_targets_only_with_the_dev_setting(world: World) -> None:
    world.set_endpoint(url="http://127.0.0.1:8080/hook")
    assert world.attempt().error_class == "blocked_address"
    world.config = DeliveryConfig(allow_private_targets=True)
    assert world.attempt(receive_count=2).disposition is Disposition.DELIVERED
    assert world.http.requests[0].target.addresses == ("127.0.0.1",)


def test_the_response_snippet_is_at_most_1_kib_decoded_leniently(world: World) -> None:
    world.http = ScriptedHttp(failure(500, body_snippet=b"\xff\xfe" + "é".encode() * 600))
    world.attempt()
    snippet = world.log.attempt_log[0].response_snippet
    assert snippet.startswith("\ufffd\ufffdé") and len(snippet) <= 1024


# --- 410 and manual retries ----------------------------------------------------------------------------


def test_410_disables_the_endpoint_and_finishes(world: World) -> None:
    world.http = ScriptedHttp(failure(410))
    before = world.endpoint()
    result = world.attempt(receive_count=3)
    assert result.disposition is Disposition.GONE and result.done
    endpoint = world.endpoint()
    assert not endpoint.enabled and endpoint.disabled_reason == GONE_REASON
    assert endpoint.version == before.version + 1 and endpoint.url == before.url
    assert endpoint.secrets == before.secrets
    delivery = world.delivery()
    assert delivery.status is DeliveryStatus.FAILED and delivery.last_status_code == 410
    assert world.log.attempt_log[0].status_code == 410
    # The next delivery to it is skipped.
    assert world.attempt(make_job(envelope={**ENVELOPE, "id": "evt_2"})).disposition is Disposition.SKIPPED


def test_410_still_disables_after_losing_a_race_with_an_api_edit(world: World) -> None:
    world.http = ScriptedHttp(failure(410))
    endpoints = world.endpoints

    class OneLostRace(InMemoryEndpoints):
        lost = False

        def replace(self, endpoint: WebhookEndpoint, expected_version: int) -> bool:
            if not self.lost:
                self.lost = True
                current = self.endpoints[(OWNER, ENDPOINT_ID)]
                self.endpoints[(OWNER, ENDPOINT_ID)] = replace(
                    current, name="Renamed", version=current.version + 1
                )
                return False
            return super().replace(endpoint, expected_version)

    world.endpoints = OneLostRace()
    world.endpoints.endpoints = endpoints.endpoints
    world.attempt()
    endpoint = world.endpoint()
    assert not endpoint.enabled and endpoint.name == "Renamed" and endpoint.version == 3


def test_a_manual_retry_makes_one_attempt_and_never_reschedules(world: World) -> None:
    world.log.save(stored_delivery(DeliveryStatus.FAILED, attempts=8))
    world.http = ScriptedHttp(failure(500))
    # Even on a receive count past the schedule: never the DLQ.
    result = world.attempt(make_job(manual=True), receive_count=9)
    assert result.disposition is Disposition.MANUAL_FAILED and result.done
    assert result.visibility_timeout is None
    delivery = world.delivery()
    assert delivery.status is DeliveryStatus.FAILED and delivery.attempts == 9
    [attempt] = world.log.attempt_log
    assert attempt.manual and attempt.number == 9 and attempt.next_attempt_at is None


def test_a_manual_retry_that_succeeds_delivers(world: World) -> None:
    world.log.save(stored_delivery(DeliveryStatus.FAILED, attempts=8))
    result = world.attempt(make_job(manual=True))
    assert result.disposition is Disposition.DELIVERED
    assert world.delivery().status is DeliveryStatus.DELIVERED


# --- crash after send ----------------------------------------------------------------------------------


def test_a_crash_after_sending_sends_again_with_the_same_webhook_id(world: World) -> None:
    world.log.crash_on_record = True
    with pytest.raises(RuntimeError):
        world.attempt(receive_count=1)
    world.log.crash_on_record = False
    result = world.attempt(receive_count=2)
    assert result.disposition is Disposition.DELIVERED
    first, second = world.http.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == make_job().delivery_id
    assert [a.number for a in world.log.attempt_log] == [1]  # the crashed attempt was never recorded


def test_a_crash_during_the_last_attempt_leaves_the_delivery_failed_not_pending(world: World) -> None:
    world.http = ScriptedHttp(failure(503))
    world.log.crash_on_record = True
    with pytest.raises(RuntimeError):
        world.attempt(receive_count=8)  # its message goes to the DLQ at the next receive
    delivery = world.delivery()
    assert (delivery.status, delivery.next_attempt_at) == (DeliveryStatus.FAILED, None)
    assert delivery.last_error == INTERRUPTED_REASON


def test_a_last_attempt_that_finishes_records_its_own_outcome(world: World) -> None:
    assert world.attempt(receive_count=8).disposition is Disposition.DELIVERED
    delivery = world.delivery()
    assert (delivery.status, delivery.last_error) == (DeliveryStatus.DELIVERED, None)


def test_earlier_and_manual_attempts_are_not_marked_before_they_finish(world: World) -> None:
    world.log.crash_on_record = True
    for job, receive_count in ((make_job(), 7), (make_job(manual=True), 8)):
        with pytest.raises(RuntimeError):
            world.attempt(job, receive_count=receive_count)
        assert world.delivery().status is DeliveryStatus.PENDING


# --- auto-disable --------------------------------------------------------------------------------------


def exhaust(world: World, now: datetime, event_id: str) -> AttemptResult:
    world.http = ScriptedHttp(failure(500))
    return world.attempt(make_job(envelope={**ENVELOPE, "id": event_id}), receive_count=8, now=now)


def test_an_endpoint_failing_for_the_configured_period_is_disabled(world: World) -> None:
    world.config = DeliveryConfig(jitter=0.0, auto_disable_after=timedelta(hours=72))
    start = real_now()
    assert exhaust(world, start, "evt_a").disposition is Disposition.EXHAUSTED
    assert world.endpoint().failing_since == to_iso(start) and world.endpoint().enabled

    exhaust(world, start + timedelta(hours=71), "evt_b")
    assert world.endpoint().enabled and world.endpoint().failing_since == to_iso(start)

    exhaust(world, start + timedelta(hours=72), "evt_c")
    endpoint = world.endpoint()
    assert not endpoint.enabled and endpoint.disabled_reason.startswith("failing: ")
    assert endpoint.failing_since is None  # starts afresh when the customer enables it again


def test_any_success_clears_the_failing_period(world: World) -> None:
    start = real_now()
    exhaust(world, start, "evt_a")
    version = world.endpoint().version
    world.http = ScriptedHttp(HttpOutcome(status=200))
    world.attempt(make_job(envelope={**ENVELOPE, "id": "evt_b"}), now=start + timedelta(hours=1))
    assert world.endpoint().failing_since is None and world.endpoint().version == version + 1

    exhaust(world, start + timedelta(hours=80), "evt_c")
    assert world.endpoint().enabled and world.endpoint().failing_since is not None


def test_a_success_does_not_write_a_healthy_endpoint(world: World) -> None:
    version = world.endpoint().version
    world.attempt()
    assert world.endpoint().version == version


def test_a_lost_race_on_failing_since_is_ignored(world: World) -> None:
    losing = LosingEndpoints()
    losing.endpoints = world.endpoints.endpoints
    world.endpoints = losing
    result = exhaust(world, real_now(), "evt_a")
    assert result.disposition is Disposition.EXHAUSTED and losing.lost == 1
    assert world.endpoint().failing_since is None


# --- decryption cache ----------------------------------------------------------------------------------


def test_decryptions_are_cached_per_ciphertext_within_the_ttl() -> None:
    inner = CountingCipher()
    clock = [0.0]
    cache = DecryptionCache(inner, ttl_s=60, clock=lambda: clock[0])
    context = {"purpose": "x"}
    sealed = inner.encrypt("whsec_abc", context)
    assert [cache.decrypt(sealed, context) for _ in range(5)] == ["whsec_abc"] * 5
    assert inner.decryptions == 1
    with pytest.raises(ValueError):
        cache.decrypt(sealed, {"purpose": "other"})  # the context is part of the key
    clock[0] = 61
    cache.decrypt(sealed, context)
    assert inner.decryptions == 3


def test_the_decryption_cache_is_bounded() -> None:
    inner = CountingCipher()
    cache = DecryptionCache(inner, max_entries=3)
    for n in range(10):
        cache.decrypt(inner.encrypt(f"s{n}", {}), {})
    assert len(cache) == 3


def test_a_batch_to_one_endpoint_decrypts_its_secret_once(world: World) -> None:
    cipher = world.cipher
    world.cipher = DecryptionCache(cipher)  # type: ignore[assignment]
    for n in range(5):
        world.attempt(make_job(envelope={**ENVELOPE, "id": f"evt_{n}"}))
    assert cipher.decryptions == 1


# --- settings ------------------------------------------------------------------------------------------


def test_worker_settings_defaults_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"TABLE_NAME": "t", "KMS_KEY_ID": "k", "DELIVERY_QUEUE_URL": "https://q"}.items():
        monkeypatch.setenv(name, value)
    defaults = load_settings(DeliveryWorkerSettings)
    assert defaults.retry_schedule == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    assert defaults.delivery_timeout_seconds == 15 and defaults.delivery_retry_jitter == 0.2
    assert defaults.endpoint_auto_disable_hours == 72 and not defaults.allow_private_webhook_targets
    monkeypatch.setenv("DELIVERY_RETRY_SCHEDULE", "0s,1s,2s")
    monkeypatch.setenv("DELIVERY_TIMEOUT_SECONDS", "0.5")
    monkeypatch.setenv("ALLOW_PRIVATE_WEBHOOK_TARGETS", "true")
    custom = load_settings(DeliveryWorkerSettings)
    assert custom.retry_schedule == (0, 1, 2) and custom.delivery_timeout_seconds == 0.5
    assert custom.allow_private_webhook_targets
    monkeypatch.setenv("DELIVERY_RETRY_SCHEDULE", "5s,1m")
    with pytest.raises(SettingsError, match="DELIVERY_RETRY_SCHEDULE"):
        load_settings(DeliveryWorkerSettings)


# --- per-batch endpoint reads --------------------------------------------------------------------------


class CountingEndpoints(InMemoryEndpoints):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, account_id: str, endpoint_id: str) -> WebhookEndpoint | None:
        self.reads += 1
        return super().get(account_id, endpoint_id)


def test_a_batch_reads_each_endpoint_once_and_sees_its_own_writes(world: World) -> None:
    inner = CountingEndpoints()
    inner.endpoints = world.endpoints.endpoints
    world.endpoints = BatchEndpoints(inner)  # type: ignore[assignment]
    world.http = ScriptedHttp(HttpOutcome(status=200), failure(410))
    first = world.attempt(make_job(envelope={**ENVELOPE, "id": "evt_a"}))
    second = world.attempt(make_job(envelope={**ENVELOPE, "id": "evt_b"}))
    third = world.attempt(make_job(envelope={**ENVELOPE, "id": "evt_c"}))
    assert [first.disposition, second.disposition, third.disposition] == [
        Disposition.DELIVERED,
        Disposition.GONE,
        Disposition.SKIPPED,  # the 410's disable, written through the batch store, is what it sees
    ]
    assert inner.reads == 1


def test_concurrent_readers_of_a_batch_share_one_read() -> None:
    inner = CountingEndpoints()
    batch = BatchEndpoints(inner)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: batch.get(OWNER, "wep_missing"), range(32)))
    assert results == [None] * 32 and inner.reads == 1


class BatchDeliveryLog(InMemoryDeliveryLog):
    """Reads and writes several deliveries per request, like the DynamoDB adapter; counts requests."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.groups: list[list[str]] = []  # delivery ids per record_attempts call
        self.fail_groups = False
        self.write_requests = 0
        self.write_s = 0.0  # how long a write takes: attempts finishing meanwhile queue up

    def get(self, account_id: str, delivery_id: str) -> Delivery | None:
        self.reads += 1
        return super().get(account_id, delivery_id)

    def record_attempt(self, delivery: Delivery, attempt: Attempt) -> Delivery:
        self.write_requests += 1
        time.sleep(self.write_s)
        return super().record_attempt(delivery, attempt)

    def record_attempts(self, records: list[tuple[Delivery, Attempt]]) -> list[Delivery]:
        self.write_requests += 1
        self.groups.append([delivery.delivery_id for delivery, _ in records])
        time.sleep(self.write_s)
        if self.fail_groups:
            raise RuntimeError("transaction cancelled")
        return [InMemoryDeliveryLog.record_attempt(self, delivery, attempt) for delivery, attempt in records]


def test_remembered_endpoints_are_never_read_one_by_one() -> None:
    inner = CountingEndpoints()
    endpoint = replace(make_endpoint(ContextBoundCipher(), "s"), endpoint_id="wep_a")
    batch = BatchEndpoints(inner)
    batch.remember([(OWNER, "wep_a"), (OWNER, "wep_gone"), (OWNER, "wep_a")], {(OWNER, "wep_a"): endpoint})
    assert batch.get(OWNER, "wep_a") is endpoint
    assert batch.get(OWNER, "wep_gone") is None  # read together with the others and missing: not read again
    assert inner.reads == 0
    assert batch.get(OWNER, "wep_other") is None and inner.reads == 1  # not remembered: read on demand


def test_a_remembered_read_never_replaces_what_the_batch_wrote(world: World) -> None:
    log = BatchDeliveryLog()
    log.deliveries = world.log.deliveries
    batch_log = BatchDeliveries(log)
    key = (OWNER, make_job().delivery_id)
    world.log = batch_log  # type: ignore[assignment]
    assert world.attempt().disposition is Disposition.DELIVERED
    batch_log.remember([key], {key: stored_delivery()})  # an older read arriving late
    assert world.attempt().disposition is Disposition.ALREADY_DELIVERED


def test_a_remembered_batch_attempts_without_reading_per_record(world: World) -> None:
    log, endpoints = BatchDeliveryLog(), CountingEndpoints()
    log.deliveries, endpoints.endpoints = world.log.deliveries, world.endpoints.endpoints
    jobs = [make_job(envelope={**ENVELOPE, "id": f"evt_{n}"}) for n in range(4)]
    for job in jobs[1:]:
        log.save(replace(stored_delivery(), delivery_id=job.delivery_id))
    batch_log, batch_endpoints = BatchDeliveries(log), BatchEndpoints(endpoints)
    delivery_keys = [(job.account_id, job.delivery_id) for job in jobs]
    endpoint_keys = [(job.account_id, job.endpoint_id) for job in jobs]
    batch_log.remember(
        delivery_keys, {key: log.deliveries[key] for key in delivery_keys if key in log.deliveries}
    )
    batch_endpoints.remember(endpoint_keys, {key: endpoints.endpoints[key] for key in endpoint_keys})
    world.log, world.endpoints = batch_log, batch_endpoints  # type: ignore[assignment]
    results = [world.attempt(job) for job in jobs]
    assert [r.disposition for r in results] == [Disposition.DELIVERED] * 4
    assert log.reads == 0 and endpoints.reads == 0
    assert all(log.deliveries[(OWNER, job.delivery_id)].status is DeliveryStatus.DELIVERED for job in jobs)
    assert len(log.attempt_log) == 4


def test_a_batch_reader_sees_what_the_batch_wrote(world: World) -> None:
    log = BatchDeliveryLog()
    log.deliveries = world.log.deliveries
    batch_log = BatchDeliveries(log)
    key = (OWNER, make_job().delivery_id)
    batch_log.remember([key], {key: log.deliveries[key]})
    world.log = batch_log  # type: ignore[assignment]
    assert world.attempt().disposition is Disposition.DELIVERED
    # The same message received twice in one batch: the second sees the first's write, sends nothing.
    assert world.attempt().disposition is Disposition.ALREADY_DELIVERED
    assert len(world.http.requests) == 1 and log.reads == 0


def _attempt_for(delivery: Delivery, n: int = 1) -> Attempt:
    return Attempt(delivery.delivery_id, n, "2026-11-23T09:00:01.000Z", 12.0, 200, None, "ok", None)


def _deliveries(count: int) -> list[Delivery]:
    return [replace(stored_delivery(), delivery_id=f"msg_{n}") for n in range(count)]


def test_attempts_finishing_together_are_written_in_groups() -> None:
    log = BatchDeliveryLog()
    log.write_s = 0.05
    batch = BatchDeliveries(log)
    deliveries = _deliveries(10)
    with ThreadPoolExecutor(10) as pool:
        stored = list(pool.map(lambda d: batch.record_attempt(d, _attempt_for(d)), deliveries))
    assert [d.delivery_id for d in stored] == [d.delivery_id for d in deliveries]
    assert all(d.updated_at == "2026-11-23T09:00:01.000Z" for d in stored)
    assert sorted(a.delivery_id for a in log.attempt_log) == sorted(d.delivery_id for d in deliveries)
    # The first write goes alone; the attempts that finish while it is in flight go together.
    assert log.groups and log.write_requests <= 3


def test_a_group_never_holds_one_delivery_twice() -> None:
    log = BatchDeliveryLog()
    log.write_s = 0.05
    batch = BatchDeliveries(log)
    deliveries = _deliveries(2)

    def record(n: int) -> Delivery:
        delivery = deliveries[n % 2]  # each delivery three times (a message received more than once)
        return batch.record_attempt(delivery, _attempt_for(delivery, n))

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(record, range(6)))
    assert log.groups and all(len(set(group)) == len(group) for group in log.groups)
    assert sorted(a.number for a in log.attempt_log) == list(range(6))


def test_a_failed_group_is_written_again_one_attempt_at_a_time() -> None:
    class OneBadAttempt(BatchDeliveryLog):
        def record_attempt(self, delivery: Delivery, attempt: Attempt) -> Delivery:
            if delivery.delivery_id == "msg_3":
                raise RuntimeError("item too large")
            return super().record_attempt(delivery, attempt)

    log = OneBadAttempt()
    log.fail_groups, log.write_s = True, 0.05
    batch = BatchDeliveries(log)
    deliveries = _deliveries(8)

    def record(delivery: Delivery) -> str:
        try:
            return batch.record_attempt(delivery, _attempt_for(delivery)).delivery_id
        except RuntimeError as exc:
            return str(exc)

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(record, deliveries))
    assert log.groups and outcomes == [f"msg_{n}" if n != 3 else "item too large" for n in range(8)]
    assert sorted(a.delivery_id for a in log.attempt_log) == [f"msg_{n}" for n in range(8) if n != 3]
