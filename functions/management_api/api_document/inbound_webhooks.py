"""The inbound webhooks as OpenAPI paths: what CRMs, form tools, Meta, Telegram and Resend POST to Leadhub.

Other functions serve them (functions/*_webhook), with handlers that read the raw body instead of a
pydantic model (for their cold starts, and to check signatures over the exact bytes), so they are
described here, from the domain code's limits and answers, instead of generated. The integration tests
post to each of them and check the answers against these descriptions."""

from __future__ import annotations

from typing import Any

from schemas import ERROR_BODY, RETRY_AFTER

from leadhub.domain import email_inbound, lead_intake, telegram, whatsapp
from leadhub.models import lead_submission as limits

TAGS = ["Inbound webhooks"]
JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": ERROR_BODY}


def _too_large(max_bytes: int) -> dict[str, Any]:
    return _error(f"The body exceeds {max_bytes // 1024} KiB")


STORAGE_FAILED = {**_error("Our storage failed; nothing was half-written: retry"), "headers": RETRY_AFTER}
_NOT_STORED = "{} is not configured, or our storage failed: the provider retries, and nothing is lost"


def _provider_retry(secret: str) -> dict[str, Any]:
    return {**_error(_NOT_STORED.format(secret)), "headers": RETRY_AFTER}


SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "metaSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Hub-Signature-256",
        "description": "`sha256=` + hex HMAC-SHA256 of the raw body, keyed by the Meta app secret",
    },
    "telegramSecretToken": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Telegram-Bot-Api-Secret-Token",
        "description": "The secret Leadhub registered with setWebhook when the bot was connected; it names "
        "the account",
    },
    "svixSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "svix-signature",
        "description": "Resend's Svix signature: `v1,<base64 HMAC-SHA256>` of "
        "`{svix-id}.{svix-timestamp}.{body}`, keyed by the webhook secret; the svix-id and svix-timestamp "
        "headers go with it, and the timestamp must be within 5 minutes",
    },
}

