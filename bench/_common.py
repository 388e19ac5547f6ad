"""What the benchmarks share: the local emulator provisioned from template.yaml, demo accounts written
through the app's own domain code, the functions' environments, and the sample events."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import random
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

REPO_ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = REPO_ROOT / "events"
SAMPLES_DIR = REPO_ROOT / "tests" / "fixtures" / "samples"
LAYER_DIR = REPO_ROOT / "layers" / "common"
# The benchmarks run as `python bench/<name>.py`: make the repo's packages importable.
for _path in (REPO_ROOT, LAYER_DIR):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

LOCAL_API_URL = "http://127.0.0.1:3000"


def requirements_file(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("-")]


def isolated_site(requirements: list[str], dest: Path) -> Path:
    """A site directory holding only `requirements` and their dependencies (links into this venv), like a
    Lambda package: without it a child sees every dev dependency, and libraries that patch whatever is
    installed (the X-Ray SDK patches requests, httpx, ...) would import far more than they do on AWS."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    dest.mkdir(parents=True, exist_ok=True)
    seen: set[tuple[str, frozenset[str]]] = set()
    pending = [Requirement(text) for text in requirements]
    while pending:
        requirement = pending.pop()
        key = (canonicalize_name(requirement.name), frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = distribution(requirement.name)
        except PackageNotFoundError:
            raise SystemExit(f"{requirement.name} is not installed: run `make setup`") from None
        site = Path(str(dist.locate_file("")))
        for top in {Path(str(f)).parts[0] for f in dist.files or []} - {"..", "__pycache__"}:
            link = dest / top
            if not link.exists() and (site / top).exists():
                link.symlink_to(site / top)
        for text in dist.requires or []:
            dependency = Requirement(text)
            extras = requirement.extras or {""}
            if dependency.marker is None or any(dependency.marker.evaluate({"extra": e}) for e in extras):
                pending.append(dependency)
    return dest


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries only the JSON result."""
    print(message, file=sys.stderr, flush=True)


def emit(document: Mapping[str, Any]) -> None:
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")
    sys.stdout.flush()


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` of 1) of non-empty `values`."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def latency_figures(values: list[float], digits: int = 1) -> dict[str, float | None]:
    """p50, p90, p99, max and mean of latencies in ms (None each when there are none)."""
    if not values:
        return dict.fromkeys(("p50", "p90", "p99", "max", "mean"))
    figures = {
        "p50": statistics.median(values),
        "p90": percentile(values, 0.90),
        "p99": percentile(values, 0.99),
    }
    figures |= {"max": max(values), "mean": statistics.fmean(values)}
    return {name: round(value, digits) for name, value in figures.items()}


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
    }


def new_phone(rng: random.Random | None = None) -> str:
    """A valid US number (San Francisco, 555 exchange) that is new with overwhelming probability."""
    return f"+1415555{(rng or random).randrange(10_000):04d}"


@dataclass(frozen=True)
class DemoAccount:
    account_id: str
    api_key: str
    webhook_token: str


@dataclass
class LocalStack:
    """The emulator with every resource of template.yaml, and each function's spec and environment."""

    url: str
    clients: Any  # local.emulator.ClientFactory
    specs: dict[str, Any]  # logical id -> local.sam.FunctionSpec

    def environment(self, function_id: str) -> dict[str, str]:
        """The full process environment the function sees in the local stack (emulator endpoint etc.)."""
        from local.workers import worker_environment

        return worker_environment(self.specs[function_id], emulator_url=self.url, api_url=LOCAL_API_URL)

    def sys_path(self, function_id: str) -> list[str]:
        return [str(path) for path in self.specs[function_id].sys_path]

    @property
    def table_name(self) -> str:
        return self.specs["LeadWebhookFunction"].environment["TABLE_NAME"]

    def create_account(self, name: str = "Bench Realty", region: str = "US") -> DemoAccount:
        """An account with its first API key and webhook token, written by the app's own domain code."""
        from leadhub.accounts.accounts import create_account
        from leadhub.accounts.adapters.dynamodb_accounts import DynamoAccountRepository
        from leadhub.accounts.models import Plan
        from leadhub.platform.adapters.kms_cipher import KmsCipher
        from leadhub.platform.timestamps import utc_now

        key_id = self.specs["ManagementApiFunction"].environment["KMS_KEY_ID"]
        created = create_account(
            name,
            Plan.STARTER,
            region,
            None,
            accounts=DynamoAccountRepository(self.table_name, clients=self.clients.client),
            cipher=KmsCipher(key_id, clients=self.clients.client),
            now=utc_now(),
        )
        return DemoAccount(created.view.account.account_id, created.api_key, created.view.webhook_token)

    def create_endpoint(self, account_id: str, url: str) -> Any:
        """A verified webhook endpoint of `account_id` (every event), as the management API stores it."""
        from leadhub.outbound.adapters.dynamodb_endpoints import endpoint_to_values
        from leadhub.outbound.endpoints import secret_context
        from leadhub.outbound.models import EndpointSecret, Verification, WebhookEndpoint
        from leadhub.outbound.signing import new_endpoint_secret
        from leadhub.platform.adapters.dynamodb_items import to_item
        from leadhub.platform.adapters.kms_cipher import KmsCipher
        from leadhub.platform.ids import sortable_id
        from leadhub.platform.timestamps import to_iso, utc_now

        cipher = KmsCipher(
            self.specs["DeliveryWorkerFunction"].environment["KMS_KEY_ID"], self.clients.client
        )
        endpoint_id, stamp = sortable_id("wep"), to_iso(utc_now())
        endpoint = WebhookEndpoint(
            account_id=account_id,
            endpoint_id=endpoint_id,
            name="Bench CRM",
            url=url,
            secrets=(
                EndpointSecret(
                    cipher.encrypt(new_endpoint_secret(), secret_context(account_id, endpoint_id)), stamp
                ),
            ),
            created_at=stamp,
            updated_at=stamp,
            verification=Verification.VERIFIED,
            verified_at=stamp,
        )
        self.clients.client("dynamodb").put_item(
            TableName=self.table_name, Item=to_item(endpoint_to_values(endpoint))
        )
        return endpoint


class LoopbackReceiver:
    """A customer's webhook endpoint on loopback, in this process: answers every POST with 200 after
    `delay_s`, and counts them."""

    def __init__(self, delay_s: float = 0.0) -> None:
        import threading

        from loopback_receivers import receiver_server

        self.requests = 0
        lock = threading.Lock()

        def count() -> None:
            with lock:
                self.requests += 1

        self.server = receiver_server(delay_s, count)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def receivers_process(count: int, delay_s: float) -> Iterator[list[str]]:
    """`count` webhook endpoints answering 200 after `delay_s`, served by bench/loopback_receivers.py in a
    process of their own; yields their URLs."""
    import subprocess

    script = Path(__file__).resolve().with_name("loopback_receivers.py")
    process = subprocess.Popen(
        [sys.executable, str(script), "--count", str(count), "--delay", str(delay_s)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ports = json.loads(process.stdout.readline())["ports"]
        yield [f"http://127.0.0.1:{port}/hooks" for port in ports]
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=10)


@contextmanager
def local_stack() -> Iterator[LocalStack]:
    """Start the emulator, provision template.yaml into it, and stop it afterwards."""
    from leadhub.dashboard.rendering import compile_ahead
    from local.cfn import Template
    from local.emulator import ClientFactory, Emulator
    from local.provision import provision
    from local.sam import build_function_specs
    from local.settings import fake_credentials_env

    # The app's adapters (used here to write accounts) must never reach real AWS either.
    os.environ.update(fake_credentials_env())
    compile_ahead()  # the dashboard's templates, as the layer's build ships them (layers/common/Makefile)
    emulator = Emulator()
    log("starting the emulator ...")
    url = emulator.start()
    try:
        clients = ClientFactory(url)
        template = Template.from_file(REPO_ROOT / "template.yaml")
        registry = provision(template, clients)
        specs = build_function_specs(template, registry.evaluator, {})
        log(f"emulator ready at {url}")
        yield LocalStack(url, clients, specs)
    finally:
        emulator.stop()


def load_event(relative_path: str, account: DemoAccount, **overrides: Any) -> dict[str, Any]:
    """A sample event from events/ with its placeholders replaced by `account`'s values."""
    text = (EVENTS_DIR / relative_path).read_text()
    text = text.replace("DEMO_WEBHOOK_TOKEN", account.webhook_token).replace("DEMO_API_KEY", account.api_key)
    event: dict[str, Any] = json.loads(text)
    event.update(overrides)
    return event


def lead_event(account: DemoAccount, phone: str, relative_path: str = "lead_webhook/new-lead.json") -> dict:
    """The sample new-lead event for `account`, posting `phone` (other fields as in the sample)."""
    event = load_event(relative_path, account)
    body = json.loads(event["body"])
    body["phone"] = phone
    event["body"] = json.dumps(body)
    event["headers"]["content-length"] = str(len(event["body"].encode()))
    return event


# -- messaging channels ----------------------------------------------------------------------------
# Each channel's webhook gets an account connected the way the management API connects it (the domain's
# connect function with an in-process stand-in for the provider's API, the real KMS cipher and DynamoDB
# adapter against the emulator), and builds the provider's signed requests. A new channel is one factory
# in CHANNELS: the benchmarks take every function listed there.

API_HOST = "id.execute-api.us-east-1.amazonaws.com"
# The Meta app secret of this benchmark process: one per deployment, so the same for every account.
META_APP_SECRET = secrets.token_urlsafe(32)


class Channel(Protocol):
    """A connected account on one channel, and the provider's webhook requests for it."""

    function_id: str
    first_request: str  # what the cold-start benchmark posts, in words
    env: Mapping[str, str]  # settings the local stack overrides for this function (loopback fakes)

    def new_sender(self) -> str:
        """Someone who has never written to the account."""

    def new_message_id(self) -> str:
        """An id the provider has not sent before."""

    def text_event(self, sender: str, message_id: str) -> dict[str, Any]:
        """The API Gateway event of a text message; the same arguments give a redelivery."""

    def outcome(self, body: Mapping[str, Any]) -> str:
        """What the handler's 200 body says happened: stored, duplicate, or anything else."""


def http_api_event(route_key: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event, shaped like events/lead_webhook/new-lead.json."""
    method, _, path = route_key.partition(" ")
    return {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "host": API_HOST,
            "user-agent": "bench",
            "content-type": "application/json",
            "content-length": str(len(body)),
            **headers,
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api-id",
            "domainName": API_HOST,
            "domainPrefix": "id",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "bench",
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": route_key,
            "stage": "$default",
            "time": "23/Nov/2026:09:00:00 +0000",
            "timeEpoch": 1795424400000,
        },
        "body": body.decode(),
        "isBase64Encoded": False,
    }


def _sample(relative_path: str) -> dict[str, Any]:
    sample: dict[str, Any] = json.loads((SAMPLES_DIR / relative_path).read_text())
    return sample


def _integration_ports(stack: LocalStack) -> dict[str, Any]:
    """The management API's integration store and cipher, on the benchmark's own clients."""
    from leadhub.channels.adapters.dynamodb_integrations import DynamoIntegrations
    from leadhub.platform.adapters.kms_cipher import KmsCipher

    key_id = stack.specs["ManagementApiFunction"].environment["KMS_KEY_ID"]
    return {
        "integrations": DynamoIntegrations(stack.table_name, clients=stack.clients.client),
        "cipher": KmsCipher(key_id, clients=stack.clients.client),
    }


@dataclass
class WhatsappChannel:
    """A WhatsApp Business number connected to the account; Meta's signed notifications for it."""

    phone_number_id: str
    waba_id: str = ""
    access_token: str = ""  # what the Graph API knows the business by (the conversation worker sends with it)
    function_id: str = "WhatsappWebhookFunction"
    first_request: str = (
        "POST /api/webhooks/meta-whatsapp: a signed text message (tests/fixtures/samples/whatsapp/"
        "text-pywa.json) from a new sender to a connected number"
    )
    env: Mapping[str, str] = field(default_factory=dict)

    def new_sender(self) -> str:
        return new_phone().removeprefix("+")  # a wa_id: the number without "+"

    def new_message_id(self) -> str:
        return f"wamid.{secrets.token_hex(16)}"

    def text_event(self, sender: str, message_id: str, text: str | None = None) -> dict[str, Any]:
        notification = _sample("whatsapp/text-pywa.json")
        value = notification["entry"][0]["changes"][0]["value"]
        value["metadata"]["phone_number_id"] = self.phone_number_id
        value["contacts"][0]["wa_id"] = sender
        value["messages"][0] |= {"from": sender, "id": message_id, "timestamp": str(int(time.time()))}
        if text is not None:
            value["messages"][0]["text"]["body"] = text
        body = json.dumps(notification).encode()
        signature = "sha256=" + hmac.new(META_APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        return http_api_event("POST /api/webhooks/meta-whatsapp", {"x-hub-signature-256": signature}, body)

    def outcome(self, body: Mapping[str, Any]) -> str:
        counts = {k: body.get(k) for k in ("stored", "duplicates", "statuses", "ignored")}
        if counts == {"stored": 1, "duplicates": 0, "statuses": 0, "ignored": 0}:
            return "stored"
        if counts == {"stored": 0, "duplicates": 1, "statuses": 0, "ignored": 0}:
            return "duplicate"
        return json.dumps(counts)


def whatsapp_channel(stack: LocalStack, account: DemoAccount) -> WhatsappChannel:
    """Connect a number as PUT /api/integrations/whatsapp does, and put the Meta app secret in SSM."""
    from leadhub.channels.whatsapp.integration import WhatsAppConnection, connect_whatsapp
    from leadhub.platform.timestamps import utc_now

    waba_id, phone_number_id = (str(random.randrange(10**14, 10**15)) for _ in range(2))
    access_token = f"EAAG{secrets.token_urlsafe(24)}"

    class GraphApi:  # the Graph API's answers for this business account
        def phone_numbers(self, waba: str, access_token: str) -> list[dict[str, Any]]:
            number = {"display_phone_number": "+1 555-0100", "verified_name": "Bench Realty"}
            return [{"id": phone_number_id, **number}]

        def subscribe_app(self, waba: str, access_token: str) -> None:
            pass

    connect_whatsapp(
        account.account_id,
        WhatsAppConnection(waba_id, phone_number_id, access_token),
        graph=GraphApi(),
        actor="bench",
        now=utc_now(),
        **_integration_ports(stack),
    )
    parameter = stack.specs["WhatsappWebhookFunction"].environment["META_APP_SECRET_PARAMETER"]
    stack.clients.client("ssm").put_parameter(
        Name=parameter, Value=META_APP_SECRET, Type="SecureString", Overwrite=True
    )
    return WhatsappChannel(phone_number_id, waba_id, access_token)


_telegram_ids = itertools.count(random.randrange(10**8, 2 * 10**8))


@dataclass
class TelegramChannel:
    """A bot connected to the account; the Updates Telegram posts with the webhook's secret token."""

    bot_id: str
    secret_token: str
    function_id: str = "TelegramWebhookFunction"
    first_request: str = (
        "POST /api/webhooks/telegram: a text message Update (tests/fixtures/samples/telegram/"
        "text-start-official.json) from a new user, with the account's secret token"
    )
    env: Mapping[str, str] = field(default_factory=dict)

    def new_sender(self) -> str:
        return str(random.randrange(10**9, 8 * 10**9))  # a user id (a private chat has the same id)

    def new_message_id(self) -> str:
        return str(next(_telegram_ids))  # the Update's update_id and its message's message_id

    def text_event(self, sender: str, message_id: str) -> dict[str, Any]:
        update = _sample("telegram/text-start-official.json")
        update["update_id"] = int(message_id)
        message = update["message"]
        message |= {"message_id": int(message_id), "date": int(time.time())}
        message["from"]["id"] = message["chat"]["id"] = int(sender)
        body = json.dumps(update).encode()
        return http_api_event(
            "POST /api/webhooks/telegram", {"x-telegram-bot-api-secret-token": self.secret_token}, body
        )

    def outcome(self, body: Mapping[str, Any]) -> str:
        return str(body.get("outcome"))


def telegram_channel(stack: LocalStack, account: DemoAccount) -> TelegramChannel:
    """Connect a bot as PUT /api/integrations/telegram does (getMe, setWebhook with a new secret)."""
    from leadhub.channels.telegram.integration import connect_telegram
    from leadhub.platform.timestamps import utc_now

    bot_id = str(random.randrange(10**9, 8 * 10**9))
    registered: dict[str, str] = {}

    class BotApi:  # the Bot API's answers for this bot
        def get_me(self, bot_token: str) -> dict[str, Any]:
            return {"id": int(bot_id), "is_bot": True, "first_name": "Bench", "username": "bench_bot"}

        def set_webhook(
            self, bot_token: str, url: str, secret_token: str, allowed_updates: tuple[str, ...]
        ) -> None:
            registered["secret_token"] = secret_token

        def delete_webhook(self, bot_token: str) -> None:
            pass

    connect_telegram(
        account.account_id,
        f"{bot_id}:{secrets.token_urlsafe(26)}",
        public_base_url=f"https://{API_HOST}",
        bot_api=BotApi(),
        actor="bench",
        now=utc_now(),
        **_integration_ports(stack),
    )
    return TelegramChannel(bot_id, registered["secret_token"])


# The Resend webhook secret of this benchmark process (one per deployment).
RESEND_WEBHOOK_SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass
class EmailChannel:
    """A sending domain connected to the account; Resend's Svix-signed `email.received` events."""

    domain: str
    function_id: str = "EmailWebhookFunction"
    first_request: str = (
        "POST /api/webhooks/email: a signed email.received (tests/fixtures/samples/resend/"
        "email-received-docs.json) from a new sender to the connected domain"
    )
    env: Mapping[str, str] = field(default_factory=dict)

    def new_sender(self) -> str:
        return f"lead-{secrets.token_hex(6)}@example.com"

    def new_message_id(self) -> str:
        return secrets.token_hex(16)  # the email id; the delivery's svix-id is derived from it

    def text_event(self, sender: str, message_id: str) -> dict[str, Any]:
        event = _sample("resend/email-received-docs.json")
        event["data"] |= {"email_id": message_id, "from": sender, "to": [f"hello@{self.domain}"]}
        body = json.dumps(event).encode()
        from local.fake_providers import svix_headers  # signed as Resend signs, like the local fakes

        headers = svix_headers(RESEND_WEBHOOK_SECRET, f"msg_{message_id}", body)
        return http_api_event("POST /api/webhooks/email", headers, body)

    def outcome(self, body: Mapping[str, Any]) -> str:
        return str(body.get("outcome"))


def email_channel(stack: LocalStack, account: DemoAccount) -> EmailChannel:
    """Connect a domain as PUT /api/integrations/email does, and put the webhook secret in SSM."""
    from leadhub.channels.email.integration import connect_email
    from leadhub.platform.timestamps import utc_now

    domain = f"bench-{secrets.token_hex(4)}.test"

    class ResendDomains:  # Resend's answers for this domain
        def create_domain(self, name: str) -> dict[str, Any]:
            capabilities = {"sending": "enabled", "receiving": "enabled"}
            return {"id": f"dom-{name}", "name": name, "status": "not_started", "capabilities": capabilities}

        def verify_domain(self, domain_id: str) -> None:
            pass

        def get_domain(self, domain_id: str) -> dict[str, Any]:
            return {"id": domain_id, "status": "verified", "records": []}

    ports = _integration_ports(stack)
    connect_email(
        account.account_id,
        f"hello@{domain}",
        "Bench",
        domains=ResendDomains(),
        integrations=ports["integrations"],
        actor="bench",
        now=utc_now(),
    )
    parameter = stack.specs["EmailWebhookFunction"].environment["RESEND_WEBHOOK_SECRET_PARAMETER"]
    stack.clients.client("ssm").put_parameter(
        Name=parameter, Value=RESEND_WEBHOOK_SECRET, Type="SecureString", Overwrite=True
    )
    return EmailChannel(domain)


# function logical id -> connect an account and get its channel
CHANNELS: dict[str, Callable[[LocalStack, DemoAccount], Channel]] = {
    "WhatsappWebhookFunction": whatsapp_channel,
    "TelegramWebhookFunction": telegram_channel,
    "EmailWebhookFunction": email_channel,
}
