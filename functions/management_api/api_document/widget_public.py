"""The website widget's public side as OpenAPI paths: the script customers embed and the endpoints the
widget calls from visitors' browsers. WidgetFunction serves them (functions/widget), reading raw bodies
with the web channel's own parsers, so they are described here from its limits and answers."""

from __future__ import annotations

from typing import Any

from schemas import ERROR_BODY, RETRY_AFTER

from leadhub.channels.web import requests
from leadhub.channels.web.widget import MAX_ORIGINS

TAGS = ["Website widget (public)"]
JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "content": ERROR_BODY, **({"headers": headers} if headers else {})}


SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "widgetVisitor": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Leadhub-Visitor",
        "description": "The visitor token from POST …/session (signed by Leadhub, kept in the page's "
        "localStorage); X-Leadhub-Page, the page load's token from the same answer, goes with it",
    },
}
_KEY = {
    "name": "widgetKey",
    "in": "path",
    "required": True,
    "description": "The widget's public key (`lhw_…`, from GET /api/widget)",
    "schema": {"type": "string", "maxLength": 64},
}
_ORIGIN = {
    "name": "Origin",
    "in": "header",
    "required": True,
    "description": f"The page's origin: it must be on the widget's allow-list (at most {MAX_ORIGINS})",
    "schema": {"type": "string"},
}
_PAGE = {
    "name": "X-Leadhub-Page",
    "in": "header",
    "required": True,
    "description": "The page token from POST …/session (valid 12 hours)",
    "schema": {"type": "string"},
}
_REFUSED = {
    "401": _error("Unknown widget key, or a missing or invalid visitor or page token (start a session)"),
    "403": _error("The widget is turned off, or the page's origin is not on its list (no CORS headers)"),
    "503": _error("Our storage or the widget secret is unavailable: retry", RETRY_AFTER),
}
_BODY_REFUSED = {
    "400": _error("Not a JSON object, unknown fields, or invalid values: `details` names each"),
    "413": _error(f"The body exceeds {requests.MAX_BODY_BYTES // 1024} KiB"),
    "415": _error("Not application/json (or text/plain)"),
    "429": _error(
        "A rate limit of the widget is spent",
        {"Retry-After": {"description": "Seconds until it frees", "schema": {"type": "integer"}}},
    ),
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "WidgetSession": {
        "type": "object",
        "required": ["visitorToken", "pageToken", "captured", "messagesSent", "settings"],
        "properties": {
            "visitorToken": {"type": "string", "description": "The same one a valid token named, or new"},
            "pageToken": {"type": "string"},
            "captured": {"type": "boolean", "description": "The visitor left contact details"},
            "messagesSent": {"type": "integer"},
            "settings": {
                "type": "object",
                "description": "What the widget draws: title, greeting, colors, position, capture, "
                "consentText, texts",
            },
        },
    },
    "WidgetVisitorMessage": {
        "type": "object",
        "required": ["clientMessageId", "text"],
        "additionalProperties": False,
        "properties": {
            "clientMessageId": {
                "type": "string",
                "pattern": "^[A-Za-z0-9_-]{1,64}$",
                "description": "The widget's id of the message: sent again, it is stored once",
            },
            "text": {"type": "string", "minLength": 1, "maxLength": requests.MAX_MESSAGE_CHARS},
            requests.HONEYPOT: {"type": "string", "maxLength": 0, "description": "Honeypot: must be empty"},
        },
    },
    "WidgetMessageReceipt": {
        "type": "object",
        "required": ["stored", "messagesSent", "captured"],
        "properties": {
            "stored": {"type": "boolean", "description": "false: stored before (the same clientMessageId)"},
            "messagesSent": {"type": "integer"},
            "captured": {"type": "boolean"},
        },
    },
    "WidgetMessages": {
        "type": "object",
        "required": ["messages", "cursor", "captured", "messagesSent"],
        "properties": {
            "messages": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "from", "text", "at"],
                    "properties": {
                        "id": {"type": "string"},
                        "from": {"enum": ["visitor", "bot", "agent"]},
                        "text": {"type": ["string", "null"]},
                        "at": {"type": ["string", "null"]},
                        "clientMessageId": {"type": "string"},
                    },
                },
            },
            "cursor": {"type": ["string", "null"], "description": "Send it as X-Leadhub-After next time"},
            "captured": {"type": "boolean"},
            "messagesSent": {"type": "integer"},
        },
    },
    "WidgetContact": {
        "type": "object",
        "additionalProperties": False,
        "description": "Name and an email and/or phone, checked by the lead webhook's rules",
        "properties": {
            "name": {"type": ["string", "null"]},
            "email": {"type": ["string", "null"]},
            "phone": {"type": ["string", "integer", "null"]},
            "pageUrl": {"type": ["string", "null"], "description": "http(s), at most 1,000 characters"},
            "referrer": {"type": ["string", "null"]},
            requests.HONEYPOT: {"type": "string", "maxLength": 0, "description": "Honeypot: must be empty"},
        },
    },
    "WidgetContactReceipt": {
        "type": "object",
        "required": ["captured"],
        "properties": {"captured": {"const": True}},
    },
}


