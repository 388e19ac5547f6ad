"""Connecting an account's Telegram bot: the token is checked with getMe, the bot (its id) is claimed for
the account, a secret is generated, and we register the webhook with Telegram ourselves (setWebhook with
that secret). The secret's hash routes updates to the account; the bot token is stored encrypted."""

from __future__ import annotations

import contextlib
import secrets
from datetime import datetime, timedelta

from leadhub.accounts.audit import AuditEntry
from leadhub.channels.integrations import WEBHOOK_PATHS, get_integration
from leadhub.channels.models import Integration, credential_context
from leadhub.channels.ports import IntegrationStore
from leadhub.channels.telegram.ports import TelegramBotApiPort
from leadhub.conversations.models import Channel
from leadhub.platform.errors import Conflict, FieldError, InvalidRequest, StorageUnavailable
from leadhub.platform.ids import token_hash
from leadhub.platform.ports import SecretCipher
from leadhub.platform.timestamps import to_iso

WEBHOOK_PATH = WEBHOOK_PATHS[Channel.TELEGRAM]
# The updates the webhook stores; Telegram does not send the others at all.
ALLOWED_UPDATES = ("message", "edited_message", "channel_post", "edited_channel_post", "callback_query")
TAKEN = "This Telegram bot is connected to another account; disconnect it there first"
# A claim whose connect died before saving is free again after this: longer than any connect can last
# (a Lambda function runs at most 15 minutes).
ABANDONED_CLAIM_AFTER = timedelta(minutes=15)


class TelegramRefused(Exception):
    """The Bot API answered ok=false; the message is Telegram's description."""


def new_webhook_secret() -> str:
    """256 random bits in Telegram's alphabet for secret_token ([A-Za-z0-9_-], 1-256 characters)."""
    return secrets.token_urlsafe(32)


def connect_telegram(
    account_id: str,
    bot_token: str,
    *,
    public_base_url: str,
    bot_api: TelegramBotApiPort,
    integrations: IntegrationStore,
    cipher: SecretCipher,
    actor: str,
    now: datetime,
    source: str = "api",
) -> Integration:
    """A bot belongs to one account: its id (from getMe) is claimed before setWebhook, so that connecting
    another account's bot is refused (409) without taking its webhook away. Reconnecting the account's
    own bot (also with a new token from BotFather) just registers a new secret."""
    webhook_url = public_base_url + WEBHOOK_PATH
    try:
        bot = bot_api.get_me(bot_token)
    except TelegramRefused as exc:
        raise _refused(str(exc)) from None
    bot_id = bot.get("id")
    if not isinstance(bot_id, int) or isinstance(bot_id, bool):
        raise _refused("getMe did not name the bot")
    claim = str(bot_id)
    at = to_iso(now)
    previous = integrations.get(account_id, Channel.TELEGRAM)
    if not integrations.claim(Channel.TELEGRAM, claim, account_id, at, to_iso(now - ABANDONED_CLAIM_AFTER)):
        raise Conflict(TAKEN)
    held_before = previous is not None and previous.claim_key == claim
    try:
        secret = new_webhook_secret()
        try:
            bot_api.set_webhook(bot_token, webhook_url, secret, ALLOWED_UPDATES)
        except TelegramRefused as exc:
            raise _refused(str(exc)) from None
        integration = Integration(
            account_id=account_id,
            channel=Channel.TELEGRAM,
            route_key=token_hash(secret),  # a new random secret's route cannot belong to anyone else
            connected_at=at,
            credential=cipher.encrypt(bot_token, credential_context(account_id, Channel.TELEGRAM)),
            settings={
                "botId": claim,
                "botUsername": str(bot.get("username", "")),
                "webhookUrl": webhook_url,
            },
            claim_key=claim,
        )
        audit = AuditEntry(
            account_id, "integration.connected", source, at, actor=actor, target={"channel": "telegram"}
        )
        if not integrations.save(integration, previous, audit):
            raise Conflict(TAKEN)  # our claim was taken over as abandoned: this connect took too long
    except Exception:
        if not held_before:  # give back what this failed connect claimed
            with contextlib.suppress(StorageUnavailable):  # left pending, it is free once abandoned
                integrations.release(Channel.TELEGRAM, claim, account_id)
        raise
    return integration


def _refused(description: str) -> InvalidRequest:
    return InvalidRequest(
        "Telegram refused the bot token", [FieldError("telegramBotToken", f"Telegram: {description}")]
    )


def disconnect_telegram(
    account_id: str,
    *,
    bot_api: TelegramBotApiPort,
    integrations: IntegrationStore,
    cipher: SecretCipher,
    actor: str,
    now: datetime,
    source: str = "api",
) -> Integration:
    found = get_integration(account_id, Channel.TELEGRAM, integrations=integrations)
    token = cipher.decrypt(found.credential, credential_context(account_id, Channel.TELEGRAM))
    with contextlib.suppress(TelegramRefused):  # a revoked token has no webhook left to delete
        bot_api.delete_webhook(token)
    audit = AuditEntry(
        account_id,
        "integration.disconnected",
        source,
        to_iso(now),
        actor=actor,
        target={"channel": "telegram"},
    )
    integrations.delete(found, audit)
    return found
