"""The website widget in a real browser against the local stack: a visitor's message until the reply is
visible in the widget, and what an open panel costs in polling.

Starts the stack as `make run` does (free ports, private state dir), enables the demo account's widget for
a loopback host page (examples/widget.html served on http://localhost:{port}) with a keyword automation,
then drives headless Chromium (Playwright, /usr/bin/chromium):

1. latency: CONVERSATIONS visitors, CLIENTS at a time, each in a fresh browser context (a new visitor):
   open the page, open the panel, send "What is the price?"; timed inside the page (performance.now())
   from the send until the automation's reply is in the widget's message log (a MutationObserver), so
   it is the widget's own polling plus the pipeline (widget function → table stream → fan-out → FIFO
   conversation queue → conversation worker → stored as sent → the widget's next poll);
2. polling cost: one visitor opens the panel, sends one message, gets the reply and stays idle for
   IDLE_SECONDS: every poll request is recorded, giving requests per minute and the back-off intervals.

Prints one JSON document; targets (issue 17): p50 ≤ 1500 ms, p99 ≤ 3000 ms, widget.js ≤ 30 KB gzip.

    python bench/widget_latency.py [--conversations 200] [--clients 4] [--idle-seconds 150]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import itertools
import json
import signal
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO_ROOT)]

from _common import latency_figures  # noqa: E402
from playwright.async_api import Browser, async_playwright  # noqa: E402
from reply_latency import call  # noqa: E402

from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.host_site import HostSite  # noqa: E402
from tests.stack_process import StackProcess  # noqa: E402

REPLY = "Our plans start at 10 EUR a month."
WARMUP_CONVERSATIONS = 8
TIMEOUT_MS = 30_000
# In the page: send a message through the widget's own form and resolve with the milliseconds until the
# reply is in the widget's log.
SEND_AND_TIME = """([text, reply]) => new Promise((resolve, reject) => {
  const root = document.querySelector("#leadhub-widget").shadowRoot;
  const log = root.querySelector(".log");
  const started = performance.now();
  const done = () => { observer.disconnect(); resolve(performance.now() - started); };
  const observer = new MutationObserver(() => { if (log.textContent.includes(reply)) done(); });
  observer.observe(log, { childList: true, subtree: true, characterData: true });
  setTimeout(() => { observer.disconnect(); reject(new Error("no reply")); }, TIMEOUT_MS);
  root.querySelector("textarea").value = text;
  root.querySelector("form.composer").requestSubmit();
})""".replace("TIMEOUT_MS", str(TIMEOUT_MS))


async def conversation(browser: Browser, page_url: str) -> float:
    """One new visitor: the milliseconds from their message until the reply shows in their widget."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(page_url)
        await page.wait_for_function("window.LeadhubWidget && window.LeadhubWidget.status === 'ready'")
        await page.evaluate("window.LeadhubWidget.open()")
        return float(await page.evaluate(SEND_AND_TIME, ["What is the price?", REPLY]))
    finally:
        await context.close()


async def latencies(
    browser: Browser, page_url: str, count: int, clients: int
) -> tuple[list[float], list[str]]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)
    measured: list[float] = []
    errors: list[str] = []

    async def client() -> None:
        while not queue.empty():
            queue.get_nowait()
            try:
                measured.append(await conversation(browser, page_url))
            except Exception as exc:  # a failed conversation is reported, not fatal
                errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")

    await asyncio.gather(*(client() for _ in range(clients)))
    return measured, errors


