"""Inbound-to-reply latency through the local stack: a WhatsApp message posted (signed, by the Graph API
fake, as Meta posts it) until the rules reply reaches the fake Graph API.

Starts the stack as `LEADHUB_FAKE_PROVIDERS=1 make run` does (free ports, private state dir), connects
the demo number, adds a greeting automation, warms every worker with a few conversations, then opens
CONVERSATIONS new conversations (a new sender each) from CLIENTS concurrent clients and measures, per
conversation, from the simulated message until the fake has received the reply. Prints one JSON document.

    python bench/reply_latency.py [--conversations 500] [--clients 4]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO_ROOT)]

from _common import latency_figures  # noqa: E402

from tests.stack_process import StackProcess  # noqa: E402

WARMUP_CONVERSATIONS = 20
REPLY_TIMEOUT_S = 30.0
POLL_S = 0.005


def call(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url, data=data, method=method, headers={"content-type": "application/json", **(headers or {})}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
        return json.loads(response.read() or b"null")


class Conversations(threading.Thread):
    """Opens its share of conversations one after another, timing each until its reply arrives."""

    def __init__(self, simulate: str, sent: str, senders: list[str], start: threading.Barrier) -> None:
        super().__init__(daemon=True)
        self.simulate, self.sent, self.senders, self.start_together = simulate, sent, senders, start
        self.latencies_ms: list[float] = []
        self.errors: list[str] = []

    def run(self) -> None:
        self.start_together.wait()
        for sender in self.senders:
            began = time.perf_counter()
            try:
                answer = call("POST", self.simulate, {"from": sender, "name": "Bench", "text": "Hello"})
                if answer.get("leadhubStatus") != 200:
                    self.errors.append(f"webhook answered {answer.get('leadhubStatus')}")
                    continue
                deadline = began + REPLY_TIMEOUT_S
                while not call("GET", f"{self.sent}?to={sender}")["sent"]:
                    if time.perf_counter() > deadline:
                        raise TimeoutError(f"no reply within {REPLY_TIMEOUT_S} s")
                    time.sleep(POLL_S)
                self.latencies_ms.append((time.perf_counter() - began) * 1000)
            except (OSError, TimeoutError, ValueError) as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")


def run(simulate: str, sent: str, senders: list[str], clients: int) -> tuple[list[Conversations], float]:
    start = threading.Barrier(clients + 1)
    workers = [Conversations(simulate, sent, senders[i::clients], start) for i in range(clients)]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    return workers, time.perf_counter() - began


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    senders = [f"1415{5550000 + n:07d}" for n in range(WARMUP_CONVERSATIONS + args.conversations)]

    with tempfile.TemporaryDirectory() as state_dir:
        stack = StackProcess(Path(state_dir), env={"LEADHUB_FAKE_PROVIDERS": "1"}, log=sys.stderr.buffer)
        stack.start()
        try:
            fakes = stack.ready["fakeProviders"]["whatsapp"]
            keyed = {"X-API-Key": stack.demo["apiKey"]}
            number = {k: fakes[k] for k in ("wabaId", "phoneNumberId", "accessToken")}
            call("PUT", f"{stack.api}/api/integrations/whatsapp", number, keyed)
            greeting = {"kind": "greeting", "reply": "Thanks for writing! We answer within the hour."}
            call("POST", f"{stack.api}/api/automations", greeting, keyed)
            simulate = fakes["simulate"]
            sent = simulate.rsplit("/_simulate", 1)[0] + "/_sent"
            run(simulate, sent, senders[:WARMUP_CONVERSATIONS], args.clients)
            workers, elapsed = run(simulate, sent, senders[WARMUP_CONVERSATIONS:], args.clients)
        finally:
            stack.stop()

    latencies = [ms for w in workers for ms in w.latencies_ms]
    errors = [e for w in workers for e in w.errors]
    document = {
        "benchmark": "inbound_to_reply_local_stack",
        "conversations": args.conversations,
        "clients": args.clients,
        "channel": "whatsapp (Graph API fake), rules responder (greeting)",
        "seconds": round(elapsed, 2),
        "repliesPerSecond": round(len(latencies) / elapsed, 1) if elapsed else None,
        "latencyMs": latency_figures(latencies),
        "replied": len(latencies),
        "errors": errors[:10],
        "errorCount": len(errors),
        "note": "no target in the issue: report the figures",
    }
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
