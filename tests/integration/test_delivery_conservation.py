"""Conservation (issue 3 §8): 1,000 events fanned out to loopback endpoints that fail at random (500,
429 with `Retry-After: 0`, connection resets, answers slower than the timeout), with workers that die
right after a send and invocations whose result is lost. At the end every event was delivered (its
receiver answered 2xx) or its job is in the DLQ, none is lost; an event reaches a receiver successfully
more than once only when the worker did not learn of the earlier success (it died after the send, or the
answer came too late), and every request of an event carries the event's one `webhook-id`; the delivery
log says what the receivers saw.

The real fan-out (`leadhub.outbound.fanout.fan_out`) turns the facts into delivery records and jobs; the
real worker handler takes the jobs from a moto queue whose redrive `maxReceiveCount` equals the shrunk
schedule's length, and this module plays Lambda's SQS event source mapping (receive a batch of up to 10,
invoke, delete what did not fail). Every random choice comes from a generator seeded with what it is
about (a delivery id and its send number), so the run does not depend on thread timing."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import ModuleType
from typing import Any

import moto.core.utils as moto_utils
import moto.dynamodb.models as moto_dynamodb
import moto.sqs.models as moto_sqs
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from leadhub.outbound.adapters.dynamodb_delivery_log import DynamoDeliveryLog
from leadhub.outbound.adapters.dynamodb_endpoints import DynamoEndpointRepository, endpoint_to_values
from leadhub.outbound.adapters.sqs_delivery_queue import SqsDeliveryQueue
from leadhub.outbound.batch_stores import EndpointsPerBatch
from leadhub.outbound.delivery_attempt import INTERRUPTED_REASON
from leadhub.outbound.endpoints import secret_context
from leadhub.outbound.fanout import fan_out
from leadhub.outbound.models import (
    DeliveryJob,
    DeliveryStatus,
    EndpointSecret,
    Verification,
    WebhookEndpoint,
    delivery_id_for,
)
from leadhub.outbound.outbox import LEAD_CREATED, Fact
from leadhub.outbound.ports import HttpOutcome, SafeTarget
from leadhub.outbound.signing import new_endpoint_secret
from leadhub.platform.adapters.dynamodb_items import from_item, to_item
from leadhub.platform.adapters.kms_cipher import KmsCipher
from leadhub.platform.standard_webhooks import WEBHOOK_ID
from leadhub.platform.timestamps import to_iso, utc_now
from local.emulator_main import transact_write_items_without_table_copies
from local.pollers import sqs_event
from tests.integration.conftest import LambdaContext, Stack, shared_clients
from tests.integration.test_delivery_worker import _serialize_moto, load_worker, queue_with_dlq
from tests.receiver import Answer, LoopbackServer

SEED = 20261123
EVENTS = 1000
FACTS_AT = "2026-11-23T09:00:00.000Z"  # fixed: the event ids, hence every random draw, derive from it
# One endpoint per account, from healthy to mostly failing: the share of requests answered 2xx at once.
OK_RATES = (0.95, 0.85, 0.7, 0.5, 0.25)
MAX_ATTEMPTS = 4
SCHEDULE = ",".join(["0s"] * MAX_ATTEMPTS)  # retries are receivable at once (Retry-After: 0 waits 1 s)
TIMEOUT_S = 0.5
SLOW_S = TIMEOUT_S + 0.5  # a slow answer comes well after the worker gave up
QUEUE_VISIBILITY_S = 1  # how long the message of a worker that died stays hidden
CRASH_AFTER_SEND_RATE = 0.03  # the worker dies after a request went out, before anything is stored
LOST_RESULT_RATE = 0.03  # an invocation's result never reaches the event source mapping
# Sends whose outcome the worker saw differently from how the receiver answered (the machine was too
# busy to finish a request within TIMEOUT_S): tolerated as timeouts, but they must stay rare.
MAX_LATE_SHARE = 0.1
DRAIN_DEADLINE_S = 240.0
SEND_HEADER = "x-test-send"  # unsigned, added after signing: matches a send with the receiver's record


class Kind(StrEnum):
    """How a receiver answers one request."""

    OK = "ok"  # 200 at once
    ERROR = "error"  # 500
    THROTTLED = "throttled"  # 429 with Retry-After: 0
    RESET = "reset"  # reads the request, then a TCP reset
    SLOW = "slow"  # 200, but after the worker's timeout
    ABORTED = "aborted"  # not drawn: the worker gave up before the whole request arrived


# Few slow answers: each holds up its whole batch for TIMEOUT_S.
FAILURES = ((Kind.ERROR, 0.4), (Kind.THROTTLED, 0.3), (Kind.RESET, 0.27), (Kind.SLOW, 0.03))
# What the worker sees of each answer: (status code, error class).
SEEN = {
    Kind.OK: (200, None),
    Kind.ERROR: (500, None),
    Kind.THROTTLED: (429, None),
    Kind.RESET: (None, "reset"),
    Kind.SLOW: (None, "timeout"),
    Kind.ABORTED: (None, "timeout"),
}
TIMED_OUT = (None, "timeout")


def chance(*key: object) -> random.Random:
    """A generator for one decision, independent of the order in which threads reach it."""
    return random.Random(":".join(map(str, (SEED, *key))))


def answer_kind(send: str, ok_rate: float) -> Kind:
    rng = chance("answer", send)
    if rng.random() < ok_rate:
        return Kind.OK
    kinds, weights = zip(*FAILURES, strict=True)
    return rng.choices(kinds, weights)[0]


# --- the receivers --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    webhook_id: str
    send: str  # the worker's send it came from (SEND_HEADER)
    kind: Kind
    body: bytes
    verified: bool  # the standardwebhooks library accepted the signature


class FaultyReceiver:
    """A customer's endpoint on loopback; how it answers a send is drawn from `answer_kind`."""

    def __init__(self, secret: str, ok_rate: float) -> None:
        self.webhook = Webhook(secret)
        self.ok_rate = ok_rate
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = LoopbackServer(self._answer)

    def _answer(self, headers: dict[str, str], body: bytes, complete: bool) -> Answer:
        kind = self._record(headers, body, complete)
        if kind in (Kind.RESET, Kind.ABORTED):
            return Answer(reset=True)
        status = {Kind.OK: 200, Kind.SLOW: 200, Kind.ERROR: 500, Kind.THROTTLED: 429}[kind]
        retry_after = {"Retry-After": "0"} if kind is Kind.THROTTLED else {}
        return Answer(status, retry_after, kind.value.encode(), delay_s=SLOW_S if kind is Kind.SLOW else 0.0)

    def _record(self, headers: dict[str, str], body: bytes, complete: bool) -> Kind:
        send = headers.get(SEND_HEADER, "")
        kind = answer_kind(send, self.ok_rate) if complete else Kind.ABORTED
        try:
            self.webhook.verify(body, headers)
            verified = True
        except WebhookVerificationError:
            verified = False
        with self._lock:
            self.requests.append(Request(headers.get(WEBHOOK_ID, ""), send, kind, body, verified))
        return kind

    @property
    def url(self) -> str:
        return self._server.url

    def close(self) -> None:
        self._server.close()