_CUSTOM_FIELD = (
    f"Any other field is a custom field: strings, numbers and booleans are stored as text (names ≤ "
    f"{limits.MAX_CUSTOM_KEY_CHARS}, values ≤ {limits.MAX_CUSTOM_VALUE_CHARS} characters, ≤ "
    f"{limits.MAX_CUSTOM_FIELDS_PER_REQUEST} per request); objects and arrays are not stored and are "
    "listed in `ignoredFields`."
)
SCHEMAS: dict[str, dict[str, Any]] = {
    "LeadSubmission": {
        "type": "object",
        "description": "A lead, as a CRM or form tool posts it. " + _CUSTOM_FIELD,
        "required": ["phone"],
        "properties": {
            "phone": {
                "type": ["string", "integer"],
                "description": "Normalised to E.164; national numbers are read in the account's region",
            },
            "name": {"type": ["string", "null"], "maxLength": limits.MAX_NAME_CHARS},
            "email": {"type": ["string", "null"], "maxLength": limits.MAX_EMAIL_CHARS, "format": "email"},
            "tags": {
                "description": "A list, or one comma-separated string",
                "anyOf": [
                    {
                        "type": "array",
                        "maxItems": limits.MAX_TAGS_PER_REQUEST,
                        "items": {"type": "string", "maxLength": limits.MAX_TAG_CHARS},
                    },
                    {"type": "string"},
                ],
            },
        },
        "additionalProperties": True,
    },
    "LeadSubmissionForm": {
        "type": "object",
        "description": "The same lead form-encoded: `tags` repeated (or `tags[]`) or comma-separated. "
        + _CUSTOM_FIELD,
        "required": ["phone"],
        "properties": {
            "phone": {"type": "string"},
            "name": {"type": "string", "maxLength": limits.MAX_NAME_CHARS},
            "email": {"type": "string", "maxLength": limits.MAX_EMAIL_CHARS},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "additionalProperties": {"type": "string"},
    },
    "LeadReceipt": {
        "type": "object",
        "required": ["leadId", "created"],
        "properties": {
            "leadId": {"type": "string"},
            "created": {
                "type": "boolean",
                "description": "true: a new lead; false: merged into the existing",
            },
            "ignoredFields": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Fields not stored: objects and arrays, and additions past a lead's limits",
            },
        },
    },
    "WhatsAppNotification": {
        "type": "object",
        "description": "A WhatsApp Cloud API notification (Meta batches entries, changes, messages and "
        "statuses); routed by each change's `metadata.phone_number_id`",
        "required": ["object", "entry"],
        "properties": {"object": {"type": "string"}, "entry": {"type": "array", "items": {"type": "object"}}},
    },
    "WhatsAppReceipt": {
        "type": "object",
        "required": ["received", "stored", "duplicates", "statuses", "ignored"],
        "properties": {
            "received": {"const": True},
            "stored": {"type": "integer", "description": "New messages stored"},
            "duplicates": {"type": "integer", "description": "Messages we had already (Meta's retries)"},
            "statuses": {"type": "integer", "description": "Statuses that moved one of our messages"},
            "ignored": {
                "type": "integer",
                "description": "Changes and messages ignored: numbers not connected here, unreadable ones",
            },
        },
    },
    "TelegramUpdate": {
        "type": "object",
        "description": "One Telegram Bot API Update: `message`, `edited_message`, `channel_post`, "
        "`callback_query` … (other kinds are acknowledged and ignored)",
        "required": ["update_id"],
        "properties": {"update_id": {"type": "integer"}},
    },
    "ResendEvent": {
        "type": "object",
        "description": "A Resend webhook event; `email.received` is stored (its content is fetched from "
        "Resend's received-email API afterwards), other types are acknowledged and ignored",
        "required": ["type"],
        "properties": {
            "type": {"type": "string", "examples": [email_inbound.EMAIL_RECEIVED]},
            "created_at": {"type": "string"},
            "data": {
                "type": "object",
                "properties": {
                    "email_id": {"type": "string"},
                    "from": {"type": "string"},
                    "to": {"type": "array", "items": {"type": "string"}},
                    "cc": {"type": "array", "items": {"type": "string"}},
                    "subject": {"type": "string"},
                },
            },
        },
    },
    "ChannelReceipt": {
        "type": "object",
        "required": ["received", "outcome"],
        "properties": {
            "received": {"const": True},
            "outcome": {"enum": ["stored", "duplicate", "edited", "ignored"]},
        },
    },
}

