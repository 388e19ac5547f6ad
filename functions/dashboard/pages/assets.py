"""The dashboard's CSS, script and icon (/assets/<name>.<hash>.<ext>), cached for a year."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from leadhub.dashboard.assets import IMMUTABLE, find_asset
from leadhub.platform.errors import NotFound

router = Router()


@router.get("/assets/<name>")
def get_asset(name: str) -> Response[bytes]:
    asset = find_asset(name)
    if asset is None:
        raise NotFound("No such asset")
    headers = {"Cache-Control": IMMUTABLE, "Vary": "Accept-Encoding"}
    return Response(200, asset.content_type, asset.content, headers=headers, compress=True)
