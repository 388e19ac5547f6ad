"""WhatsApp (Meta Cloud API) webhooks: the subscription handshake, the X-Hub-Signature-256 check over the
raw body, and turning a notification into stored messages and status reports."""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadhub.channels.whatsapp.notification_payload import (
    NotANotification,
    WaContact,
    WaNotification,
    WaValue,
    read_notification,
)
from leadhub.conversations.conversations import record_inbound, record_status
from leadhub.conversations.message_limits import storable_id
from leadhub.conversations.models import Channel, Contact, InboundMessage, StatusUpdate
from leadhub.conversations.ports import ChannelRoutes, ConversationStore
from leadhub.platform.errors import (
    Forbidden,
    InvalidRequest,
    PayloadTooLarge,
    SecretNotConfigured,
    Unauthorized,
    UnstorableInput,
)
from leadhub.platform.json_input import NotJson, object_at, read_provider_json
from leadhub.platform.timestamps import from_unix_or

MAX_BODY_BYTES = 1024 * 1024  # Meta batches up to 1,000 updates per POST
SIGNATURE_PREFIX = "sha256="
_MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})
_MEDIA_FIELDS = {
    "id": "mediaId",
    "mime_type": "mimeType",
    "sha256": "sha256",
    "filename": "filename",
    "animated": "animated",
    "voice": "voice",
}


def answer_subscription(params: Mapping[str, str], verify_token: str | None) -> str:
    """Meta's GET handshake: echo `hub.challenge` when the mode is subscribe and the token ours."""
    token = params.get("hub.verify_token", "")
    valid = (
        verify_token is not None
        and params.get("hub.mode") == "subscribe"
        and hmac.compare_digest(token.encode(), verify_token.encode())
    )
    if not valid:
        raise Forbidden("Verification failed: hub.mode must be subscribe and hub.verify_token must match")
    return params.get("hub.challenge", "")


def check_signature(body: bytes, header: str | None, app_secret: str) -> None:
    """X-Hub-Signature-256: `sha256=` + hex HMAC-SHA256 of the exact body bytes with the app secret."""
    if not header:
        raise Unauthorized("Missing X-Hub-Signature-256 header")
    expected = SIGNATURE_PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(header.strip().lower().encode(), expected.encode()):
        raise Unauthorized("Invalid X-Hub-Signature-256 signature")


@dataclass(frozen=True, slots=True)
class WhatsAppReceipt:
    stored: int = 0
    duplicates: int = 0
    statuses: int = 0
    ignored: int = 0  # unknown phone number ids, fields other than messages, unreadable messages
    # Meta's error codes reported in the notification itself (e.g. a webhook-level delivery problem).
    error_codes: tuple[int, ...] = ()
    # Why messages and statuses we could not store were ignored (counted in `ignored` too), and how many.
    unstorable: Mapping[str, int] = field(default_factory=dict)

    def to_log(self) -> dict[str, int]:
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "statuses": self.statuses,
            "ignored": self.ignored,
        }


