"""The website chat widget (/channels/widget): its snippet, its settings with a live preview, and key
rotation. The same domain functions and request model as GET|PUT /api/widget and
POST /api/widget/rotate-key (`integrations:manage`, the Channels section's scope)."""

from __future__ import annotations

from typing import Any

import wiring
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from leadhub.channels.web import configuration
from leadhub.channels.web.widget import WidgetSettings
from leadhub.dashboard.http import redirect, validated
from leadhub.dashboard.navigation import CHANNELS
from leadhub.dashboard.visit import Visit
from leadhub.dashboard.widget import (
    CAPTURE_CHOICES,
    FORM_LEVEL,
    POSITION_LABELS,
    WidgetForm,
    form_errors,
    widget_page,
)
from leadhub.platform.errors import Conflict, InvalidRequest
from leadhub.platform.timestamps import utc_now

router = Router()
WIDGET_PATH = f"{CHANNELS.path}/widget"
NOTICES = {
    "saved": "The widget's settings are saved. Pages that show the widget get them within 30 seconds.",
    "rotated": "The widget has a new key: update the snippet on your pages. The old key is refused within "
    "30 seconds.",
}


def _widget_page(
    visit: Visit, status: int = 200, form: WidgetForm | None = None, errors: dict[str, str] | None = None
) -> Response[str]:
    found = configuration.get_widget(visit.principal.account_id, widgets=wiring.widgets)
    view = widget_page(found, wiring.public_base_url(router), form)
    context: dict[str, Any] = {
        "view": view,
        "errors": errors or {},
        "notice": _notice(),
        "captures": CAPTURE_CHOICES,
        "positions": POSITION_LABELS,
    }
    return wiring.show(visit, "widget.html", "Website widget", status, **context)


def _notice() -> str | None:
    done = router.current_event.get_query_string_value("done")
    return NOTICES.get(done) if done else None


@router.get(WIDGET_PATH)
def get_widget() -> Response[str]:
    return _widget_page(wiring.visit(router, CHANNELS))


@router.post(WIDGET_PATH)
def post_widget() -> Response[str]:
    from leadhub.channels.web.request_models import WidgetSettingsRequest

    visit, form = wiring.change(router, CHANNELS)
    account_id = visit.principal.account_id
    posted = WidgetForm.posted(form.get)
    saved = configuration.get_widget(account_id, widgets=wiring.widgets)
    try:
        body = posted.request_body(saved.settings if saved else WidgetSettings())
        request = validated(WidgetSettingsRequest, body)
        configuration.save_widget(
            account_id,
            request.to_settings(),
            widgets=wiring.widgets,
            accounts=wiring.accounts,
            actor=visit.principal.key_id,
            source=visit.principal.source,
            now=utc_now(),
        )
    except InvalidRequest as exc:
        return _widget_page(visit, exc.status_code, posted, form_errors(exc.details))
    except Conflict as exc:
        return _widget_page(visit, exc.status_code, posted, {FORM_LEVEL: exc.message})
    return redirect(f"{WIDGET_PATH}?done=saved")


@router.get(f"{WIDGET_PATH}/rotate-key")
def get_rotate_key() -> Response[str]:
    visit = wiring.visit(router, CHANNELS)
    found = configuration.get_widget(visit.principal.account_id, widgets=wiring.widgets)
    return wiring.show(visit, "widget_rotate.html", "Rotate the widget's key", widget=found)


@router.post(f"{WIDGET_PATH}/rotate-key")
def post_rotate_key() -> Response[str]:
    visit, _ = wiring.change(router, CHANNELS)
    configuration.rotate_widget_key(
        visit.principal.account_id,
        widgets=wiring.widgets,
        actor=visit.principal.key_id,
        source=visit.principal.source,
        now=utc_now(),
    )
    return redirect(f"{WIDGET_PATH}?done=rotated#snippet")
