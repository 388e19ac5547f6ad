"""The delivery log and recovery (`webhooks:manage`)."""

from __future__ import annotations

from typing import Annotated

import deps
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from schemas import JSON_BODY, KEYED, responses
from schemas.deliveries import (
    AttemptOut,
    DeliveryDetailOut,
    DeliveryOut,
    DeliveryPageOut,
    RecoverOut,
    RecoverRequest,
    TestSendOut,
)

from leadhub.accounts.models import Scope
from leadhub.outbound import delivery_log as deliveries
from leadhub.outbound import trial_delivery
from leadhub.outbound.models import DeliveryStatus
from leadhub.platform.timestamps import utc_now

router = Router()
Id = Annotated[str, Path(max_length=64)]
TAGS = ["Deliveries"]


@router.get(
    "/api/webhook-endpoints/<endpointId>/deliveries",
    summary="An endpoint's deliveries, newest first",
    description="With `status`, a page holds up to `limit` matching deliveries: the log is read on while "
    f"matches fill it, at most {deliveries.MAX_FILTERED_READS} reads of `limit` deliveries. A shorter page "
    "with a `nextCursor` means those reads ran out first: older matches may follow the cursor. Without a "
    "`nextCursor` the log is at its end.",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(200, 400, 404, *KEYED),
)
def get_endpoint_deliveries(
    endpointId: Id,
    status: Annotated[DeliveryStatus | None, Query(description="Only deliveries in this status")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> DeliveryPageOut:
    caller = deps.principal(router, Scope.WEBHOOKS_MANAGE)
    page = deliveries.list_deliveries(
        caller,
        endpointId,
        status,
        limit,
        cursor,
        endpoints=deps.endpoints(),
        log=deps.delivery_log(),
    )
    return DeliveryPageOut(
        items=[DeliveryOut.model_validate(d.to_public()) for d in page.items], nextCursor=page.next_cursor
    )


@router.get(
    "/api/deliveries/<deliveryId>",
    summary="A delivery with its attempts",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(200, 400, 404, *KEYED),
)
def get_delivery(deliveryId: Id) -> DeliveryDetailOut:
    caller = deps.principal(router, Scope.WEBHOOKS_MANAGE)
    delivery, attempts = deliveries.get_delivery(caller, deliveryId, log=deps.delivery_log())
    return DeliveryDetailOut.model_validate(
        {
            **delivery.to_public(),
            "payload": delivery.envelope,
            "attemptLog": [AttemptOut.model_validate(a.to_public()) for a in attempts],
        }
    )


@router.post(
    "/api/deliveries/<deliveryId>/retry",
    summary="One more attempt now (the schedule is not reset)",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(
        202, 400, 404, 409, *KEYED, why={409: "The delivery was delivered; it is not sent again"}
    ),
)
def post_retry(deliveryId: Id) -> tuple[DeliveryOut, int]:
    caller = deps.principal(router, Scope.WEBHOOKS_MANAGE)
    delivery = deliveries.retry_delivery(
        caller, deliveryId, log=deps.delivery_log(), queue=deps.delivery_queue()
    )
    return DeliveryOut.model_validate(delivery.to_public()), 202


@router.post(
    "/api/webhook-endpoints/<endpointId>/recover",
    summary="Re-enqueue failed (and, if asked, skipped) deliveries since a time (at most 14 days back)",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(
        202,
        404,
        409,
        *JSON_BODY,
        *KEYED,
        why={409: "The endpoint is disabled or unverified: enable (and verify) it first"},
    ),
)
def post_recover(endpointId: Id, request: RecoverRequest) -> tuple[RecoverOut, int]:
    caller = deps.principal(router, Scope.WEBHOOKS_MANAGE)
    count = deliveries.recover_deliveries(
        caller,
        endpointId,
        request.since,
        utc_now(),
        include_skipped=request.includeSkipped,
        endpoints=deps.endpoints(),
        log=deps.delivery_log(),
        queue=deps.delivery_queue(),
    )
    return RecoverOut(requeued=count), 202


@router.post(
    "/api/webhook-endpoints/<endpointId>/test",
    summary="Send a synthetic, signed lead.created (test: true) now",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(200, 400, 404, *KEYED),
)
def post_test(endpointId: Id) -> TestSendOut:
    caller = deps.principal(router, Scope.WEBHOOKS_MANAGE)
    result = trial_delivery.send_test_event(
        caller,
        endpointId,
        utc_now(),
        endpoints=deps.endpoints(),
        cipher=deps.cipher,
        resolver=deps.resolver(),
        allow_private_targets=deps.allow_private_targets,
        http=deps.http(),
    )
    return TestSendOut(
        delivered=result.delivered,
        statusCode=result.status_code,
        durationMs=round(result.duration_ms, 1),
        error=result.error,
        receivesEvents=result.receives_events,
        reason=result.reason,
    )
