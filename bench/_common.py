"""What the benchmarks share: the local emulator provisioned from template.yaml, demo accounts written
through the app's own domain code, the functions' environments, and the sample events."""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = REPO_ROOT / "events"
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
        from leadhub.adapters.dynamodb_accounts import DynamoAccountRepository
        from leadhub.adapters.kms_cipher import KmsCipher
        from leadhub.domain.accounts import create_account
        from leadhub.models.account import Plan
        from leadhub.timestamps import utc_now

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
        from leadhub.adapters.dynamodb_endpoints import endpoint_to_values
        from leadhub.adapters.dynamodb_items import to_item
        from leadhub.adapters.kms_cipher import KmsCipher
        from leadhub.domain.signing import new_endpoint_secret
        from leadhub.domain.webhook_endpoints import secret_context
        from leadhub.ids import sortable_id
        from leadhub.models.webhook_endpoint import EndpointSecret, Verification, WebhookEndpoint
        from leadhub.timestamps import to_iso, utc_now

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
    """A customer's webhook endpoint on loopback: answers every POST with 200 after `delay_s`."""

    def __init__(self, delay_s: float = 0.0) -> None:
        import threading
        import time
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests = 0
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if delay_s:
                    time.sleep(delay_s)
                with lock:
                    receiver.requests += 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def local_stack() -> Iterator[LocalStack]:
    """Start the emulator, provision template.yaml into it, and stop it afterwards."""
    from local.cfn import Template
    from local.emulator import ClientFactory, Emulator
    from local.provision import provision
    from local.sam import build_function_specs
    from local.settings import fake_credentials_env

    # The app's adapters (used here to write accounts) must never reach real AWS either.
    os.environ.update(fake_credentials_env())
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