_IGNORED = (
    " Payloads we do not act on (other event kinds, numbers or domains not connected here) are answered "
    "200 and ignored, so that the provider does not retry them."
)
PATHS: dict[str, dict[str, Any]] = {
    "/api/webhooks/leads/{token}": {
        "post": {
            "tags": TAGS,
            "summary": "Post a lead (CRMs, form tools)",
            "description": "The account's lead webhook: the token in the path authenticates it (rotate it "
            "with `POST /api/accounts/current/webhook-token/rotate`). A lead is deduplicated by its E.164 "
            "phone within the account; a repeated post merges into it. Also accepted: JSON as `text/plain`, "
            f"`*+json` or without a Content-Type; a declared charset is honoured. At most "
            f"{lead_intake.MAX_BODY_BYTES // 1024} KiB.",
            "operationId": "post_lead_webhook",
            "security": [],
            "parameters": [
                {
                    "name": "token",
                    "in": "path",
                    "required": True,
                    "description": "The account's webhook token (`lht_…`, from GET /api/accounts/current)",
                    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "maxLength": 64},
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    JSON: {"schema": _ref("LeadSubmission")},
                    "application/x-www-form-urlencoded": {"schema": _ref("LeadSubmissionForm")},
                },
            },
            "responses": {
                "201": {"description": "A new lead", "content": {JSON: {"schema": _ref("LeadReceipt")}}},
                "200": {
                    "description": "The phone's lead existed; the post was merged into it",
                    "content": {JSON: {"schema": _ref("LeadReceipt")}},
                },
                "400": _error(
                    "Invalid JSON or form, wrong types, invalid phone or email, limits exceeded: "
                    "`details` lists every problem"
                ),
                "401": _error("Unknown or rotated token"),
                "413": _too_large(lead_intake.MAX_BODY_BYTES),
                "415": _error("Another content type, or an unknown charset"),
                "503": STORAGE_FAILED,
            },
        }
    },
    "/api/webhooks/meta-whatsapp": {
        "get": {
            "tags": TAGS,
            "summary": "Meta's subscription handshake (WhatsApp)",
            "description": "Meta calls it when the webhook is set up in the app dashboard: the challenge is "
            "echoed when hub.mode is subscribe and hub.verify_token is the deployment's verify token.",
            "operationId": "verify_whatsapp_webhook",
            "security": [],
            "parameters": [
                {"name": "hub.mode", "in": "query", "required": True, "schema": {"type": "string"}},
                {"name": "hub.verify_token", "in": "query", "required": True, "schema": {"type": "string"}},
                {"name": "hub.challenge", "in": "query", "required": True, "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {
                    "description": "hub.challenge, echoed",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                "403": _error("hub.mode is not subscribe, or the verify token does not match"),
                "503": {**_error("Our secret store failed: retry"), "headers": RETRY_AFTER},
            },
        },
        "post": {
            "tags": TAGS,
            "summary": "WhatsApp notifications (Meta Cloud API): messages and statuses",
            "description": "Signed by Meta over the raw body. Every message of every entry and change is "
            "stored (deduplicated by its id) and every status applied before the 200." + _IGNORED,
            "operationId": "post_whatsapp_webhook",
            "security": [{"metaSignature": []}],
            "requestBody": {"required": True, "content": {JSON: {"schema": _ref("WhatsAppNotification")}}},
            "responses": {
                "200": {"description": "Stored", "content": {JSON: {"schema": _ref("WhatsAppReceipt")}}},
                "400": _error("Not JSON, or not a WhatsApp notification"),
                "401": _error("Missing or invalid X-Hub-Signature-256"),
                "413": _too_large(whatsapp.MAX_BODY_BYTES),
                "503": _provider_retry("The Meta app secret"),
            },
        },
    },
    "/api/webhooks/telegram": {
        "post": {
            "tags": TAGS,
            "summary": "Telegram bot updates",
            "description": "One Update per request from a connected bot; the secret-token header names the "
            "account. Stored (deduplicated by bot and update_id) before the 200; updates without text "
            "(stickers, member updates …) are acknowledged and ignored.",
            "operationId": "post_telegram_webhook",
            "security": [{"telegramSecretToken": []}],
            "requestBody": {"required": True, "content": {JSON: {"schema": _ref("TelegramUpdate")}}},
            "responses": {
                "200": {"description": "Handled", "content": {JSON: {"schema": _ref("ChannelReceipt")}}},
                "400": _error("Not JSON, or not an Update (an object with an integer update_id)"),
                "401": _error("Missing or unknown X-Telegram-Bot-Api-Secret-Token"),
                "413": _too_large(telegram.MAX_BODY_BYTES),
                "503": STORAGE_FAILED,
            },
        }
    },
    "/api/webhooks/email": {
        "post": {
            "tags": TAGS,
            "summary": "Inbound email (Resend, Svix-signed)",
            "description": "`email.received` is stored at once (metadata only, deduplicated by svix-id) and "
            "threaded by `reply+{conversationId}@` the receiving domain; its content is fetched from "
            "Resend afterwards." + _IGNORED,
            "operationId": "post_email_webhook",
            "security": [{"svixSignature": []}],
            "parameters": [
                {"name": "svix-id", "in": "header", "required": True, "schema": {"type": "string"}},
                {
                    "name": "svix-timestamp",
                    "in": "header",
                    "required": True,
                    "description": "Unix seconds",
                    "schema": {"type": "string"},
                },
            ],
            "requestBody": {"required": True, "content": {JSON: {"schema": _ref("ResendEvent")}}},
            "responses": {
                "200": {"description": "Handled", "content": {JSON: {"schema": _ref("ChannelReceipt")}}},
                "400": _error("Not a JSON object, or email.received without data.email_id"),
                "401": _error(
                    "Missing svix headers, an invalid signature, or a timestamp over 5 minutes away"
                ),
                "413": _too_large(email_inbound.MAX_BODY_BYTES),
                "503": _provider_retry("The Resend webhook secret"),
            },
        }
    },
}
