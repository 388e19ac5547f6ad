"""Outbound webhook endpoints (`webhooks:manage`): CRUD, verification and secret rotation."""

from __future__ import annotations

from typing import Annotated, Any

import deps
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from schemas import JSON_BODY, KEYED, responses
from schemas.webhook_endpoints import (
    EndpointCreateRequest,
    EndpointListOut,
    EndpointOut,
    EndpointRequest,
    EndpointWithSecretOut,
    RotateSecretRequest,
)

from leadhub.accounts.models import Scope
from leadhub.outbound import endpoints
from leadhub.outbound.models import WebhookEndpoint
from leadhub.platform.timestamps import utc_now

router = Router()
EndpointId = Annotated[str, Path(max_length=64)]
TAGS = ["Webhook endpoints"]


def _managing() -> dict[str, Any]:
    """What creating or changing an endpoint talks to, and whether it may point at loopback."""
    return {
        "endpoints": deps.endpoints(),
        "accounts": deps.accounts,
        "cipher": deps.cipher,
        "resolver": deps.resolver(),
        "verifier": deps.verifier(),
        "allow_private_targets": deps.allow_private_targets,
    }


def _out(endpoint: WebhookEndpoint) -> EndpointOut:
    return EndpointOut.model_validate(endpoint.to_public())


@router.post(
    "/api/webhook-endpoints",
    summary="Register an endpoint",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(
        201,
        404,
        *JSON_BODY,
        *KEYED,
        why={403: "The API key lacks the scope, or the plan's endpoint limit is reached"},
    ),
)
def post_endpoint(request: EndpointCreateRequest) -> tuple[EndpointWithSecretOut, int]:
    caller = deps.principal(router, Scope.WEBHOOKS_MANAGE)
    endpoint, secret = endpoints.create_endpoint(caller, request.changes(), utc_now(), **_managing())
    return EndpointWithSecretOut.model_validate({**endpoint.to_public(), "secret": secret}), 201


@router.get(
    "/api/webhook-endpoints",
    summary="List endpoints",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(200, *KEYED),
)
def get_endpoints() -> EndpointListOut:
    caller = deps.principal(router, Scope.WEBHOOKS_MANAGE)
    return EndpointListOut(
        items=[_out(e) for e in endpoints.list_endpoints(caller, endpoints=deps.endpoints())]
    )


@router.get(
    "/api/webhook-endpoints/<endpointId>",
    summary="Get an endpoint",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(200, 400, 404, *KEYED),
)
def get_endpoint(endpointId: EndpointId) -> EndpointOut:
    caller = deps.principal(router, Scope.WEBHOOKS_MANAGE)
    return _out(endpoints.get_endpoint(caller, endpointId, endpoints=deps.endpoints()))


@router.patch(
    "/api/webhook-endpoints/<endpointId>",
    summary="Change an endpoint",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(200, 404, *JSON_BODY, *KEYED),
)
def patch_endpoint(endpointId: EndpointId, request: EndpointRequest) -> EndpointOut:
    caller = deps.principal(router, Scope.WEBHOOKS_MANAGE)
    changes = request.changes()
    return _out(endpoints.update_endpoint(caller, endpointId, changes, utc_now(), **_managing()))


@router.delete(
    "/api/webhook-endpoints/<endpointId>",
    summary="Delete an endpoint",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(204, 400, 404, *KEYED),
)
def delete_endpoint(endpointId: EndpointId) -> Response[None]:
    caller = deps.principal(router, Scope.WEBHOOKS_MANAGE)
    endpoints.delete_endpoint(caller, endpointId, utc_now(), endpoints=deps.endpoints())
    return Response(status_code=204)


@router.post(
    "/api/webhook-endpoints/<endpointId>/verify",
    summary="Run the verification handshake again (in the endpoint's mode)",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(200, 400, 404, *KEYED),
)
def post_verify(endpointId: EndpointId) -> EndpointOut:
    caller = deps.principal(router, Scope.WEBHOOKS_MANAGE)
    return _out(
        endpoints.verify_endpoint(
            caller,
            endpointId,
            utc_now(),
            endpoints=deps.endpoints(),
            cipher=deps.cipher,
            verifier=deps.verifier(),
        )
    )


@router.post(
    "/api/webhook-endpoints/<endpointId>/rotate-secret",
    summary="Rotate the signing secret (the previous one keeps signing during the overlap)",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(200, 404, *JSON_BODY, *KEYED),
)
def post_rotate_secret(
    endpointId: EndpointId, request: RotateSecretRequest | None = None
) -> EndpointWithSecretOut:
    caller = deps.principal(router, Scope.WEBHOOKS_MANAGE)
    secret = request.secret if request is not None else None
    endpoint, secret = endpoints.rotate_secret(
        caller,
        endpointId,
        utc_now(),
        secret,
        endpoints=deps.endpoints(),
        cipher=deps.cipher,
        secret_overlap=deps.secret_overlap,
    )
    return EndpointWithSecretOut.model_validate({**endpoint.to_public(), "secret": secret})