# --- the worker, watched --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    """One request the worker made, what it saw of the answer, and whether it died right after."""

    token: str
    seen: tuple[int | None, str | None]  # (status code, error class)
    crashed: bool


class WorkerDied(Exception):
    pass


class WatchedSender:
    """The worker's real sender, watched: every request carries its send's token (in a header that is
    not signed) so that it can be matched with the receiver's record, and now and then the execution
    environment dies right after a send, before the attempt is stored: the record handler fails without
    rescheduling, so the message comes back after the queue's visibility timeout."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.sends: dict[str, list[Send]] = defaultdict(list)
        self._lock = threading.Lock()

    def post(
        self, target: SafeTarget, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> HttpOutcome:
        webhook_id = next(v for k, v in headers.items() if k.lower() == WEBHOOK_ID)
        with self._lock:
            token = f"{webhook_id}/{len(self.sends[webhook_id])}"  # a delivery is never sent twice at once
            self.sends[webhook_id].append(Send(token, (None, None), False))
        outcome = self.inner.post(target, body, {**headers, SEND_HEADER: token}, timeout_s)
        crashed = chance("crash", token).random() < CRASH_AFTER_SEND_RATE
        with self._lock:
            self.sends[webhook_id][-1] = Send(token, (outcome.status, outcome.error_class), crashed)
        if crashed:
            raise WorkerDied(f"the execution environment died after sending {token}")
        return outcome


@dataclass
class EventSource:
    """Lambda's SQS event source mapping, one batch at a time."""

    worker: ModuleType
    sqs: Any
    queue_url: str
    queue_arn: str
    receives: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    lost: set[tuple[str, int]] = field(default_factory=set)  # (delivery id, receive count) of lost results
    batches: int = 0
    invoking_s: float = 0.0

    def counts(self) -> tuple[int, int]:
        """(visible, in flight) messages of the queue."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=names)
        return int(attributes["Attributes"][names[0]]), int(attributes["Attributes"][names[1]])

    def drain(self, deadline_s: float) -> None:
        """Receive, invoke, delete, until nothing is left in the queue (visible or in flight)."""
        deadline = time.monotonic() + deadline_s
        while True:
            assert time.monotonic() < deadline, f"not drained within {deadline_s}s: {self.counts()}"
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
            ).get("Messages", [])
            if messages:
                self.invoke(messages)
            elif self.counts() == (0, 0) == self.counts():
                # Asked twice: the emulator counts visible and in-flight messages one after the other, so
                # a message whose visibility timeout ends between the two is in neither count.
                return
            else:
                time.sleep(0.02)  # messages in flight come back after their visibility timeout

    def invoke(self, messages: list[dict[str, Any]]) -> None:
        self.batches += 1
        batch = []
        for message in messages:
            job = DeliveryJob.from_message(message["Body"])
            count = int(message["Attributes"]["ApproximateReceiveCount"])
            self.receives[job.delivery_id].append(count)
            batch.append((job.delivery_id, count))
        started = time.monotonic()
        response = self.worker.lambda_handler(sqs_event(messages, self.queue_arn), LambdaContext())
        self.invoking_s += time.monotonic() - started
        if chance("lost", *sorted(batch)).random() < LOST_RESULT_RATE:
            # The invocation did its work but its result is lost (it timed out after the handler
            # returned): nothing is deleted, the messages come back after their visibility timeout.
            self.lost.update(batch)
            return
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            result = self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
            assert not result.get("Failed"), result


# --- moto at this scale ---------------------------------------------------------------------------------


def _cheap_transaction_backups(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto deep-copies the whole table for every item of a TransactWriteItems (a rollback backup):
    with a few thousand items that is ~0.1 s per item, and the worker writes attempts in transactions.
    The local emulator's replacement backs up only the items written (safe here: `_serialize_moto`
    lets one moto request run at a time)."""
    monkeypatch.setattr(
        moto_dynamodb.DynamoDBBackend, "transact_write_items", transact_write_items_without_table_copies
    )


