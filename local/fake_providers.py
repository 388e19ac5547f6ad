"""Loopback fakes of the messaging providers' APIs (Graph API, Telegram Bot API, Resend): real HTTP
servers on 127.0.0.1 that answer per route and record every request. The tests script them; the local
stack runs them for trying the channels without accounts at Meta, Telegram or Resend
(LEADHUB_FAKE_PROVIDERS=1), where `/_simulate/...` routes also play the provider's side of a webhook:
a person writes, and the fake posts the signed webhook to Leadhub as the provider would."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import HeaderRegistry
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from local.loopback_server import LoopbackHTTPServer


@dataclass(frozen=True)
class ApiCall:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: Any  # parsed JSON, or None


# (call, path match) -> (status, JSON body), or (status, JSON body, response headers)
Route = Callable[[ApiCall, re.Match[str]], tuple[Any, ...]]


class FakeProviderApi:
    def __init__(self, port: int = 0) -> None:
        self.calls: list[ApiCall] = []
        self.sent: list[dict[str, Any]] = []  # messages Leadhub sent through this provider
        self._routes: list[tuple[str, re.Pattern[str], Route]] = []
        self._failures: list[tuple[int, Any]] = []  # answers for the next API calls (an outage)
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: with Nagle's algorithm the body waited for the
            # client's delayed ACK, ~40 ms on every call over a kept-alive connection.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                call = ApiCall(
                    self.command,
                    parts.path,
                    dict(parse_qsl(parts.query)),
                    {k.lower(): v for k, v in self.headers.items()},
                    json.loads(raw) if raw else None,
                )
                status, body, *extra = fake._answer(call)
                data = json.dumps(body).encode()
                self.send_response(status)
                for name, value in (extra[0] if extra else {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _handle

        self._server = LoopbackHTTPServer(("127.0.0.1", port), Handler)
        self.route("GET", r"/_sent", self._sent_matching)
        self.route("POST", r"/_fail", self._fail_from_request)
        self._server.serve_in_background()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _sent_matching(self, call: ApiCall, _: re.Match[str]) -> tuple[int, Any]:
        """What was sent, optionally only what has the query's top-level fields (e.g. ?to=14155550123)."""
        with self._lock:
            sent = list(self.sent)
        wanted = call.query
        return 200, {"sent": [m for m in sent if all(str(m.get(k)) == v for k, v in wanted.items())]}

    def fail_next(self, count: int = 1, status: int = 500, body: Any = None) -> None:
        """Answer the next `count` API calls (the fake's own `/_…` routes aside) with `status`."""
        with self._lock:
            self._failures += [(status, body or {"message": "the fake provider is down"})] * count

    def _fail_from_request(self, call: ApiCall, _: re.Match[str]) -> tuple[int, Any]:
        """POST /_fail {"count": 3, "status": 500}: the same, over HTTP (for the local stack)."""
        wanted = call.body if isinstance(call.body, dict) else {}
        self.fail_next(int(wanted.get("count", 1)), int(wanted.get("status", 500)))
        return 200, {"failing": len(self._failures)}

    def route(self, method: str, path_pattern: str, answer: Route) -> None:
        """Answer `method` requests whose path fully matches `path_pattern`; later routes win."""
        with self._lock:
            self._routes.insert(0, (method, re.compile(path_pattern), answer))

    def _answer(self, call: ApiCall) -> tuple[Any, ...]:
        with self._lock:
            self.calls.append(call)
            routes = list(self._routes)
            if self._failures and not call.path.startswith("/_"):
                return self._failures.pop(0)
        for method, pattern, answer in routes:
            match = pattern.fullmatch(call.path)
            if method == call.method and match:
                return answer(call, match)
        return 404, {"error": {"message": f"no fake route for {call.method} {call.path}"}}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# Meta's Graph API refusals (Cloud API "Error codes" reference): HTTP status and message per code. Every
# refusal has this shape: {"error": {"message", "type", "code", "error_subcode"?, "error_data":
# {"messaging_product", "details"}, "fbtrace_id"}} (type OAuthException).
GRAPH_ERRORS = {
    4: (400, "(#4) Application request limit reached"),
    100: (400, "(#100) Invalid parameter"),
    190: (401, "Invalid OAuth access token - Cannot parse access token"),
    130429: (400, "(#130429) Rate limit hit"),
    131000: (500, "(#131000) Something went wrong"),
    131008: (400, "(#131008) Required parameter is missing"),
    131009: (400, "(#131009) Parameter value is not valid"),
    131026: (400, "(#131026) Message undeliverable"),
    131047: (400, "(#131047) Re-engagement message"),
}
RE_ENGAGEMENT_DETAILS = (
    "Message failed to send because more than 24 hours have passed since the customer last replied to "
    "this number."
)
# A business-scoped user id: a two-letter country code, a period, up to 128 alphanumerics; a parent BSUID
# has ENT between them (Meta's "Business-scoped user IDs").
BSUID = re.compile(r"[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}")
TEXT_BODY_LIMIT = 4096  # characters of a text message's body


def graph_error(code: int, details: str | None = None) -> tuple[int, dict[str, Any]]:
    """Meta's answer refusing a request with `code` (GRAPH_ERRORS), with `error_data.details` if given."""
    status, message = GRAPH_ERRORS[code]
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    error["fbtrace_id"] = f"A{uuid.uuid4().hex[:22]}"
    return status, {"error": error}


def whatsapp_user_id(seed: str) -> str:
    """A stable business-scoped user id for a simulated person (the same seed, the same id)."""
    return "US." + str(int(hashlib.sha256(seed.encode()).hexdigest(), 16))[:20]


