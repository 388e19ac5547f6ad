"""The delivery queue's messages as the delivery worker handles them: each is one attempt of one delivery
(delivery_attempt: the schedule, the DLQ), and a batch's delivery records and endpoints are read together
before its sends start.

A body that is not a delivery job can never succeed: it is made visible again at once (MalformedJob), so
it reaches the DLQ after `maxReceiveCount` quick receives instead of occupying the queue for the length
of the schedule."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Sequence
from datetime import datetime

from leadhub.outbound.batch_stores import BatchDeliveries, BatchEndpoints
from leadhub.outbound.delivery_attempt import AttemptResult, DeliveryConfig, attempt_delivery
from leadhub.outbound.models import DeliveryJob
from leadhub.outbound.ports import (
    DeliveryBatchReader,
    DeliveryLog,
    DeliveryQueue,
    EndpointRepository,
    HttpPost,
    Resolver,
)
from leadhub.platform.errors import StorageUnavailable
from leadhub.platform.ports import SecretCipher


class MalformedJob(Exception):
    """The message is not a delivery job; the message names the error's type, never the body."""


def handle_delivery_message(
    body: str,
    receive_count: int,
    receipt_handle: str,
    now: datetime,
    *,
    queue: DeliveryQueue,
    log: DeliveryLog,
    endpoints: EndpointRepository,
    cipher: SecretCipher,
    resolver: Resolver,
    http: HttpPost,
    config: DeliveryConfig,
    rng: random.Random | None = None,
) -> AttemptResult:
    """One attempt of the message's job. When the result is not `done`, the message's visibility is set
    for its next receive (and the caller reports it as a batch item failure)."""
    try:
        job = DeliveryJob.from_message(body)
    except (ValueError, KeyError, TypeError) as exc:
        queue.delay(receipt_handle, 0)
        raise MalformedJob(type(exc).__name__) from None
    result = attempt_delivery(
        job,
        receive_count,
        log=log,
        endpoints=endpoints,
        cipher=cipher,
        resolver=resolver,
        http=http,
        config=config,
        now=now,
        rng=rng,
    )
    if result.visibility_timeout is not None:
        queue.delay(receipt_handle, result.visibility_timeout)
    return result


def stores_for_batch(
    bodies: Sequence[str], *, log: DeliveryLog, endpoints: EndpointRepository, reader: DeliveryBatchReader
) -> tuple[BatchDeliveries, BatchEndpoints, bool]:
    """The batch's view of the log and the endpoints, with every delivery record and endpoint of the
    batch read in one request instead of two per record that would queue up behind each other; and
    whether that read succeeded (if not, each record reads what it needs, and fails alone)."""
    jobs = []
    for body in bodies:
        with contextlib.suppress(ValueError, KeyError, TypeError):  # reported by handle_delivery_message
            jobs.append(DeliveryJob.from_message(body))
    batch_log, batch_endpoints = BatchDeliveries(log), BatchEndpoints(endpoints)
    delivery_keys = [(job.account_id, job.delivery_id) for job in jobs]
    endpoint_keys = [(job.account_id, job.endpoint_id) for job in jobs]
    try:
        deliveries_found, endpoints_found = reader.read(delivery_keys, endpoint_keys)
    except StorageUnavailable:
        return batch_log, batch_endpoints, False
    batch_log.remember(delivery_keys, deliveries_found)
    batch_endpoints.remember(endpoint_keys, endpoints_found)
    return batch_log, batch_endpoints, True