def _cheap_sqs_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's SQS reads the clock through datetime arithmetic for every message of the queue on every
    receive, and computes every queue attribute (three counts over all messages) for each message it
    returns, to read the retention period: with 1,000 messages that is ~0.4 s a receive. The same clock
    from time.time(), and the retention period read directly."""

    def unix_time(dt: Any = None) -> float:
        return time.time() if dt is None else moto_utils.unix_time(dt)

    def unix_time_millis(dt: Any = None) -> float:
        return unix_time(dt) * 1000.0

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return retention + message.sent_timestamp / 1000 > unix_time()

    monkeypatch.setattr(moto_sqs, "unix_time", unix_time)
    monkeypatch.setattr(moto_sqs, "unix_time_millis", unix_time_millis)
    monkeypatch.setattr(
        moto_sqs.SQSBackend,
        "is_message_valid_based_on_retention_period",
        is_message_valid_based_on_retention_period,
    )


# --- the set-up -----------------------------------------------------------------------------------------


@dataclass
class World:
    stack: Stack
    sqs: Any
    queue_url: str
    queue_arn: str
    dlq_url: str
    receivers: dict[str, FaultyReceiver] = field(default_factory=dict)  # by endpoint id

    def endpoint(self, account_id: str, ok_rate: float) -> WebhookEndpoint:
        """A verified endpoint stored as the API stores it, with a faulty receiver behind it."""
        secret = new_endpoint_secret()
        receiver = FaultyReceiver(secret, ok_rate)
        endpoint_id = f"wep_conservation_{len(self.receivers)}"
        self.receivers[endpoint_id] = receiver
        stamp = to_iso(utc_now())
        cipher = KmsCipher(self.stack.kms_key_id, clients=shared_clients().client)
        endpoint = WebhookEndpoint(
            account_id=account_id,
            endpoint_id=endpoint_id,
            name=f"CRM {len(self.receivers)}",
            url=receiver.url,
            secrets=(EndpointSecret(cipher.encrypt(secret, secret_context(account_id, endpoint_id)), stamp),),
            created_at=stamp,
            updated_at=stamp,
            verification=Verification.VERIFIED,
            verified_at=stamp,
        )
        self.stack.ddb.put_item(TableName=self.stack.table_name, Item=to_item(endpoint_to_values(endpoint)))
        return endpoint

    def dead_letters(self) -> list[DeliveryJob]:
        jobs: list[DeliveryJob] = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=300, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return jobs
            jobs += [DeliveryJob.from_message(m["Body"]) for m in messages]


class NoAgencies:
    def parent_of(self, account_id: str) -> str | None:
        return None


def facts(account_ids: Sequence[str]) -> list[Fact]:
    """EVENTS distinct lead.created facts, spread over the accounts."""
    return [
        Fact(
            LEAD_CREATED,
            account_ids[n % len(account_ids)],
            FACTS_AT,
            f"lead_{n:04d}",
            {"leadId": f"lead_{n:04d}", "phone": f"+1415555{n:04d}", "name": f"Lead {n}"},
        )
        for n in range(EVENTS)
    ]


@pytest.fixture
def world(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    _serialize_moto(monkeypatch)
    _cheap_transaction_backups(monkeypatch)
    _cheap_sqs_clock(monkeypatch)
    sqs = shared_clients().client("sqs")
    queue_url, queue_arn, dlq_url = queue_with_dlq(
        "conservation", visibility_s=QUEUE_VISIBILITY_S, max_receives=MAX_ATTEMPTS
    )
    world = World(stack, sqs, queue_url, queue_arn, dlq_url)
    try:
        yield world
    finally:
        for receiver in world.receivers.values():
            receiver.close()


@dataclass(frozen=True)
class Logged:
    """What the test reads of a delivery record."""

    delivery_id: str
    endpoint_id: str
    event_id: str
    status: DeliveryStatus
    attempts: int
    delivered_at: str | None
    next_attempt_at: str | None
    last_error: str | None


def read_log(stack: Stack) -> tuple[dict[str, Logged], dict[str, list[tuple[int, int | None, str | None]]]]:
    """The delivery records by id, and each delivery's attempts (number, status code, error class) in
    order, from one scan of the table that leaves out what the test does not read (moto takes ~2 ms to
    answer with an item whole)."""
    names = ["entity", "deliveryId", "endpointId", "eventId", "status", "attempts", "deliveredAt"]
    names += ["nextAttemptAt", "lastError", "number", "statusCode", "errorClass"]
    projection = {f"#a{n}": name for n, name in enumerate(names)}
    items: list[dict[str, Any]] = []
    pages = stack.ddb.get_paginator("scan").paginate(
        TableName=stack.table_name,
        ConsistentRead=True,
        ProjectionExpression=", ".join(projection),
        ExpressionAttributeNames=projection,
    )
    for page in pages:
        items += [from_item(item) for item in page["Items"]]
    deliveries = {
        i["deliveryId"]: Logged(
            i["deliveryId"],
            i["endpointId"],
            i["eventId"],
            DeliveryStatus(i["status"]),
            int(i["attempts"]),
            i.get("deliveredAt"),
            i.get("nextAttemptAt"),
            i.get("lastError"),
        )
        for i in items
        if i.get("entity") == "delivery"
    }
    attempts: dict[str, list[tuple[int, int | None, str | None]]] = defaultdict(list)
    for i in sorted((i for i in items if i.get("entity") == "delivery_attempt"), key=lambda i: i["number"]):
        status = None if i.get("statusCode") is None else int(i["statusCode"])
        attempts[i["deliveryId"]].append((int(i["number"]), status, i.get("errorClass")))
    return deliveries, attempts


# --- the test -------------------------------------------------------------------------------------------


@pytest.mark.timeout(300)
def test_a_thousand_events_with_random_faults_are_each_delivered_or_dead_lettered(world: World) -> None:
    started = time.monotonic()
    stack, clients = world.stack, shared_clients().client
    accounts = [f"acc_conservation_{n}" for n in range(len(OK_RATES))]
    for account_id, ok_rate in zip(accounts, OK_RATES, strict=True):
        world.endpoint(account_id, ok_rate)

    # The fan-out, a stream batch (100 records) at a time.
    all_facts = facts(accounts)
    # The fan-out's own per-batch listing: one Query per account and batch of 100 facts.
    directory = EndpointsPerBatch(DynamoEndpointRepository(stack.table_name, clients=clients))
    for start in range(0, EVENTS, 100):
        directory.start_batch()
        result = fan_out(
            all_facts[start : start + 100],
            endpoints=directory,
            parents=NoAgencies(),
            log=DynamoDeliveryLog(stack.table_name, clients=clients),
            queue=SqsDeliveryQueue(world.queue_url, clients=clients),
            now_iso=to_iso(utc_now()),
        )
        assert (result.enqueued, result.already_enqueued) == (100, 0)
    fanned_out = time.monotonic()

    worker = load_worker(
        stack,
        DELIVERY_QUEUE_URL=world.queue_url,
        DELIVERY_RETRY_SCHEDULE=SCHEDULE,
        DELIVERY_MAX_ATTEMPTS=str(MAX_ATTEMPTS),
        DELIVERY_RETRY_JITTER="0",
        DELIVERY_TIMEOUT_SECONDS=str(TIMEOUT_S),
        ENDPOINT_AUTO_DISABLE_HOURS="72",
        ALLOW_PRIVATE_WEBHOOK_TARGETS="true",
        POWERTOOLS_LOG_LEVEL="WARNING",
    )
    sender = WatchedSender(worker.http)
    worker.http = sender  # this test's own cold start of the module
    source = EventSource(worker, world.sqs, world.queue_url, world.queue_arn)
    source.drain(DRAIN_DEADLINE_S)
    drained = time.monotonic()

    # --- what there is to compare ------------------------------------------------------------------------
    deliveries, attempts = read_log(stack)
    assert len(deliveries) == EVENTS and len({d.event_id for d in deliveries.values()}) == EVENTS
    for delivery in deliveries.values():
        assert delivery.delivery_id == delivery_id_for(delivery.event_id, delivery.endpoint_id)

    requests: dict[str, Request] = {}  # by send token
    requests_of: dict[str, list[Request]] = defaultdict(list)  # by webhook-id, in arrival order
    for endpoint_id, receiver in world.receivers.items():
        for request in receiver.requests:
            assert request.webhook_id in deliveries, f"a request nobody queued: {request.webhook_id!r}"
            assert deliveries[request.webhook_id].endpoint_id == endpoint_id, "sent to another endpoint"
            assert request.send not in requests, f"one send arrived twice: {request.send}"
            requests[request.send] = request
            requests_of[request.webhook_id].append(request)
    dead_ids = [job.delivery_id for job in world.dead_letters()]
    assert len(dead_ids) == len(set(dead_ids)), "a job is in the DLQ twice"
    assert set(dead_ids) <= set(deliveries)
    assert source.counts() == (0, 0)

    # --- conservation: every event was delivered or is in the DLQ ---------------------------------------
    delivered = {d for d, rs in requests_of.items() if any(r.kind is Kind.OK for r in rs)}
    lost = set(deliveries) - delivered - set(dead_ids)
    assert not lost, f"{len(lost)} event(s) neither delivered nor dead-lettered, e.g. {sorted(lost)[:3]}"

    # --- every request of an event: signed, with the event's one webhook-id and the same body ------------
    for delivery_id, rs in requests_of.items():
        complete = [r for r in rs if r.kind is not Kind.ABORTED]
        assert all(r.verified for r in complete), f"a request of {delivery_id} failed verification"
        assert len({r.body for r in complete}) <= 1, f"the requests of {delivery_id} differ"
        if complete:
            envelope = json.loads(complete[0].body)
            assert envelope["id"] == deliveries[delivery_id].event_id and envelope["event"] == LEAD_CREATED
    webhook_ids_of_event: dict[str, set[str]] = defaultdict(set)
    for r in requests.values():
        if r.kind is not Kind.ABORTED:
            webhook_ids_of_event[json.loads(r.body)["id"]].add(r.webhook_id)
    assert all(len(ids) == 1 for ids in webhook_ids_of_event.values())

    # --- the worker's view of each send, and the delivery log, agree with the receivers -----------------
    duplicates = late = 0
    outcomes: Counter[str] = Counter()
    for delivery_id, delivery in deliveries.items():
        sends = sender.sends.get(delivery_id, [])
        assert sends, f"{delivery_id} was never sent"
        assert {s.token for s in sends} >= {r.send for r in requests_of[delivery_id]}
        for send in sends:
            request = requests.get(send.token)
            if request is None or request.kind is Kind.ABORTED or send.seen != SEEN[request.kind]:
                # The request never arrived, arrived in part, or its answer was not read in time: only a
                # timeout (the machine too busy to finish within TIMEOUT_S) may make them disagree.
                assert send.seen == TIMED_OUT, (delivery_id, send, request)
                late += request is None or request.kind is not Kind.SLOW
        stored = [s for s in sends if not s.crashed]
        logged = attempts[delivery_id]
        assert [number for number, _, _ in logged] == list(range(1, len(stored) + 1)), (delivery_id, logged)
        assert [(status, error) for _, status, error in logged] == [s.seen for s in stored]
        assert delivery.attempts == len(stored)

        # A 2xx went out again only when the worker had not learnt of the earlier one.
        oks = [s for s in sends if (r := requests.get(s.token)) is not None and r.kind is Kind.OK]
        unnoticed = [s for s in oks if s.crashed or s.seen == TIMED_OUT]
        is_delivered = delivery.status is DeliveryStatus.DELIVERED
        assert len(oks) == len(unnoticed) + is_delivered, (delivery_id, sends)
        duplicates += max(0, len(oks) - 1)

        receives = source.receives[delivery_id]
        assert receives == list(range(1, len(receives) + 1)) and len(receives) <= MAX_ATTEMPTS
        in_dlq = delivery_id in dead_ids
        last = sends[-1]
        if is_delivered:
            assert last.seen == (200, None) and not last.crashed and delivery.delivered_at
            # Dead-lettered as well only when the result of its last receive was lost.
            assert not in_dlq or (delivery_id, MAX_ATTEMPTS) in source.lost
            outcomes["delivered"] += 1
        else:  # never left pending: marked failed before the last attempt, in case the worker dies in it
            assert delivery.status is DeliveryStatus.FAILED, delivery
            assert in_dlq and len(receives) == MAX_ATTEMPTS and delivery.next_attempt_at is None
            if last.crashed:  # the worker died on the last receive
                assert delivery.last_error == INTERRUPTED_REASON
                outcomes["interrupted"] += 1
            else:
                assert last.seen != (200, None)
                outcomes["failed"] += 1
        outcomes["in the DLQ, yet delivered"] += in_dlq and delivery_id in delivered

    all_sends = [s for sends in sender.sends.values() for s in sends]
    kinds = Counter(r.kind.value for r in requests.values())
    summary = (
        f"{EVENTS} events: {len(delivered)} delivered, {len(dead_ids)} in the DLQ "
        f"({outcomes['in the DLQ, yet delivered']} of those delivered too), {duplicates} duplicate 2xx; "
        f"log: {outcomes['delivered']} delivered, {outcomes['failed']} failed, "
        f"{outcomes['interrupted']} failed by a death in the last attempt; "
        f"{len(all_sends)} sends, answers {dict(sorted(kinds.items()))}, {late} late; "
        f"{sum(s.crashed for s in all_sends)} deaths after a send, {len(source.lost)} results lost, "
        f"{source.batches} batches; fan-out {fanned_out - started:.1f}s, drain {drained - fanned_out:.1f}s "
        f"(handler {source.invoking_s:.1f}s), checks {time.monotonic() - drained:.1f}s"
    )
    print(summary)
    # Every path was taken (a given for this seed; an assertion so that a change to it shows).
    assert all(kinds[kind] >= 10 for kind in ("ok", "error", "throttled", "reset", "slow")), summary
    assert duplicates > 0 and source.lost and outcomes["failed"] > 0, summary
    assert late <= MAX_LATE_SHARE * len(all_sends), summary