def receive_whatsapp(
    body: bytes,
    signature: str | None,
    *,
    app_secret: str | None,
    skip_signature_check: bool,
    routes: ChannelRoutes,
    store: ConversationStore,
    now: datetime,
) -> WhatsAppReceipt:
    """Authenticate, then store every message and apply every status of every entry and change. With an
    app secret every POST must be signed; without one only the development setting lets POSTs in."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"Body exceeds {MAX_BODY_BYTES} bytes")
    if app_secret is not None:
        check_signature(body, signature, app_secret)
    elif not skip_signature_check:
        # 503, not 401: Meta keeps retrying, and nothing is lost once an operator sets the secret.
        raise SecretNotConfigured("The Meta app secret is not configured; cannot verify signatures")
    notification = parse_notification(body)
    stored = duplicates = statuses = ignored = 0
    error_codes: list[int] = []
    unstorable: Counter[str] = Counter()
    for entry in notification.entry:
        for change in entry.changes:
            error_codes += [e["code"] for e in change.value.errors if isinstance(e.get("code"), int)]
            if change.field != "messages" or change.value.metadata is None:
                ignored += 1
                continue
            number_id = change.value.metadata.phone_number_id
            # Not connected here (Meta's dashboard test numbers, a disconnected account), or no id of ours.
            route = routes.find_route(Channel.WHATSAPP, number_id) if storable_id(number_id) else None
            if route is None:
                ignored += len(change.value.messages) + len(change.value.statuses) or 1
                continue
            messages, unreadable = inbound_messages(route.account_id, change.value, now)
            ignored += unreadable
            # Each message and status is stored alone (one write each), so one that cannot be stored is
            # ignored without touching the others; Meta would retry it for days and never succeed.
            for message in messages:
                try:
                    if record_inbound(message, store=store, now=now).stored:
                        stored += 1
                    else:
                        duplicates += 1
                except UnstorableInput as exc:
                    unstorable[exc.message] += 1
            for update in status_updates(route.account_id, change.value, now):
                try:
                    statuses += int(record_status(update, store=store))
                except UnstorableInput as exc:
                    unstorable[exc.message] += 1
    ignored += unstorable.total()
    return WhatsAppReceipt(stored, duplicates, statuses, ignored, tuple(error_codes), dict(unstorable))


def parse_notification(body: bytes) -> WaNotification:
    try:
        payload = read_provider_json(body)
    except NotJson as exc:
        raise InvalidRequest(f"Body is not valid JSON: {exc}") from None
    try:
        return read_notification(payload)
    except NotANotification as exc:
        raise InvalidRequest(f"Not a WhatsApp notification: {exc}") from None


def inbound_messages(account_id: str, value: WaValue, now: datetime) -> tuple[list[InboundMessage], int]:
    """The change's messages, normalised, and how many could not be read (no id or no sender). A sender
    is named by their phone number (`from`, Meta's wa_id), their business-scoped user id (`from_user_id`,
    since April 2026), or both: a user with a username may share no number. `contacts[]` names them by
    the same keys (`wa_id`, `user_id`)."""
    assert value.metadata is not None
    contacts = {key: c for c in value.contacts for key in (c.wa_id, c.user_id) if key}
    messages: list[InboundMessage] = []
    unreadable = 0
    for raw in value.messages:
        message_id, sender = raw.get("id"), raw.get("from")
        phone = sender if isinstance(sender, str) and sender.isdigit() else None
        user_id = _str(raw.get("from_user_id")) or (sender if isinstance(sender, str) and not phone else None)
        if not isinstance(message_id, str) or not message_id or not (phone or user_id):
            unreadable += 1
            continue
        kind, text, content = normalise_message(raw)
        route = {"phoneNumberId": value.metadata.phone_number_id}
        route |= {"waId": phone} if phone else {}
        route |= {"userId": user_id} if user_id else {}  # the reply goes to the number if known
        messages.append(
            InboundMessage(
                account_id=account_id,
                contact=_contact(phone, user_id, contacts.get(phone or "") or contacts.get(user_id or "")),
                provider_message_id=message_id,
                dedupe_keys=(),  # the provider message id deduplicates
                sent_at=from_unix_or(raw.get("timestamp"), now),
                type=kind,
                text=text,
                content=content,
                route=route,
            )
        )
    return messages, unreadable


def status_updates(account_id: str, value: WaValue, now: datetime) -> list[StatusUpdate]:
    updates = []
    for raw in value.statuses:
        message_id, status = raw.get("id"), raw.get("status")
        if isinstance(message_id, str) and isinstance(status, str):
            errors = tuple(_errors(raw))
            at = from_unix_or(raw.get("timestamp"), now)
            updates.append(StatusUpdate(account_id, Channel.WHATSAPP, message_id, status, at, errors))
    return updates


def normalise_message(raw: Mapping[str, Any]) -> tuple[str, str | None, dict[str, Any]]:
    """(type, text, content) of one message; types we do not know keep their name and their errors."""
    kind = str(raw.get("type") or "unknown")
    body = object_at(raw, kind)
    text: str | None = None
    content: dict[str, Any] = {}
    if kind == "text":
        text = _str(body.get("body"))
    elif kind in _MEDIA_TYPES:
        content = {ours: body[theirs] for theirs, ours in _MEDIA_FIELDS.items() if theirs in body}
        text = _str(body.get("caption"))
        if text is not None:
            content["caption"] = text
    elif kind == "interactive":
        kind, text, content = _interactive(body)
    elif kind == "button":  # a template's quick-reply button
        text = _str(body.get("text"))
        content = {"payload": body.get("payload"), "text": text}
    elif kind == "reaction":
        # An empty emoji means the reaction was removed.
        content = {"messageId": body.get("message_id"), "emoji": body.get("emoji") or None}
        text = content["emoji"]
    elif kind == "location":
        content = {k: body[k] for k in ("latitude", "longitude", "name", "address", "url") if k in body}
    elif kind == "contacts":
        content = {"contacts": raw.get("contacts") or []}
    elif kind == "order":
        content = {"catalogId": body.get("catalog_id"), "productItems": body.get("product_items") or []}
        text = _str(body.get("text"))
    else:
        content = {"raw": body} if body else {}
    if raw.get("errors"):
        content["errors"] = _errors(raw)
    context = raw.get("context")
    if isinstance(context, dict) and context.get("id"):
        content["replyTo"] = {"messageId": context.get("id"), "from": context.get("from")}
    if isinstance(raw.get("referral"), dict):
        content["referral"] = raw["referral"]
    return kind, text, content


def _interactive(body: Mapping[str, Any]) -> tuple[str, str | None, dict[str, Any]]:
    reply_type = str(body.get("type") or "unknown")
    reply = object_at(body, reply_type)
    if reply_type in ("button_reply", "list_reply"):
        content: dict[str, Any] = {k: reply[k] for k in ("id", "title", "description") if k in reply}
        return reply_type, _str(reply.get("title")), content
    if reply_type == "nfm_reply":  # a WhatsApp Flow's answers
        return "flow_reply", _str(reply.get("body")), {"responseJson": reply.get("response_json")}
    return f"interactive.{reply_type}", None, {"raw": dict(body)}


def _contact(phone_digits: str | None, user_id: str | None, contact: WaContact | None) -> Contact:
    """Keyed by the business-scoped user id when there is one (it stays when the number is hidden), else
    by the phone; named by the profile name, else the username."""
    profile = contact.profile if contact else None
    name, username = (profile.name, profile.username) if profile else (None, None)
    phone = f"+{phone_digits}" if phone_digits else None  # wa_id: international format without "+"
    key = user_id or phone
    assert key is not None
    return Contact(Channel.WHATSAPP, key, name=name or username, phone=phone, username=username or None)


def _errors(raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = raw.get("errors")
    return [_error(e) for e in found if isinstance(e, dict)] if isinstance(found, list) else []


def _error(raw: Mapping[str, Any]) -> dict[str, Any]:
    details = raw.get("error_data", {}).get("details") if isinstance(raw.get("error_data"), dict) else None
    error = {"code": raw.get("code"), "title": raw.get("title"), "message": raw.get("message")}
    if details:
        error["details"] = details
    return {k: v for k, v in error.items() if v is not None}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
