"""The website chat widget's settings, key and snippet (`integrations:manage`)."""

from __future__ import annotations

import deps
from aws_lambda_powertools.event_handler.api_gateway import Router
from schemas import JSON_BODY, KEYED, responses
from schemas.widget import WidgetOut, WidgetSettingsRequest

from leadhub.accounts.models import Scope
from leadhub.channels.web import configuration
from leadhub.channels.web.widget import SCRIPT_PATH, Widget, WidgetSettings, snippet
from leadhub.platform.timestamps import utc_now

router = Router()
TAGS = ["Website widget"]


def _out(widget: Widget | None) -> WidgetOut:
    base = deps.public_base_url(router)
    settings = widget.settings if widget else WidgetSettings()
    return WidgetOut.model_validate(
        {
            **settings.to_public(),
            "widgetKey": widget.widget_key if widget else None,
            "scriptUrl": base + SCRIPT_PATH,
            "snippet": snippet(base, widget.widget_key) if widget else None,
            "updatedAt": widget.updated_at if widget else None,
        }
    )


@router.get(
    "/api/widget",
    summary="The website chat widget: settings, public key and the snippet to paste",
    description="Until the first PUT: the defaults, with no key or snippet.",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(200, *KEYED),
)
def get_widget() -> WidgetOut:
    caller = deps.principal(router, Scope.INTEGRATIONS_MANAGE)
    return _out(configuration.get_widget(caller.account_id, widgets=deps.widgets()))


@router.put(
    "/api/widget",
    summary="Replace the widget's settings (the first PUT creates its key)",
    description="Visitors' pages see a change within 30 seconds (warm caches).",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(
        200, 404, 409, *JSON_BODY, *KEYED, why={409: "Changed concurrently; read the widget again"}
    ),
)
def put_widget(request: WidgetSettingsRequest) -> WidgetOut:
    caller = deps.principal(router, Scope.INTEGRATIONS_MANAGE)
    widget = configuration.save_widget(
        caller.account_id,
        request.to_settings(),
        widgets=deps.widgets(),
        accounts=deps.accounts,
        actor=caller.key_id,
        source=caller.source,
        now=utc_now(),
    )
    return _out(widget)


@router.post(
    "/api/widget/rotate-key",
    summary="Replace the widget's public key (update the snippet on your pages)",
    description="The old key is refused within 30 seconds (warm caches).",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(
        200, 404, 409, *KEYED, why={404: "The widget is not set up yet", 409: "Changed concurrently; retry"}
    ),
)
def rotate_key() -> WidgetOut:
    caller = deps.principal(router, Scope.INTEGRATIONS_MANAGE)
    widget = configuration.rotate_widget_key(
        caller.account_id,
        widgets=deps.widgets(),
        actor=caller.key_id,
        source=caller.source,
        now=utc_now(),
    )
    return _out(widget)
