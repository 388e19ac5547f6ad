"""The HTTP request of a delivery: its body and its signed headers (shared by the delivery worker and
the API's test send, which must not import the worker's module at cold start)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime

from leadhub.outbound.endpoints import custom_headers, signing_secrets
from leadhub.outbound.models import DeliveryJob, WebhookEndpoint
from leadhub.outbound.payload_template import render
from leadhub.outbound.signing import signature_headers
from leadhub.outbound.url_safety import DEFAULT_USER_AGENT
from leadhub.platform.ports import SecretCipher


def request_body(job: DeliveryJob, endpoint: WebhookEndpoint) -> bytes:
    """The endpoint's payload template rendered for the event, else the envelope as compact JSON."""
    if endpoint.payload_template:
        return render(endpoint.payload_template, job.envelope)
    try:
        return json.dumps(job.envelope, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:  # an unpaired surrogate in some value: JSON's \u escapes carry it
        return json.dumps(job.envelope, separators=(",", ":")).encode()


def request_headers(
    job: DeliveryJob, endpoint: WebhookEndpoint, body: bytes, cipher: SecretCipher, now: datetime
) -> dict[str, str]:
    return signed_headers(
        signing_secrets(endpoint, cipher, now),
        custom_headers(endpoint, cipher),
        job.delivery_id,
        job.event,
        body,
        now,
    )


def signed_headers(
    secrets: Sequence[str],
    custom: Mapping[str, str],
    message_id: str,
    event: str,
    body: bytes,
    now: datetime,
) -> dict[str, str]:
    """The headers of every request to an endpoint (deliveries, test sends and the verification
    handshake): its custom headers first, then ours (which they can never replace: reserved names are
    refused when they are saved, and any that slipped through are dropped here)."""
    signed = signature_headers(secrets, message_id, int(now.timestamp()), body, event)
    ours = {"Content-Type": "application/json", **signed, "User-Agent": DEFAULT_USER_AGENT}
    taken = {name.lower() for name in ours}
    extra = {k: v for k, v in custom.items() if k.lower() not in taken}
    return {**extra, **ours}
