"""Inbound email through Resend: the Svix-signed `email.received` webhook (metadata only) is stored at once
as a message awaiting its content; the content is fetched from Resend's received-email API afterwards,
off the webhook's path, and trimmed to the new text (quoted history and signatures dropped)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.utils import getaddresses, parseaddr
from typing import Any

from leadhub.domain.conversations import record_inbound
from leadhub.domain.message_limits import storable_id
from leadhub.domain.signing import verify_standard_signature
from leadhub.errors import InvalidRequest, PayloadTooLarge, SecretNotConfigured, Unauthorized, UnstorableInput
from leadhub.models.conversation import Channel, ChannelReceipt, Contact, InboundMessage
from leadhub.models.integration import email_reply_route_key
from leadhub.ports import ChannelRoute, ChannelRoutes, ConversationStore
from leadhub.provider_json import NotJson, read_provider_json
from leadhub.timestamps import to_iso

MAX_BODY_BYTES = 256 * 1024
SIGNATURE_TOLERANCE_SECONDS = 5 * 60  # both ways, as Svix and Standard Webhooks verify
EMAIL_RECEIVED = "email.received"
REPLY_LOCAL_PART = "reply+"
_SVIX_HEADERS = ("id", "timestamp", "signature")


def check_svix_signature(body: bytes, headers: Mapping[str, str], secret: str, now: datetime) -> str:
    """The message id of a validly signed delivery (`svix-*` headers, or their `webhook-*` twins)."""
    prefix = "svix-" if "svix-id" in headers else "webhook-"
    found = {name: headers.get(prefix + name, "") for name in _SVIX_HEADERS}
    if not all(found.values()):
        raise Unauthorized("Missing svix-id, svix-timestamp or svix-signature header")
    standard = {f"webhook-{name}": value for name, value in found.items()}
    if not verify_standard_signature(
        secret, standard, body, now=int(now.timestamp()), tolerance_seconds=SIGNATURE_TOLERANCE_SECONDS
    ):
        raise Unauthorized("Invalid svix signature, or a timestamp more than 5 minutes away")
    return found["id"]


def receive_email_event(
    body: bytes,
    headers: Mapping[str, str],
    *,
    webhook_secret: str | None,
    receiving_domain: str,
    routes: ChannelRoutes,
    store: ConversationStore,
    now: datetime,
) -> ChannelReceipt:
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"Body exceeds {MAX_BODY_BYTES} bytes")
    if webhook_secret is None:
        raise SecretNotConfigured("The Resend webhook secret is not configured; cannot verify signatures")
    delivery_id = check_svix_signature(body, headers, webhook_secret, now)
    event = _parse_event(body)
    if event.get("type") != EMAIL_RECEIVED:
        return ChannelReceipt("ignored")
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("email_id"), str) or not data["email_id"]:
        raise InvalidRequest("email.received without data.email_id")
    sender_name, sender = parseaddr(str(data.get("from") or ""))
    if "@" not in sender:
        return ChannelReceipt("ignored")  # bounces and mailer daemons without a sender address
    recipients = _addresses(data, "to", "cc", "received_for")
    target = _route(recipients, receiving_domain, routes)
    if target is None:
        return ChannelReceipt("ignored")  # sent to a domain no account connected
    route, conversation_id = target
    address = sender.lower()
    message = InboundMessage(
        account_id=route.account_id,
        contact=Contact(Channel.EMAIL, address, name=sender_name or None, email=address),
        provider_message_id=data["email_id"],
        dedupe_keys=(delivery_id,),
        sent_at=_received_at(data, now),
        type="email",
        content=_metadata(data),
        route={"address": address, "to": recipients[0] if recipients else ""},
        conversation_id=conversation_id,
        awaiting_content=True,
    )
    try:
        receipt = record_inbound(message, store=store, now=now)
    except UnstorableInput as exc:  # e.g. an email id too long: Resend would retry it for days
        return ChannelReceipt("ignored", reason=exc.message)
    return ChannelReceipt("stored" if receipt.stored else "duplicate")


def _parse_event(body: bytes) -> dict[str, Any]:
    try:
        event = read_provider_json(body)
    except NotJson as exc:
        raise InvalidRequest(f"Body is not valid JSON: {exc}") from None
    if not isinstance(event, dict):
        raise InvalidRequest("Body must be a JSON object")
    return event


def _addresses(data: Mapping[str, Any], *fields: str) -> list[str]:
    lists = [data[f] for f in fields if isinstance(data.get(f), list)]
    raw = [str(v) for values in lists for v in values]
    # Longer than any address (254 characters at most) is no address of ours, nor one to store.
    found = [address.lower() for _, address in getaddresses(raw) if "@" in address and storable_id(address)]
    return list(dict.fromkeys(found))


def _route(
    recipients: list[str], receiving_domain: str, routes: ChannelRoutes
) -> tuple[ChannelRoute, str | None] | None:
    """A reply to one of our addresses names its conversation; otherwise mail to a connected domain
    starts (or joins) the sender's conversation with that account."""
    reply_domain = "@" + receiving_domain.lower()
    for address in recipients:
        local, _, _ = address.partition("@")
        if receiving_domain and address.endswith(reply_domain) and local.startswith(REPLY_LOCAL_PART):
            conversation_id = local.removeprefix(REPLY_LOCAL_PART)
            route = routes.find_route(Channel.EMAIL, email_reply_route_key(conversation_id))
            if route is not None:
                return route, conversation_id
    for address in recipients:
        route = routes.find_route(Channel.EMAIL, address.rpartition("@")[2])
        if route is not None:
            return route, None
    return None


def _metadata(data: Mapping[str, Any]) -> dict[str, Any]:
    content = {
        "emailId": data["email_id"],
        "subject": data.get("subject"),
        "from": data.get("from"),
        "to": data.get("to") or [],
        "cc": data.get("cc") or [],
        "messageId": data.get("message_id"),
    }
    listed = data.get("attachments")
    attachments = [
        {k: a.get(k) for k in ("id", "filename", "content_type")}
        for a in (listed if isinstance(listed, list) else [])
        if isinstance(a, dict)
    ]
    if attachments:
        content["attachments"] = attachments
    return {k: v for k, v in content.items() if v not in (None, [])}


def _received_at(data: Mapping[str, Any], now: datetime) -> str:
    raw = data.get("created_at")
    if isinstance(raw, str):
        try:
            return to_iso(datetime.fromisoformat(raw.replace("Z", "+00:00")))
        except (ValueError, OverflowError):  # OverflowError: a time at the very edge of year 1 or 9999
            pass
    return to_iso(now)