def _preflight(summary: str) -> dict[str, Any]:
    return {
        "tags": TAGS,
        "summary": summary,
        "description": "Answered for the widget's allowed origins only, with their CORS headers.",
        "security": [],
        "parameters": [_KEY, _ORIGIN],
        "responses": {"204": {"description": "Allowed"}, **_REFUSED},
    }


PATHS: dict[str, dict[str, Any]] = {
    "/widget.js": {
        "get": {
            "tags": TAGS,
            "summary": "The widget's script (embed it with the snippet of GET /api/widget)",
            "operationId": "get_widget_script",
            "security": [],
            "responses": {
                "200": {
                    "description": "Vanilla JavaScript (gzip when asked); cached for 5 minutes",
                    "content": {"application/javascript": {"schema": {"type": "string"}}},
                }
            },
        }
    },
    "/widget/v1/{widgetKey}/session": {
        "options": {**_preflight("CORS preflight"), "operationId": "preflight_widget_session"},
        "post": {
            "tags": TAGS,
            "summary": "A page load's session: the visitor (new unless X-Leadhub-Visitor is valid), tokens",
            "operationId": "post_widget_session",
            "security": [],
            "parameters": [
                _KEY,
                _ORIGIN,
                {
                    **_PAGE,
                    "name": "X-Leadhub-Visitor",
                    "required": False,
                    "description": "A returning "
                    "visitor's token (else a new visitor, counted against newVisitorsPerIpPerMinute)",
                },
            ],
            "requestBody": {"content": {JSON: {"schema": {"type": "object", "additionalProperties": False}}}},
            "responses": {
                "200": {"description": "The session", "content": {JSON: {"schema": _ref("WidgetSession")}}},
                **_BODY_REFUSED,
                **_REFUSED,
            },
        },
    },
    "/widget/v1/{widgetKey}/messages": {
        "options": {**_preflight("CORS preflight"), "operationId": "preflight_widget_messages"},
        "post": {
            "tags": TAGS,
            "summary": "A visitor's message: stored in their conversation and answered like any channel's",
            "operationId": "post_widget_message",
            "security": [{"widgetVisitor": []}],
            "parameters": [_KEY, _ORIGIN, _PAGE],
            "requestBody": {"required": True, "content": {JSON: {"schema": _ref("WidgetVisitorMessage")}}},
            "responses": {
                "201": {"description": "Stored", "content": {JSON: {"schema": _ref("WidgetMessageReceipt")}}},
                "200": {
                    "description": "Stored before (the same clientMessageId)",
                    "content": {JSON: {"schema": _ref("WidgetMessageReceipt")}},
                },
                "409": _error("The widget asks for contact details before the first message"),
                **_BODY_REFUSED,
                **_REFUSED,
            },
        },
        "get": {
            "tags": TAGS,
            "summary": "The visitor's conversation after a cursor: their messages and ours once sent",
            "operationId": "get_widget_messages",
            "security": [{"widgetVisitor": []}],
            "parameters": [
                _KEY,
                _ORIGIN,
                _PAGE,
                {
                    "name": "X-Leadhub-After",
                    "in": "header",
                    "required": False,
                    "description": "The cursor of the previous answer (a header, so that the URL and the "
                    "browser's cached preflight stay the same)",
                    "schema": {"type": "string", "maxLength": requests.MAX_CURSOR_CHARS},
                },
            ],
            "responses": {
                "200": {"description": "Messages", "content": {JSON: {"schema": _ref("WidgetMessages")}}},
                "400": _error("Not a cursor this endpoint returned"),
                **_REFUSED,
            },
        },
    },
    "/widget/v1/{widgetKey}/contact": {
        "options": {**_preflight("CORS preflight"), "operationId": "preflight_widget_contact"},
        "post": {
            "tags": TAGS,
            "summary": "The visitor's contact details: a lead (source website-widget), created or merged",
            "operationId": "post_widget_contact",
            "security": [{"widgetVisitor": []}],
            "parameters": [_KEY, _ORIGIN, _PAGE],
            "requestBody": {"required": True, "content": {JSON: {"schema": _ref("WidgetContact")}}},
            "responses": {
                "200": {
                    "description": "Captured",
                    "content": {JSON: {"schema": _ref("WidgetContactReceipt")}},
                },
                **_BODY_REFUSED,
                **_REFUSED,
            },
        },
    },
}