class FakeGraphApi(FakeProviderApi):
    """Meta's Graph API for one WhatsApp Business account with one phone number and one valid token.

    Sending (POST /{phone-number-id}/messages) checks what Meta documents: `messaging_product`
    "whatsapp"; the recipient in `to` (a phone number only) or in `recipient` (a business-scoped user id,
    BSUID); a text body of 1 to 4,096 characters. The answer names the recipient as Meta does
    (`contacts[].input` and `wa_id` or `user_id`). A recipient whose 24-hour window is closed
    (`close_window`) gets the message accepted and then a `failed` status with error 131047, as Meta
    reports it; `statuses` collects every status the fake reports (`on_status`, when set, is called with
    each). `refuse_next` makes the next send answer one of GRAPH_ERRORS."""

    def __init__(self, waba_id: str, phone_number_id: str, access_token: str) -> None:
        super().__init__()
        self.waba_id, self.phone_number_id, self.access_token = waba_id, phone_number_id, access_token
        self.closed_windows: set[str] = set()  # phone numbers (digits) and BSUIDs
        self.statuses: list[dict[str, Any]] = []  # statuses[] entries, as Meta's webhook carries them
        self.on_status: Callable[[dict[str, Any]], None] | None = None
        self._refusals: list[tuple[int, str | None]] = []

        def authorised(call: ApiCall) -> bool:
            return call.headers.get("authorization") == f"Bearer {self.access_token}"

        def phone_numbers(call: ApiCall, match: re.Match[str]) -> tuple[int, Any]:
            if not authorised(call):
                return graph_error(190)
            if match["waba"] != self.waba_id:
                return graph_error(100, "Unsupported get request.")
            number = {
                "id": self.phone_number_id,
                "display_phone_number": "+1 555-0100",
                "verified_name": "Acme",
            }
            return 200, {"data": [number]}

        def subscribe(call: ApiCall, match: re.Match[str]) -> tuple[int, Any]:
            return (200, {"success": True}) if authorised(call) else graph_error(190)

        def send_message(call: ApiCall, match: re.Match[str]) -> tuple[int, Any]:
            if not authorised(call):
                return graph_error(190)
            if match["phone"] != self.phone_number_id:
                return graph_error(100, "Unsupported post request.")
            body = call.body if isinstance(call.body, dict) else {}
            refused = self._refused(body)
            if refused is not None:
                return refused
            with self._lock:
                if self._refusals:
                    return graph_error(*self._refusals.pop(0))
                message_id = f"wamid.fake-{len(self.sent) + 1}"
                self.sent.append({"id": message_id, **body})
            to, recipient = body.get("to"), body.get("recipient")
            contact = {"input": to, "wa_id": to} if to else {"input": recipient, "user_id": recipient}
            self._report(message_id, str(to or recipient))
            return 200, {
                "messaging_product": "whatsapp",
                "contacts": [contact],
                "messages": [{"id": message_id}],
            }

        self.route("GET", r"/v23\.0/(?P<waba>\d+)/phone_numbers", phone_numbers)
        self.route("POST", r"/v23\.0/(?P<waba>\d+)/subscribed_apps", subscribe)
        self.route("POST", r"/v23\.0/(?P<phone>\d+)/messages", send_message)

    @property
    def base_url(self) -> str:
        return f"{self.url}/v23.0"

    def close_window(self, recipient: str) -> None:
        """More than 24 hours since this person (phone digits or BSUID) last wrote: messages fail."""
        self.closed_windows.add(recipient)

    def refuse_next(self, code: int, details: str | None = None) -> None:
        """Answer the next send with Meta's error `code` (one of GRAPH_ERRORS)."""
        with self._lock:
            self._refusals.append((code, details))

    @staticmethod
    def _refused(body: dict[str, Any]) -> tuple[int, Any] | None:
        """Meta's refusal of a malformed send, if it is one."""
        if body.get("messaging_product") != "whatsapp":
            return graph_error(131008, "messaging_product is required and must be whatsapp")
        to, recipient = body.get("to"), body.get("recipient")
        if to is None and recipient is None:
            return graph_error(131008, "The parameter to or recipient is required.")
        if to is not None and not (isinstance(to, str) and to.lstrip("+").isdigit()):
            # Meta: `to` takes phone numbers only; a BSUID goes in `recipient`.
            return graph_error(
                131009, "to must be a phone number; send to a business-scoped user ID with recipient"
            )
        if to is None and not (isinstance(recipient, str) and BSUID.fullmatch(recipient)):
            return graph_error(131009, "recipient must be a business-scoped user ID")
        if body.get("type") == "text":
            text = body.get("text")
            text_body = text.get("body") if isinstance(text, dict) else None
            if not isinstance(text_body, str) or not text_body:
                return graph_error(131008, "text['body'] is required")
            if len(text_body) > TEXT_BODY_LIMIT:
                return graph_error(
                    100, f"Param text['body'] must be at most {TEXT_BODY_LIMIT} characters long."
                )
        return None

    def _report(self, message_id: str, recipient: str) -> None:
        """The status Meta reports after accepting a message: sent, or failed (131047) when the
        recipient's window is closed. A status names the recipient's number if the message went to it
        (`recipient_id`) and their BSUID (`recipient_user_id`, omitted from a failed one sent to a number)."""
        failed = recipient.lstrip("+") in self.closed_windows or recipient in self.closed_windows
        status: dict[str, Any] = {"id": message_id, "status": "failed" if failed else "sent"}
        status["timestamp"] = str(int(time.time()))
        if recipient.lstrip("+").isdigit():
            status["recipient_id"] = recipient.lstrip("+")
            if not failed:
                status["recipient_user_id"] = whatsapp_user_id(recipient.lstrip("+"))
        else:
            status["recipient_user_id"] = recipient
        if failed:
            status["errors"] = [
                {
                    "code": 131047,
                    "title": "Re-engagement message",
                    "message": "Re-engagement message",
                    "error_data": {"details": RE_ENGAGEMENT_DETAILS},
                }
            ]
        self.statuses.append(status)
        if self.on_status is not None:
            self.on_status(status)


TELEGRAM_TEXT_LIMIT = 4096  # characters of a message's text after entity parsing (sendMessage)


