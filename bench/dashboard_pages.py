"""Dashboard pages on the local stack over HTTP: server time and HTML size per page, and the assets'
compressed size. Prints one JSON document; logs go to stderr.

Starts the stack as `make run` does (free ports, private state dir), creates an account with a webhook
endpoint (a loopback receiver), LEADS leads (so the endpoint's delivery log has as many deliveries) and a
few API keys, signs in through the login form, warms every page up, then requests each page
REQUESTS times on one keep-alive connection. "Server time" is request sent to response read on loopback
(the local HTTP API, the warm function worker and its emulator calls). The dashboard function's cold
start is measured by bench/cold_start.py (DashboardFunction), with the other functions'.

    python bench/dashboard_pages.py [--requests 40] [--leads 60]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "layers" / "common")]

import httpx  # noqa: E402
from _common import emit, latency_figures, log  # noqa: E402

from tests.receiver import Receiver  # noqa: E402
from tests.stack_process import StackProcess  # noqa: E402

TARGET_P50_MS = 50.0
TARGET_HTML_BYTES = 60 * 1024
TARGET_ASSETS_GZIP_BYTES = 100 * 1024
SIGNED_IN_PAGES = (
    "/",
    "/settings/api-keys",
    "/audit",
    "/leads",
    "/channels",
    "/channels/widget",
    "/channels/widget/rotate-key",
    "/automations",
    "/automations/new",
    "/settings/webhook-token",
    "/logout",
    "/webhooks",
    "/webhooks/new",
)
# Pages of one lead and one conversation (ids known once they exist): {lead}, {conversation}.
LEAD_AND_INBOX_PAGES = (
    "/leads?q=Lead+1",
    "/leads?q=%2B14155550001",
    "/leads/{lead}",
    "/inbox",
    "/inbox/live?status=open",
    "/inbox/{conversation}",
    "/inbox/{conversation}/live",
)
CONVERSATION_MESSAGES = 30
AUTOMATIONS = 40  # a full page of them
# The local fakes' demo credentials (README, "Messaging channels"): /channels then shows three connected
# channels, the email domain's state asked of the (loopback) Resend on every view, as on AWS.
CHANNELS = {
    "whatsapp": {
        "wabaId": "100000000000001",
        "phoneNumberId": "100000000000002",
        "accessToken": "EAAG-local-demo",
    },
    "telegram": {"telegramBotToken": "7000001:AAH-local-demo"},
    "email": {"emailFromAddress": "hello@shop.example", "emailFromName": "Shop"},
}
WARMUP = 5


def sign_in(client: httpx.Client, api_key: str) -> None:
    form = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf, "no CSRF token on the sign-in page"
    answer = client.post("/login", data={"apiKey": api_key, "csrf": csrf.group(1)})
    assert answer.status_code == 303, answer.status_code


def timed(client: httpx.Client, path: str, count: int) -> tuple[list[float], httpx.Response]:
    for _ in range(WARMUP):
        client.get(path)
    times: list[float] = []
    response = None
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    assert response is not None
    return times, response


def _lead_and_conversation(client: httpx.Client, account: dict, telegram: dict) -> dict[str, str]:
    """The demo bot connected, a person's CONVERSATION_MESSAGES messages to it; a lead's and their
    conversation's ids."""
    keyed = {"X-API-Key": account["apiKey"]}
    connected = client.put(
        "/api/integrations/telegram", json={"telegramBotToken": telegram["telegramBotToken"]}, headers=keyed
    )
    assert connected.status_code == 200, connected.text
    for n in range(CONVERSATION_MESSAGES):
        text = f"Message {n}: is the flat on Elm Street still available?"
        client.post(telegram["simulate"], json={"from": 4242, "name": "Ada", "text": text})
    [conversation] = client.get("/api/conversations", headers=keyed).json()["items"]
    return {"lead": conversation["leadId"], "conversation": conversation["conversationId"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--requests", type=int, default=40, help="measured requests per page")
    parser.add_argument("--leads", type=int, default=60, help="leads posted to the account first")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="leadhub-bench-") as state_dir:
        # Loopback receivers allowed (the endpoint's deliveries go to a Receiver on this machine), and the
        # fake providers: a person writes to the demo Telegram bot, so that the inbox has a thread.
        env = {
            "LOCAL_CONCURRENCY": "1",
            "ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
            "LEADHUB_FAKE_PROVIDERS": "1",
        }
        stack = StackProcess(Path(state_dir), env=env)
        log("starting the local stack ...")
        stack.start()
        try:
            api = stack.api
            with httpx.Client(base_url=api, timeout=30) as client, Receiver() as receiver:
                account = client.post(
                    "/api/admin/accounts",
                    json={"name": "Bench Dashboard", "plan": "pro"},
                    headers={"X-Admin-Key": stack.ready["adminKey"]},
                ).json()
                endpoint = client.post(
                    "/api/webhook-endpoints",
                    json={"name": "Bench CRM", "url": receiver.url, "events": ["lead.created"]},
                    headers={"X-API-Key": account["apiKey"]},
                ).json()
                for n in range(args.leads):
                    client.post(
                        account["webhookUrl"], json={"name": f"Lead {n}", "phone": f"+1415555{n:04d}"}
                    )
                for n in range(5):
                    client.post(
                        "/api/api-keys",
                        json={"name": f"key {n}", "scopes": ["leads:read"]},
                        headers={"X-API-Key": account["apiKey"]},
                    )
                receiver.wait_for("lead.created", count=args.leads, timeout=120)
                ids = _lead_and_conversation(client, account, stack.ready["fakeProviders"]["telegram"])
                keyed = {"X-API-Key": account["apiKey"]}
                for channel, body in CHANNELS.items():
                    connected = client.put(f"/api/integrations/{channel}", json=body, headers=keyed)
                    assert connected.status_code == 200, (channel, connected.text)
                widget = {
                    "enabled": True,
                    "allowedOrigins": ["https://shop.example"],
                    "consentText": "We answer.",
                }
                assert client.put("/api/widget", json=widget, headers=keyed).status_code == 200
                for n in range(AUTOMATIONS):
                    automation = {"kind": "keyword", "match": f"word{n}", "reply": f"Reply number {n} " * 8}
                    assert client.post("/api/automations", json=automation, headers=keyed).status_code == 201
                sign_in(client, account["apiKey"])
                pages: dict[str, dict] = {}
                # The endpoint's delivery log (a page of 10 deliveries with their attempts), by its route.
                log_page = {"/webhooks/{endpointId}": f"/webhooks/{endpoint['endpointId']}"}
                by_name = {
                    p: p for p in SIGNED_IN_PAGES + tuple(p.format(**ids) for p in LEAD_AND_INBOX_PAGES)
                }
                for name, path in {**by_name, **log_page}.items():
                    log(f"measuring {name} ...")
                    times, response = timed(client, path, args.requests)
                    pages[name] = {"server_ms": latency_figures(times), "html_bytes": len(response.content)}
                html = client.get("/").text
                assets = sorted(set(re.findall(r'(?:href|src)="(/assets/[^"]+)"', html)))
                asset_figures = {}
                for path in assets:
                    response = client.get(path, headers={"Accept-Encoding": "gzip"})
                    asset_figures[path] = {
                        "bytes": len(response.content),
                        "gzip_bytes": response.num_bytes_downloaded,
                        "cache_control": response.headers.get("cache-control"),
                    }
            with httpx.Client(base_url=api, timeout=30) as signed_out:
                log("measuring /login ...")
                times, response = timed(signed_out, "/login", args.requests)
                pages["/login"] = {"server_ms": latency_figures(times), "html_bytes": len(response.content)}
        finally:
            stack.stop()

    compressed = sum(a["gzip_bytes"] for a in asset_figures.values())
    targets = {
        "server_p50_le_50ms": {p: f["server_ms"]["p50"] <= TARGET_P50_MS for p, f in pages.items()},
        "html_le_60KB": {p: f["html_bytes"] <= TARGET_HTML_BYTES for p, f in pages.items()},
        "assets_gzip_le_100KB": compressed <= TARGET_ASSETS_GZIP_BYTES,
        "assets_cached_immutable": all(
            "immutable" in (a["cache_control"] or "") for a in asset_figures.values()
        ),
    }
    passed = all(all(v.values()) if isinstance(v, dict) else v for v in targets.values())
    emit(
        {
            "benchmark": "dashboard_pages",
            "requests_per_page": args.requests,
            "leads": args.leads,
            "pages": pages,
            "assets": asset_figures,
            "assets_gzip_bytes_total": compressed,
            "targets": targets,
            "pass": passed,
        }
    )


if __name__ == "__main__":
    main()