async def polling(browser: Browser, page_url: str, idle_seconds: float) -> dict[str, Any]:
    """One open panel: a message, its reply, then idle. When each poll went out, from the reply on."""
    context = await browser.new_context()
    polls: list[float] = []
    try:
        page = await context.new_page()
        page.on(
            "request",
            lambda r: polls.append(time.monotonic()) if r.method == "GET" and "/messages" in r.url else None,
        )
        await page.goto(page_url)
        await page.wait_for_function("window.LeadhubWidget && window.LeadhubWidget.status === 'ready'")
        await page.evaluate("window.LeadhubWidget.open()")
        await page.evaluate(SEND_AND_TIME, ["What is the price?", REPLY])
        replied = time.monotonic()
        await asyncio.sleep(idle_seconds)
        await page.evaluate("window.LeadhubWidget.close()")
        closed = time.monotonic()
        await asyncio.sleep(5)
        after_close = [t for t in polls if t > closed + 0.1]
    finally:
        await context.close()
    idle = [t - replied for t in polls if replied <= t <= closed]
    gaps = [round(b - a, 2) for a, b in itertools.pairwise(idle)]
    per_minute = [sum(1 for t in idle if m * 60 <= t < (m + 1) * 60) for m in range(int(idle_seconds // 60))]
    return {
        "idleSeconds": idle_seconds,
        "pollsAfterTheReply": len(idle),
        "requestsPerMinute": per_minute,
        "intervalsSeconds": gaps,
        "pollsWithin5sAfterClosing": len(after_close),
    }


async def measure(api: str, page_url: str, args: argparse.Namespace) -> dict[str, Any]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            await latencies(browser, page_url, WARMUP_CONVERSATIONS, args.clients)
            began = time.perf_counter()
            measured, errors = await latencies(browser, page_url, args.conversations, args.clients)
            elapsed = time.perf_counter() - began
            cost = await polling(browser, page_url, args.idle_seconds) if args.idle_seconds else None
        finally:
            await browser.close()
    return {"measured": measured, "errors": errors, "elapsed": elapsed, "polling": cost}


def pipeline_ms(api: str, keyed: dict[str, str]) -> list[float]:
    """Per web conversation: from the visitor's message stored until the reply stored as sent (the
    server's part of the latency; the rest is the widget's polling and the browser)."""
    from datetime import datetime

    def at(text: str) -> float:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

    spans: list[float] = []
    cursor = ""
    while True:
        page = call("GET", f"{api}/api/conversations?channel=web&limit=100{cursor}", headers=keyed)
        for conversation in page["items"]:
            path = f"{api}/api/conversations/{conversation['conversationId']}/messages"
            messages = call("GET", path, headers=keyed)["items"]
            inbound = [m for m in messages if m["direction"] == "inbound"]
            replies = [m for m in messages if m["direction"] == "outbound" and m["statusAt"]]
            if inbound and replies:
                spans.append((at(replies[0]["statusAt"]) - at(inbound[0]["receivedAt"])) * 1000)
        if not page["nextCursor"]:
            return spans
        cursor = f"&cursor={page['nextCursor']}"


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--idle-seconds", type=float, default=150)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as state_dir, tempfile.TemporaryDirectory() as site_dir:
        stack = StackProcess(Path(state_dir), log=sys.stderr.buffer)
        stack.start()
        site = HostSite(Path(site_dir))
        try:
            keyed = {"X-API-Key": stack.demo["apiKey"]}
            rule = {"kind": "keyword", "match": "price", "reply": REPLY}
            call("POST", f"{stack.api}/api/automations", rule, keyed)
            limits = {"messagesPerIpPerMinute": 100_000, "newVisitorsPerIpPerMinute": 100_000}
            settings = {
                "enabled": True,
                "allowedOrigins": [site.origin],
                "capture": "off",
                "rateLimits": limits,
            }
            widget = call("PUT", f"{stack.api}/api/widget", settings, keyed)
            site.publish(stack.api, widget["widgetKey"])
            script = urllib.request.urlopen(f"{stack.api}/widget.js", timeout=10).read()  # noqa: S310
            results = asyncio.run(measure(stack.api, f"{site.origin}/", args))
            server_side = pipeline_ms(stack.api, keyed)
        finally:
            site.close()
            stack.stop()

    figures = latency_figures(results["measured"])
    compressed = len(gzip.compress(script, compresslevel=9, mtime=0))
    document = {
        "benchmark": "widget_message_to_visible_reply_local_stack",
        "conversations": args.conversations,
        "clients": args.clients,
        "browser": f"{CHROMIUM} (headless, Playwright)",
        "responder": "rules (keyword automation)",
        "seconds": round(results["elapsed"], 2),
        "latencyMs": figures,
        "serverPipelineMs": latency_figures(server_side),
        "replied": len(results["measured"]),
        "errors": results["errors"][:10],
        "errorCount": len(results["errors"]),
        "widgetJsBytes": {"plain": len(script), "gzip": compressed},
        "polling": results["polling"],
        "targets": {
            "p50Ms": {"target": 1500, "pass": figures["p50"] is not None and figures["p50"] <= 1500},
            "p99Ms": {"target": 3000, "pass": figures["p99"] is not None and figures["p99"] <= 3000},
            "widgetJsGzipBytes": {"target": 30 * 1024, "pass": compressed <= 30 * 1024},
        },
    }
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