def telegram_error(status: int, description: str, retry_after: int | None = None) -> tuple[int, Any]:
    """The Bot API's refusal: {"ok": false, "error_code", "description", "parameters"?}; a 429 says
    in `parameters.retry_after` how many seconds to wait."""
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return status, body


class FakeTelegramBotApi(FakeProviderApi):
    """The Bot API for one bot (more with `add_bot`): getMe, setWebhook, deleteWebhook, sendMessage and
    answerCallbackQuery, with the webhook each bot was given (`webhook` is the first bot's). `GET
    /_webhooks` shows it and every setWebhook call (their `secret_token`s are what Leadhub expects in
    `X-Telegram-Bot-Api-Secret-Token`, for posting updates by hand).

    sendMessage refuses as Telegram does: an empty text or one over 4,096 characters (400), a chat whose
    person blocked the bot (`block`: 403 "Forbidden: bot was blocked by the user"), and, after
    `flood(seconds)`, the next call with 429 and `parameters.retry_after`. A method call in a webhook's
    answer is run as Telegram runs it (`run_webhook_answer`); answered button presses are in
    `answered_queries`."""

    def __init__(self, bot_token: str, bot_id: int = 7000001, username: str = "acme_leads_bot") -> None:
        super().__init__()
        self.bot_token = bot_token
        self.bot_id = bot_id
        self._bots: dict[str, dict[str, Any]] = {}  # token -> getMe's answer
        self.webhooks: dict[int, dict[str, Any]] = {}  # bot id -> what setWebhook was given
        self.set_webhook_calls: list[dict[str, Any]] = []
        self.blocked_chats: set[int] = set()
        self.pending_queries: set[str] = set()  # callback queries sent to the bot, not yet answered
        self.answered_queries: list[dict[str, Any]] = []
        self._floods: list[int] = []
        self.add_bot(bot_token, bot_id, username)

        def bot_method(call: ApiCall, match: re.Match[str]) -> tuple[int, Any]:
            return self.call_method(match["token"], match["method"], call.body or {})

        self.route("POST", r"/bot(?P<token>[^/]+)/(?P<method>\w+)", bot_method)
        self.route("GET", r"/_webhooks", lambda call, match: (200, self.webhook_listing()))

    def call_method(self, token: str, method: str, body: dict[str, Any]) -> tuple[int, Any]:
        me = self._bots.get(token)
        if me is None:
            return telegram_error(401, "Unauthorized")
        if method == "getMe":
            return 200, {"ok": True, "result": me}
        if method == "setWebhook":
            self.webhooks[me["id"]] = dict(body)
            self.set_webhook_calls.append(dict(body))
            return 200, {"ok": True, "result": True, "description": "Webhook was set"}
        if method == "deleteWebhook":
            self.webhooks.pop(me["id"], None)
            return 200, {"ok": True, "result": True, "description": "Webhook was deleted"}
        if method == "sendMessage":
            return self._send_message(me, body)
        if method == "answerCallbackQuery":
            query_id = body.get("callback_query_id")
            if query_id not in self.pending_queries:
                return telegram_error(
                    400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
                )
            self.pending_queries.discard(query_id)
            self.answered_queries.append(dict(body))
            return 200, {"ok": True, "result": True}
        return telegram_error(404, "Not Found: method not found")

    def run_webhook_answer(self, token: str, answer: Any) -> None:
        """Telegram runs the method call a webhook answers with (its result is never reported)."""
        if isinstance(answer, dict) and isinstance(answer.get("method"), str):
            parameters = {k: v for k, v in answer.items() if k != "method"}
            self.call_method(token, answer["method"], parameters)

    def block(self, chat_id: int) -> None:
        """The person blocked the bot: messages to their chat are refused (403)."""
        self.blocked_chats.add(chat_id)

    def flood(self, retry_after: int) -> None:
        """The next sendMessage is refused with 429, to be retried after `retry_after` seconds."""
        with self._lock:
            self._floods.append(retry_after)

    def _send_message(self, me: dict[str, Any], body: dict[str, Any]) -> tuple[int, Any]:
        chat_id, text = body.get("chat_id"), body.get("text")
        if chat_id is None:
            return telegram_error(400, "Bad Request: chat_id is empty")
        if not isinstance(text, str) or not text.strip():
            return telegram_error(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > TELEGRAM_TEXT_LIMIT:
            return telegram_error(400, "Bad Request: message is too long")
        with self._lock:
            if self._floods:
                retry_after = self._floods.pop(0)
                return telegram_error(429, f"Too Many Requests: retry after {retry_after}", retry_after)
            if chat_id in self.blocked_chats:
                return telegram_error(403, "Forbidden: bot was blocked by the user")
            message_id = 900000 + len(self.sent)
            self.sent.append({"message_id": message_id, **body})
        chat = {"id": chat_id, "type": "private", "first_name": "Ada"}
        result = {"message_id": message_id, "date": int(time.time()), "chat": chat, "text": text}
        result["from"] = dict(me)
        return 200, {"ok": True, "result": result}

    def webhook_listing(self) -> dict[str, Any]:
        with self._lock:
            return {
                "webhook": self.webhook,
                "setWebhookCalls": list(self.set_webhook_calls),
                "answeredCallbackQueries": list(self.answered_queries),
            }

    def add_bot(self, bot_token: str, bot_id: int, username: str) -> None:
        """Another valid token: of another bot, or of the same bot (BotFather's /revoke gives a new one)."""
        self._bots[bot_token] = {"id": bot_id, "is_bot": True, "first_name": "Acme", "username": username}

    @property
    def webhook(self) -> dict[str, Any] | None:
        return self.webhooks.get(self.bot_id)


# Resend's error names by status (Resend's API reference, "Errors"), for answers a test scripts by status.
_RESEND_ERROR_NAMES = {
    400: "validation_error",
    401: "missing_api_key",
    403: "invalid_api_key",
    404: "not_found",
    409: "concurrent_idempotent_requests",
    422: "validation_error",
    429: "rate_limit_exceeded",
    451: "security_error",
}
_RESEND_REGIONS = ("us-east-1", "eu-west-1", "sa-east-1", "ap-northeast-1")
_CAPABILITY_VALUES = ("enabled", "disabled")
_INVALID_FROM = (
    "Invalid `from` field. The email address needs to follow the `email@example.com` or "
    "`Name <email@example.com>` format."
)
# Resend's shared domain for trying the API: it sends from it without a domain of the account's own.
_RESEND_TEST_DOMAIN = "resend.dev"


def resend_error(status: int, name: str | None = None, message: str | None = None) -> dict[str, Any]:
    """An error body as Resend answers it."""
    name = name or _RESEND_ERROR_NAMES.get(status, "application_error")
    return {"statusCode": status, "name": name, "message": message or f"the fake Resend answers {name}"}


def _one_mailbox(value: Any) -> bool:
    """Whether `value` is one RFC 5322 mailbox (`a@b.example` or `Name <a@b.example>`), as a mail
    reader parses it: `Acme, Inc. <a@b.example>` is two (the first without a domain)."""
    if not isinstance(value, str) or not value.strip():
        return False
    try:
        header = HeaderRegistry()("from", value)
    except (ValueError, IndexError):
        return False
    return (
        len(header.addresses) == 1
        and not header.defects
        and bool(header.addresses[0].username)
        and bool(header.addresses[0].domain)
    )


def _mailbox_domain(value: str) -> str:
    """The domain of one mailbox (`_one_mailbox` holds), as Resend compares it: the whole of it."""
    return HeaderRegistry()("from", value).addresses[0].domain.lower()


def _addresses(value: Any, most: int) -> bool:
    listed = [value] if isinstance(value, str) else value
    return isinstance(listed, list) and 0 < len(listed) <= most and all(_one_mailbox(a) for a in listed)


def _domain_status(records: list[dict[str, Any]]) -> str:
    """A domain's status from its records' (Resend's domain statuses: not_started, pending, verified,
    partially_verified, partially_failed, failed)."""
    statuses = {r["status"] for r in records}
    if not statuses or statuses == {"not_started"}:
        return "not_started"
    if statuses == {"verified"}:
        return "verified"
    if "pending" in statuses:
        return "pending"
    if "verified" in statuses:
        return "partially_failed" if statuses & {"failed", "temporary_failure"} else "partially_verified"
    return "failed"


class FakeResendApi(FakeProviderApi):
    """Resend for one API key, answering as Resend's API reference says (field names, status codes, errors
    `{"statusCode", "name", "message"}`): received emails (`emails`, or `add_received_email`), domains and
    sending.

    Domains are created with receiving disabled unless `capabilities` asks for it, and have the receiving
    MX record only while receiving is enabled. Verification is asynchronous, as at Resend: `verify` makes
    the records `pending`; they become verified (or failed) when a test calls `complete_verification`
    (`POST /_verify_now` over HTTP), or by themselves `verify_after` seconds (of `clock`) after verify was
    asked, when that is set.

    Sending checks the required fields and that `from`, `to` and `reply_to` are RFC 5322 addresses (422),
    that the domain of `from` is one of the account's domains with status `verified` (or Resend's shared
    `resend.dev`), else 403 `validation_error` "The <domain> domain is not verified. …", and the
    Idempotency-Key: the same key and payload get the first answer, another payload 409
    `invalid_idempotent_request`, a key in `in_progress` (a first request still running) 409
    `concurrent_idempotent_requests`. `fail_next(count, status)` scripts Resend-shaped refusals (429 …).
    Every answer is kept in `answers`, for checking it against Resend's published types."""

    def __init__(
        self,
        api_key: str,
        *,
        verify_after: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.emails: dict[str, dict[str, Any]] = {}
        self.domains: dict[str, dict[str, Any]] = {}
        self.in_progress: set[str] = set()  # Idempotency-Keys whose first request is "still running"
        self.answers: list[tuple[ApiCall, int, Any]] = []
        self.verify_after = verify_after
        self._clock = clock
        self._verify_asked: dict[str, float] = {}  # domain id -> when verify was asked

        def refused(call: ApiCall) -> tuple[int, Any] | None:
            authorization = call.headers.get("authorization")
            if not authorization:
                return 401, resend_error(
                    401, "missing_api_key", "Missing API key in the authorization header"
                )
            if authorization != f"Bearer {self.api_key}":
                return 403, resend_error(403, "invalid_api_key", "API key is invalid")
            return None

        def authorised(answer: Route) -> Route:
            return lambda call, match: refused(call) or answer(call, match)

        def get_email(call: ApiCall, match: re.Match[str]) -> tuple[int, Any]:
            email = self.emails.get(match["id"])
            return (200, email) if email else (404, resend_error(404, "not_found", "Email not found"))

        def endpoint_not_found(call: ApiCall, match: re.Match[str]) -> tuple[int, Any]:
            return 404, resend_error(404, "not_found", "The requested endpoint does not exist.")

        for method in ("GET", "POST", "PATCH", "PUT", "DELETE"):  # lowest priority: registered first
            self.route(method, r"(?!/_).*", endpoint_not_found)
        self.route("GET", r"/emails/receiving/(?P<id>[^/]+)", authorised(get_email))
        self.route("POST", r"/emails", authorised(self._send_email))
        self.route("POST", r"/domains", authorised(self._create_domain))
        self.route("GET", r"/domains", authorised(self._list_domains))
        self.route("GET", r"/domains/(?P<id>[^/]+)", authorised(self._get_domain))
        self.route("PATCH", r"/domains/(?P<id>[^/]+)", authorised(self._update_domain))
        self.route("POST", r"/domains/(?P<id>[^/]+)/verify", authorised(self._verify_domain))
        self.route("POST", r"/_verify_now", self._verify_now)

    def _answer(self, call: ApiCall) -> tuple[int, Any]:
        status, body = super()._answer(call)
        if not call.path.startswith("/_"):
            with self._lock:
                self.answers.append((call, status, body))
        return status, body

    def fail_next(self, count: int = 1, status: int = 500, body: Any = None) -> None:
        """Answer the next `count` API calls with `status` and Resend's error body for it."""
        super().fail_next(count, status, body or resend_error(status))

    # -- domains ---------------------------------------------------------------------------------

    def add_domain(
        self,
        name: str,
        *,
        sending: bool = True,
        receiving: bool = False,
        status: str = "not_started",
        region: str = "us-east-1",
    ) -> dict[str, Any]:
        """A domain registered at Resend (by hand, or by an earlier connect), its records all `status`."""
        domain_id = str(uuid.uuid4())
        self.domains[domain_id] = {
            "id": domain_id,
            "name": name,
            "created_at": _now_iso(),
            "region": region,
            "capabilities": {
                "sending": "enabled" if sending else "disabled",
                "receiving": "enabled" if receiving else "disabled",
            },
            "records": [],
        }
        self._set_records(self.domains[domain_id], status)
        return self.domains[domain_id]

    def complete_verification(
        self, domain: str | None = None, *, status: str = "verified", records: set[str] | None = None
    ) -> int:
        """Resend finished checking: the pending records of `domain` (its id or name; every domain when
        None), or only those of the kinds in `records` (e.g. {"Receiving"}), become `status`. How many."""
        changed = 0
        with self._lock:
            for found in self.domains.values():
                if domain not in (None, found["id"], found["name"]):
                    continue
                for record in found["records"]:
                    if record["status"] == "pending" and (records is None or record["record"] in records):
                        record["status"] = status
                        changed += 1
                self._verify_asked.pop(found["id"], None)
        return changed

    def _verify_now(self, call: ApiCall, _: re.Match[str]) -> tuple[int, Any]:
        """POST /_verify_now {"domain": "shop.example", "status": "verified"}: the same, over HTTP."""
        wanted = call.body if isinstance(call.body, dict) else {}
        kinds = wanted.get("records")
        changed = self.complete_verification(
            wanted.get("domain"),
            status=str(wanted.get("status", "verified")),
            records=set(kinds) if isinstance(kinds, list) else None,
        )
        return 200, {"records": changed}

    def _settle(self) -> None:
        """Verifications asked `verify_after` seconds ago or more are done."""
        if self.verify_after is None:
            return
        now = self._clock()
        for domain_id, asked in list(self._verify_asked.items()):
            if now - asked >= self.verify_after:
                self.complete_verification(domain_id)

    def _set_records(self, domain: dict[str, Any], status: str = "not_started") -> None:
        """The records its capabilities need, keeping the status of those it had."""
        wanted: list[dict[str, Any]] = []
        if domain["capabilities"]["sending"] == "enabled":
            wanted += [
                _dns_record(
                    "SPF", "send", "MX", "feedback-smtp.us-east-1.amazonses.com", status, priority=10
                ),
                _dns_record("SPF", "send", "TXT", '"v=spf1 include:amazonses.com ~all"', status),
                _dns_record("DKIM", "resend._domainkey", "TXT", "p=MIGfMA0GCSqGSIb3DQEBfakeDkimKey", status),
            ]
        if domain["capabilities"]["receiving"] == "enabled":
            wanted.append(
                _dns_record("Receiving", domain["name"], "MX", "inbound-mx.resend.com", status, priority=10)
            )
        kept = {(r["record"], r["type"]): r["status"] for r in domain["records"]}
        domain["records"] = [{**r, "status": kept.get((r["record"], r["type"]), r["status"])} for r in wanted]

    def _domain_answer(self, domain: dict[str, Any], *keys: str) -> dict[str, Any]:
        return {**{k: domain[k] for k in keys}, "status": _domain_status(domain["records"])}

    def _create_domain(self, call: ApiCall, _: re.Match[str]) -> tuple[int, Any]:
        body = call.body if isinstance(call.body, dict) else {}
        name = body.get("name")
        if not isinstance(name, str) or not name:
            return 422, resend_error(422, "missing_required_field", "Missing `name` field.")
        region = body.get("region", "us-east-1")
        if region not in _RESEND_REGIONS:
            return 422, resend_error(
                422, "invalid_region", "Region must be one of " + ", ".join(_RESEND_REGIONS)
            )
        capabilities = {"sending": "enabled", "receiving": "disabled"}
        refusal = self._changed_capabilities(capabilities, body)
        if refusal:
            return refusal
        if any(d["name"] == name for d in self.domains.values()):
            return 403, resend_error(403, "validation_error", f"{name} has been registered already")
        enabled = {key for key, value in capabilities.items() if value == "enabled"}
        domain = self.add_domain(
            name, sending="sending" in enabled, receiving="receiving" in enabled, region=str(region)
        )
        keys = ("id", "name", "created_at", "capabilities", "records", "region")
        return 200, self._domain_answer(domain, *keys)

    def _list_domains(self, call: ApiCall, _: re.Match[str]) -> tuple[int, Any]:
        self._settle()
        keys = ("id", "name", "created_at", "region", "capabilities")
        listed = [self._domain_answer(d, *keys) for d in self.domains.values()]
        return 200, {"object": "list", "has_more": False, "data": listed}

    def _get_domain(self, call: ApiCall, match: re.Match[str]) -> tuple[int, Any]:
        self._settle()
        domain = self.domains.get(match["id"])
        if domain is None:
            return 404, resend_error(404, "not_found", "Domain not found")
        keys = ("id", "name", "created_at", "region", "capabilities", "records")
        return 200, {"object": "domain", **self._domain_answer(domain, *keys)}

    def _update_domain(self, call: ApiCall, match: re.Match[str]) -> tuple[int, Any]:
        domain = self.domains.get(match["id"])
        if domain is None:
            return 404, resend_error(404, "not_found", "Domain not found")
        body = call.body if isinstance(call.body, dict) else {}
        capabilities = dict(domain["capabilities"])
        refusal = self._changed_capabilities(capabilities, body)
        if refusal:
            return refusal
        domain["capabilities"] = capabilities
        self._set_records(domain)  # a newly enabled capability's records are `not_started`
        return 200, {"object": "domain", "id": domain["id"]}

    @staticmethod
    def _changed_capabilities(capabilities: dict[str, str], body: dict[str, Any]) -> tuple[int, Any] | None:
        """Apply the body's `capabilities` (omitted ones keep their value); Resend's refusal, if any."""
        asked = body.get("capabilities", {})
        if not isinstance(asked, dict) or set(asked) - set(capabilities):
            return 422, resend_error(
                422, "validation_error", "`capabilities` takes `sending` and `receiving`"
            )
        for key, value in asked.items():
            if value not in _CAPABILITY_VALUES:
                return 422, resend_error(
                    422, "validation_error", f"`capabilities.{key}` must be enabled or disabled"
                )
            capabilities[key] = value
        if "enabled" not in capabilities.values():
            return 422, resend_error(422, "validation_error", "At least one capability must be enabled")
        return None

    def _verify_domain(self, call: ApiCall, match: re.Match[str]) -> tuple[int, Any]:
        domain = self.domains.get(match["id"])
        if domain is None:
            return 404, resend_error(404, "not_found", "Domain not found")
        with self._lock:
            for record in domain["records"]:
                if record["status"] != "verified":
                    record["status"] = "pending"  # Resend checks them in the background
            self._verify_asked[domain["id"]] = self._clock()
        return 200, {"object": "domain", "id": domain["id"]}

    # -- emails ----------------------------------------------------------------------------------

    def add_received_email(
        self, sender: str, to: str, subject: str, text: str, html: str | None = None
    ) -> dict[str, Any]:
        """Mail that reached a receiving domain: kept for `GET /emails/receiving/{id}` (as Resend answers
        it); the `data` of its `email.received` webhook is returned."""
        email_id = str(uuid.uuid4())
        created_at = _now_iso()
        message_id = f"<{email_id}@example.com>"
        self.emails[email_id] = {
            "object": "email",
            "id": email_id,
            "to": [to],
            "from": sender,
            "created_at": created_at,
            "subject": subject,
            "html": html,
            "text": text,
            "bcc": [],
            "cc": [],
            "reply_to": [],
            "received_for": [to],
            "message_id": message_id,
            "headers": {"message-id": message_id},
            "attachments": [],
        }
        fields = (
            "from",
            "to",
            "cc",
            "bcc",
            "received_for",
            "subject",
            "message_id",
            "attachments",
            "created_at",
        )
        return {"email_id": email_id, **{k: self.emails[email_id][k] for k in fields}}

    def _unverified_sender(self, name: str) -> tuple[int, Any] | None:
        """Resend's refusal of a sender whose domain the account has not verified (its wording, as the
        Resend SDKs' users quote it: resend/resend-node#455). A partially verified domain does not send."""
        if name == _RESEND_TEST_DOMAIN:
            return None
        self._settle()
        if any(
            d["name"].lower() == name and _domain_status(d["records"]) == "verified"
            for d in self.domains.values()
        ):
            return None
        message = (
            f"The {name} domain is not verified. Please, add and verify your domain on "
            "https://resend.com/domains"
        )
        return 403, resend_error(403, "validation_error", message)

    def _send_email(self, call: ApiCall, _: re.Match[str]) -> tuple[int, Any]:
        body = call.body if isinstance(call.body, dict) else {}
        for field in ("from", "to", "subject"):
            if body.get(field) in (None, "", []):
                return 422, resend_error(422, "missing_required_field", f"Missing `{field}` field.")
        if not _one_mailbox(body["from"]):
            return 422, resend_error(422, "invalid_from_address", _INVALID_FROM)
        for field, most in (("to", 50), ("cc", 50), ("bcc", 50), ("reply_to", 50)):
            if field in body and not _addresses(body[field], most):
                return 422, resend_error(422, "validation_error", f"Invalid `{field}` field.")
        headers = body.get("headers", {})
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            return 422, resend_error(422, "validation_error", "`headers` must be an object of strings.")
        refusal = self._unverified_sender(_mailbox_domain(body["from"]))
        if refusal:
            return refusal
        key = call.headers.get("idempotency-key")
        if key is not None:
            if not 1 <= len(key) <= 256:
                return 400, resend_error(
                    400, "invalid_idempotency_key", "The key must be between 1-256 chars."
                )
            if key in self.in_progress:
                message = "Same idempotency key used while original request is still in progress."
                return 409, resend_error(409, "concurrent_idempotent_requests", message)
            earlier = next((e for e in self.sent if e["idempotencyKey"] == key), None)
            if earlier is not None:  # within Resend's 24 hours: the first answer, nothing sent again
                if {k: v for k, v in earlier.items() if k not in ("id", "idempotencyKey")} != body:
                    message = "Same idempotency key used with a different request payload."
                    return 409, resend_error(409, "invalid_idempotent_request", message)
                return 200, {"id": earlier["id"]}
        email_id = str(uuid.uuid4())
        self.sent.append({"id": email_id, "idempotencyKey": key, **body})
        return 200, {"id": email_id}


def _dns_record(
    kind: str, name: str, dns_type: str, value: str, status: str, priority: int | None = None
) -> dict[str, Any]:
    """A DNS record as Resend lists it for a domain."""
    record = {"record": kind, "name": name, "type": dns_type, "ttl": "Auto", "status": status, "value": value}
    return record if priority is None else {**record, "priority": priority}


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


class FakeBedrockRuntime(FakeProviderApi):
    """The Bedrock runtime's Converse API (POST /model/{modelId}/converse): answers with what the lead last
    wrote, or `answer(request)`, in the ConverseResponse shape (output, stopReason, usage, metrics).
    `throttle_next(n)` refuses the next n calls as Bedrock does when over quota (HTTP 429,
    `x-amzn-ErrorType: ThrottlingException`); `fail_next(…, status=503)` plays an outage."""

    def __init__(self) -> None:
        super().__init__()
        self.answer: Callable[[dict[str, Any]], str] = _echo_last_turn
        self.answers: list[dict[str, Any]] = []  # the ConverseResponse bodies it gave
        self._throttled = 0

        def converse(call: ApiCall, match: re.Match[str]) -> tuple[Any, ...]:
            with self._lock:
                if self._throttled:
                    self._throttled -= 1
                    error = {"message": "Too many requests, please wait before trying again."}
                    return 429, error, {"x-amzn-ErrorType": "ThrottlingException"}
            model_id = unquote(match["model"])  # botocore quotes the id in the path (":" as %3A)
            request = {**(call.body or {}), "modelId": model_id}
            text = self.answer(request)
            self.sent.append({"modelId": model_id, "messages": request.get("messages"), "reply": text})
            message = {"role": "assistant", "content": [{"text": text}]}
            usage = {"inputTokens": 10, "outputTokens": 10, "totalTokens": 20}
            answer = {
                "output": {"message": message},
                "stopReason": "end_turn",
                "usage": usage,
                "metrics": {"latencyMs": 1},
            }
            self.answers.append(answer)
            return 200, answer

        self.route("POST", r"/model/(?P<model>[^/]+)/converse", converse)

    def throttle_next(self, count: int = 1) -> None:
        with self._lock:
            self._throttled += count


def _echo_last_turn(request: dict[str, Any]) -> str:
    turns = request.get("messages") or [{}]
    last = "".join(part.get("text", "") for part in turns[-1].get("content", []))
    return f"({request['modelId']}) You wrote: {last}"


# The one business number, bot and API key the local stack's fakes know.
DEMO_WHATSAPP = {
    "wabaId": "100000000000001",
    "phoneNumberId": "100000000000002",
    "accessToken": "EAAG-local-demo",
}
DEMO_TELEGRAM_BOT_TOKEN = "7000001:AAH-local-demo"  # noqa: S105 - the fake's only bot
DEFAULT_RECEIVING_DOMAIN = "inbound.localhost"
LOCAL_VERIFY_SECONDS = 20.0


def _post_json(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url, data=body, method="POST", headers={"content-type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def svix_headers(secret: str, msg_id: str, body: bytes) -> dict[str, str]:
    """Resend's (Svix's) signature headers for `body`, as Resend sends them."""
    now = int(time.time())
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{now}.".encode() + body, hashlib.sha256).digest()
    return {
        "svix-id": msg_id,
        "svix-timestamp": str(now),
        "svix-signature": "v1," + base64.b64encode(digest).decode(),
    }


class FakeProviders:
    """The three fakes for the local stack, with `/_simulate/...` routes that post signed webhooks."""

    def __init__(self, receiving_domain: str = DEFAULT_RECEIVING_DOMAIN) -> None:
        self.graph = FakeGraphApi(
            DEMO_WHATSAPP["wabaId"], DEMO_WHATSAPP["phoneNumberId"], DEMO_WHATSAPP["accessToken"]
        )
        self.telegram = FakeTelegramBotApi(DEMO_TELEGRAM_BOT_TOKEN)
        # The stack's RESEND_API_KEY, once it is known. A domain verifies some seconds after it is asked
        # to, as at Resend (or at once with POST /_verify_now).
        self.resend = FakeResendApi(api_key="", verify_after=LOCAL_VERIFY_SECONDS)
        self.bedrock = FakeBedrockRuntime()
        self.receiving_domain = receiving_domain
        self.api_url = ""
        self.secrets: dict[str, str] = {}
        self._update_ids = itertools.count(int(time.time()))
        self.graph.route("POST", r"/_simulate/whatsapp", self._whatsapp_message)
        self.graph.route("POST", r"/_close_window", self._close_window)
        self.graph.on_status = self._report_status
        self.telegram.route("POST", r"/_simulate/telegram", self._telegram_message)
        self.resend.route("POST", r"/_simulate/email", self._email)

    def parameters(self) -> dict[str, str]:
        """Template parameter overrides that point the stack at these fakes."""
        return {
            "GraphApiBaseUrl": self.graph.base_url,
            "TelegramApiBaseUrl": self.telegram.url,
            "ResendApiBaseUrl": self.resend.url,
            "ResendReceivingDomain": self.receiving_domain,
            "BedrockEndpointUrl": self.bedrock.url,
        }

    def attach(self, api_url: str, secrets: dict[str, str]) -> None:
        """Where Leadhub is, and the provider secrets it verifies with."""
        self.api_url, self.secrets = api_url.rstrip("/"), dict(secrets)
        self.resend.api_key = secrets.get("RESEND_API_KEY", "")

    def describe(self) -> dict[str, Any]:
        return {
            "whatsapp": {
                **DEMO_WHATSAPP,
                "simulate": f"{self.graph.url}/_simulate/whatsapp",
                # {"recipient": …}: their 24-hour window closed; replies then fail (131047).
                "closeWindow": f"{self.graph.url}/_close_window",
            },
            "telegram": {
                "telegramBotToken": DEMO_TELEGRAM_BOT_TOKEN,
                "simulate": f"{self.telegram.url}/_simulate/telegram",
                # The webhook (URL and secret token) Leadhub registered, once the bot is connected.
                "webhooks": f"{self.telegram.url}/_webhooks",
            },
            "email": {
                "receivingDomain": self.receiving_domain,
                "simulate": f"{self.resend.url}/_simulate/email",
                # Resend checks DNS records some time after verify is asked; here LOCAL_VERIFY_SECONDS
                # after, or at once by POSTing {"domain": "shop.example"} to this.
                "verifyNow": f"{self.resend.url}/_verify_now",
            },
            # PUT /api/responder {"responder": "bedrock", "modelId": …}: the fake echoes the lead's words.
            "bedrock": {"endpoint": self.bedrock.url},
        }

    def close(self) -> None:
        for fake in (self.graph, self.telegram, self.resend, self.bedrock):
            fake.close()

    # -- a person writes ---------------------------------------------------------------------

    def _whatsapp_message(self, call: ApiCall, _: re.Match[str]) -> tuple[int, Any]:
        """{"from": "14155550123", "name": "Ada", "text": "Hi"} → Meta's signed notification, with the
        person's business-scoped user id beside the number as Meta sends it since April 2026. A person
        who adopted a username and hides their number: {"username": "ada.l", "hideNumber": true} (no
        `from`, no `wa_id`: only `from_user_id` and `contacts[].user_id`)."""
        given = call.body or {}
        username = given.get("username")
        phone = str(given.get("from", "14155550123")).lstrip("+")
        hidden = bool(given.get("hideNumber")) and username is not None
        user_id = str(given.get("userId") or whatsapp_user_id(f"username:{username}" if hidden else phone))
        message: dict[str, Any] = {} if hidden else {"from": phone}
        message |= {
            "from_user_id": user_id,
            "id": f"wamid.local-{uuid.uuid4().hex}",
            "timestamp": str(int(time.time())),
            "type": "text",
            "text": {"body": str(given.get("text", "Hi!"))},
        }
        profile = {"name": str(given.get("name", "Ada"))} | ({"username": str(username)} if username else {})
        contact = {"profile": profile} | ({} if hidden else {"wa_id": phone}) | {"user_id": user_id}
        status, answer = self._post_whatsapp({"contacts": [contact], "messages": [message]})
        return 200, {
            "messageId": message["id"],
            "userId": user_id,
            "leadhubStatus": status,
            "leadhubAnswer": answer,
        }

    def _close_window(self, call: ApiCall, _: re.Match[str]) -> tuple[int, Any]:
        """{"recipient": "14155550123"} (or a BSUID): more than 24 hours since they wrote."""
        recipient = str((call.body or {}).get("recipient", "")).lstrip("+")
        self.graph.close_window(recipient)
        return 200, {"closed": recipient}

    def _report_status(self, status: dict[str, Any]) -> None:
        """Meta reports a status as it accepted the message, signed: often before Leadhub has its answer
        to the send and has recorded it (Leadhub holds such a status until it has)."""
        threading.Thread(target=self._post_whatsapp, args=({"statuses": [status]},), daemon=True).start()

    def _post_whatsapp(self, value: dict[str, Any]) -> tuple[int, Any]:
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100", "phone_number_id": self.graph.phone_number_id},
            **value,
        }
        notification = {
            "object": "whatsapp_business_account",
            "entry": [{"id": self.graph.waba_id, "changes": [{"field": "messages", "value": value}]}],
        }
        body = json.dumps(notification).encode()
        secret = self.secrets.get("FB_APP_SECRET", "").encode()
        signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        return _post_json(
            self.api_url + "/api/webhooks/meta-whatsapp", body, {"x-hub-signature-256": signature}
        )

    def _telegram_message(self, call: ApiCall, _: re.Match[str]) -> tuple[int, Any]:
        """{"from": 42, "name": "Ada", "text": "Hi"} → an Update to the webhook setWebhook registered;
        {"from": 42, "button": "yes"}: the person presses an inline button (a callback query) under the
        bot's last message. Telegram runs the method call Leadhub answers with (answerCallbackQuery)."""
        if self.telegram.webhook is None:
            return 409, {"error": "No webhook is set: connect the bot first (PUT /api/integrations/telegram)"}
        given = call.body or {}
        user = {
            "id": int(given.get("from", 42)),
            "is_bot": False,
            "first_name": str(given.get("name", "Ada")),
        }
        update_id = next(self._update_ids)
        chat = {**user, "type": "private"}
        if "button" in given:
            query_id = str(update_id * 1000 + user["id"] % 1000)
            bot = self.telegram.call_method(self.telegram.bot_token, "getMe", {})[1]["result"]
            origin = {"message_id": 900000, "date": int(time.time()), "chat": chat, "from": bot, "text": "?"}
            query = {
                "id": query_id,
                "from": user,
                "message": origin,
                "chat_instance": str(user["id"]),
                "data": str(given["button"]),
            }
            self.telegram.pending_queries.add(query_id)
            update: dict[str, Any] = {"update_id": update_id, "callback_query": query}
        else:
            message = {"message_id": update_id, "date": int(time.time()), "chat": chat, "from": user}
            update = {"update_id": update_id, "message": message | {"text": str(given.get("text", "Hi!"))}}
        body = json.dumps(update).encode()
        headers = {"x-telegram-bot-api-secret-token": self.telegram.webhook["secret_token"]}
        answered = self._forward(self.telegram.webhook["url"], body, headers, message_id=update_id)
        if answered[1]["leadhubStatus"] == 200:
            self.telegram.run_webhook_answer(self.telegram.bot_token, answered[1]["leadhubAnswer"])
        return answered

    def _email(self, call: ApiCall, _: re.Match[str]) -> tuple[int, Any]:
        """{"from", "to", "subject", "text"} → the content kept for the API, a signed email.received."""
        given = call.body or {}
        data = self.resend.add_received_email(
            str(given.get("from", "Ada <ada@example.com>")),
            str(given.get("to", "hello@example.com")),
            str(given.get("subject", "Hello")),
            str(given.get("text", "Hi!")),
        )
        body = json.dumps({"type": "email.received", "created_at": data["created_at"], "data": data}).encode()
        email_id = data["email_id"]
        return self._forward(
            self.api_url + "/api/webhooks/email",
            body,
            svix_headers(self.secrets.get("RESEND_WEBHOOK_SECRET", ""), f"msg_{email_id}", body),
            message_id=email_id,
        )

    def _forward(
        self, url: str, body: bytes, headers: dict[str, str], *, message_id: str | int
    ) -> tuple[int, Any]:
        """Post as the provider would; the simulate call answers with the provider's id of the message
        and Leadhub's answer."""
        status, answer = _post_json(url, body, headers)
        return 200, {"messageId": message_id, "leadhubStatus": status, "leadhubAnswer": answer}
