"""Lead ingest through the local stack over HTTP.

Starts the stack as `make run` does (free ports, private state dir), warms it up, then sends
POSTS lead posts (new and duplicate phones) from CLIENTS concurrent keep-alive clients and reports
latency percentiles, errors, and whether the number of leads in the table is exactly the number of
distinct phones posted. Prints one JSON document; logs go to stderr.

    python bench/ingest.py [--posts 2000] [--clients 4] [--duplicates 0.25]
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "layers" / "common")]

import boto3  # noqa: E402
import phonenumbers  # noqa: E402
from _common import latency_figures, percentile  # noqa: E402

from tests.stack_process import StackProcess  # noqa: E402

TARGET_P50_MS = 25.0
TARGET_P99_MS = 80.0
WARMUP_POSTS = 200


def valid_us_phones(count: int, rng: random.Random) -> list[str]:
    phones: set[str] = set()
    while len(phones) < count:
        candidate = f"+1415{rng.randint(2_000_000, 9_999_999)}"
        if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
            phones.add(candidate)
    return sorted(phones)


def create_account(api: str, admin_key: str, name: str) -> dict[str, str]:
    connection = http.client.HTTPConnection(urlsplit(api).netloc, timeout=30)
    body = json.dumps({"name": name, "plan": "business"})
    connection.request(
        "POST", "/api/admin/accounts", body, {"Content-Type": "application/json", "X-Admin-Key": admin_key}
    )
    response = connection.getresponse()
    payload = json.loads(response.read())
    if response.status != 201:
        raise RuntimeError(f"creating an account failed: {response.status} {payload}")
    return payload


class Client(threading.Thread):
    """One keep-alive HTTP/1.1 connection posting its share of the bodies."""

    def __init__(self, api: str, path: str, bodies: list[bytes], start: threading.Barrier) -> None:
        super().__init__(daemon=True)
        self.netloc = urlsplit(api).netloc
        self.path = path
        self.bodies = bodies
        self.start_barrier = start
        self.latencies_ms: list[float] = []
        self.statuses: list[int] = []
        self.errors: list[str] = []

    def run(self) -> None:
        connection = http.client.HTTPConnection(self.netloc, timeout=30)
        headers = {"Content-Type": "application/json"}
        self.start_barrier.wait()
        for body in self.bodies:
            started = time.perf_counter()
            try:
                connection.request("POST", self.path, body, headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.errors.append(type(exc).__name__)
                connection.close()
                connection = http.client.HTTPConnection(self.netloc, timeout=30)
                continue
            self.latencies_ms.append((time.perf_counter() - started) * 1000)
            self.statuses.append(response.status)
        connection.close()


def run_posts(api: str, token: str, phones: list[str], clients: int) -> tuple[list[Client], float]:
    bodies = [
        json.dumps({"phone": phone, "name": "Bench Lead", "tags": ["bench"]}).encode() for phone in phones
    ]
    barrier = threading.Barrier(clients + 1)
    workers = [
        Client(api, f"/api/webhooks/leads/{token}", bodies[i::clients], barrier) for i in range(clients)
    ]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    return workers, time.perf_counter() - started


def leads_in_table(emulator: str, account_id: str) -> int:
    table = boto3.client(
        "dynamodb",
        endpoint_url=emulator,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - the emulator's dummy credentials
    )
    name = table.list_tables()["TableNames"][0]
    count, start_key = 0, None
    while True:
        kwargs = {"ExclusiveStartKey": start_key} if start_key else {}
        page = table.query(
            TableName=name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :lead)",
            ExpressionAttributeValues={":pk": {"S": f"ACCOUNT#{account_id}"}, ":lead": {"S": "LEAD#"}},
            Select="COUNT",
            **kwargs,
        )
        count += page["Count"]
        start_key = page.get("LastEvaluatedKey")
        if not start_key:
            return count


def main() -> None:
    # `timeout` and CI send SIGTERM: exit through `finally`, which stops the stack.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--duplicates", type=float, default=0.25, help="share of posts that repeat a phone")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    distinct = round(args.posts * (1 - args.duplicates))
    phones = valid_us_phones(distinct + WARMUP_POSTS, rng)
    warmup_phones, phones = phones[:WARMUP_POSTS], phones[WARMUP_POSTS:]
    posts = phones + [rng.choice(phones) for _ in range(args.posts - distinct)]
    rng.shuffle(posts)

    with tempfile.TemporaryDirectory() as state_dir:
        stack = StackProcess(Path(state_dir), log=sys.stderr.buffer)
        stack.start()
        try:
            api, admin_key = stack.api, stack.ready["adminKey"]
            warmup = create_account(api, admin_key, "Warm-up")
            run_posts(api, warmup["webhookToken"], warmup_phones, args.clients)  # all workers warm
            account = create_account(api, admin_key, "Ingest benchmark")
            clients, elapsed = run_posts(api, account["webhookToken"], posts, args.clients)
            stored = leads_in_table(stack.ready["emulator"], account["accountId"])
        finally:
            stack.stop()

    latencies = [ms for client in clients for ms in client.latencies_ms]
    statuses = [status for client in clients for status in client.statuses]
    errors = [error for client in clients for error in client.errors]
    non_2xx = sum(1 for status in statuses if status not in (200, 201))
    p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
    result = {
        "benchmark": "lead_ingest_local_stack",
        "posts": args.posts,
        "clients": args.clients,
        "distinctPhones": distinct,
        "warmupPosts": WARMUP_POSTS,
        "seconds": round(elapsed, 2),
        "postsPerSecond": round(len(latencies) / elapsed, 1),
        "latencyMs": latency_figures(latencies, digits=2),
        "status": {str(code): statuses.count(code) for code in sorted(set(statuses))},
        "transportErrors": len(errors),
        "leadsInTable": stored,
        "targets": {
            "p50_le_25ms": p50 <= TARGET_P50_MS,
            "p99_le_80ms": p99 <= TARGET_P99_MS,
            "zero_errors": not errors and non_2xx == 0,
            "created_201_equals_distinct": statuses.count(201) == distinct,
            "lead_count_exact": stored == distinct,
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
