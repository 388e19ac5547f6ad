"""The account's side of the widget (`integrations:manage`): its settings, its public key and the snippet
to paste, and key rotation (the old key is refused once warm caches expire)."""

from __future__ import annotations

from datetime import datetime

from leadhub.accounts.audit import AuditEntry
from leadhub.accounts.ports import AccountRepository
from leadhub.channels.web.ports import WidgetStore
from leadhub.channels.web.widget import WIDGET_KEY_PREFIX, Widget, WidgetSettings
from leadhub.platform.errors import Conflict, NotFound
from leadhub.platform.ids import secret_token
from leadhub.platform.timestamps import to_iso


def get_widget(account_id: str, *, widgets: WidgetStore) -> Widget | None:
    """None until the account saves settings for the first time."""
    return widgets.get(account_id)


def save_widget(
    account_id: str,
    settings: WidgetSettings,
    *,
    widgets: WidgetStore,
    accounts: AccountRepository,
    actor: str,
    source: str,
    now: datetime,
) -> Widget:
    """Replace the settings; the first save also creates the widget's key."""
    previous = widgets.get(account_id)
    if previous is not None:
        key, region = previous.widget_key, previous.default_region
    else:
        account = accounts.get_account(account_id)
        if account is None:
            raise NotFound("Account not found")
        key, region = secret_token(WIDGET_KEY_PREFIX), account.default_region
    version = previous.version + 1 if previous else 1
    widget = Widget(account_id, key, settings, region, to_iso(now), version)
    return _saved(widget, previous, "widget.updated", widgets=widgets, actor=actor, source=source)


def rotate_widget_key(
    account_id: str, *, widgets: WidgetStore, actor: str, source: str, now: datetime
) -> Widget:
    previous = widgets.get(account_id)
    if previous is None:
        raise NotFound("The widget is not set up yet: PUT /api/widget first")
    widget = Widget(
        account_id=account_id,
        widget_key=secret_token(WIDGET_KEY_PREFIX),
        settings=previous.settings,
        default_region=previous.default_region,
        updated_at=to_iso(now),
        version=previous.version + 1,
    )
    return _saved(widget, previous, "widget.key_rotated", widgets=widgets, actor=actor, source=source)


def _saved(
    widget: Widget, previous: Widget | None, action: str, *, widgets: WidgetStore, actor: str, source: str
) -> Widget:
    # source: "api" or "dashboard", where the change was made (the caller's principal says).
    audit = AuditEntry(widget.account_id, action, source, widget.updated_at, actor=actor)
    if not widgets.save(widget, previous, audit):
        raise Conflict("The widget was changed concurrently; read it again")
    return widget
