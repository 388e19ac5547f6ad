"""Delivery worker throughput: one SQS batch of 10 deliveries to loopback endpoints that answer in 100 ms.

The worker's real handler runs in this process against the local emulator (a moto server on loopback,
provisioned from template.yaml, the same the local stack uses), so its DynamoDB, KMS and SQS calls are
real HTTP requests. Jobs and delivery records are written as the fan-out writes them; the batch is the
queue's own messages (ReceiveMessage), shaped as Lambda's SQS event. `worker_ms` is the wall-clock time
of one `lambda_handler` call, from the event to the partial-batch response, after warm-up batches (a warm
execution environment: clients, connection pools and decrypted endpoint secrets are reused).

Scenarios: 10 deliveries to one endpoint, and to 10 endpoints (one receiver each). Reported: the
median/min/max worker time over `--runs` batches, deliveries/s at the median, the overhead beyond the
receivers' 100 ms, and the AWS requests per delivery.

Target: median worker time <= 150 ms for the batch of 10 (sequential sending would take >= 1,000 ms).
The emulator runs DynamoDB requests one at a time (moto's backend is not thread-safe), which makes these
figures pessimistic next to DynamoDB itself.

Usage: python bench/delivery_batch.py [--runs 15] [--warmup 2]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import statistics
import sys
import time
from collections import Counter
from typing import Any

from _common import emit, local_stack, log, receivers_process, summary

BATCH = 10
RESPONSE_DELAY_S = 0.100
TARGET_MS = 150.0
OWNER = "acc_bench_owner"


class _Context:
    function_name = "DeliveryWorkerFunction"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:DeliveryWorkerFunction"
    aws_request_id = "00000000-0000-4000-8000-000000000000"


class RequestCounter:
    def __init__(self, clients: dict[str, Any]) -> None:
        self.sent: Counter[str] = Counter()
        for service, client in clients.items():
            client.meta.events.register(f"before-send.{service}", self._counter(service))

    def _counter(self, service: str) -> Any:
        def count(**_: Any) -> None:
            self.sent[service] += 1

        return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()

    # The handler logs to stdout; keep stdout for the JSON result.
    with (
        local_stack() as stack,
        receivers_process(BATCH, RESPONSE_DELAY_S) as receiver_urls,
        contextlib.redirect_stdout(sys.stderr),
    ):
        function_id = "DeliveryWorkerFunction"
        os.environ.update(stack.environment(function_id))
        os.environ["ALLOW_PRIVATE_WEBHOOK_TARGETS"] = "true"  # loopback receivers, as in the local stack
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # one log line per delivery is not the subject
        sys.path[0:0] = stack.sys_path(function_id)
        handler_module, _, handler_name = stack.specs[function_id].handler.rpartition(".")
        app = importlib.import_module(handler_module)
        handler = getattr(app, handler_name)

        from leadhub.outbound.adapters.dynamodb_delivery_log import DynamoDeliveryLog
        from leadhub.outbound.adapters.dynamodb_endpoints import endpoint_to_values
        from leadhub.outbound.endpoints import secret_context
        from leadhub.outbound.models import (
            Delivery,
            DeliveryJob,
            EndpointSecret,
            Verification,
            WebhookEndpoint,
            delivery_id_for,
        )
        from leadhub.outbound.signing import new_endpoint_secret
        from leadhub.platform.adapters.aws_clients import client
        from leadhub.platform.adapters.dynamodb_items import to_item
        from leadhub.platform.adapters.kms_cipher import KmsCipher
        from leadhub.platform.ids import sortable_id
        from leadhub.platform.timestamps import to_iso, utc_now
        from local.pollers import sqs_event

        table = stack.table_name
        queue_url = os.environ["DELIVERY_QUEUE_URL"]
        sqs = stack.clients.client("sqs")
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        ddb = stack.clients.client("dynamodb")
        cipher = KmsCipher(os.environ["KMS_KEY_ID"], clients=stack.clients.client)
        log_writer = DynamoDeliveryLog(table, clients=stack.clients.client)

        def new_endpoint(url: str) -> WebhookEndpoint:
            endpoint_id = sortable_id("wep")
            stamp = to_iso(utc_now())
            secret = cipher.encrypt(new_endpoint_secret(), secret_context(OWNER, endpoint_id))
            endpoint = WebhookEndpoint(
                account_id=OWNER,
                endpoint_id=endpoint_id,
                name="Bench CRM",
                url=url,
                secrets=(EndpointSecret(secret, stamp),),
                created_at=stamp,
                updated_at=stamp,
                verification=Verification.VERIFIED,
                verified_at=stamp,
            )
            ddb.put_item(TableName=table, Item=to_item(endpoint_to_values(endpoint)))
            return endpoint

        def batch_event(endpoints: list[WebhookEndpoint]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
            jobs = []
            for n in range(BATCH):
                endpoint = endpoints[n % len(endpoints)]
                event_id, now = sortable_id("evt"), to_iso(utc_now())
                envelope = {
                    "id": event_id,
                    "event": "lead.created",
                    "timestamp": now,
                    "accountId": OWNER,
                    "data": {"leadId": f"lead_{n}", "name": "Ada Lovelace", "phone": "+14155552671"},
                }
                delivery_id = delivery_id_for(event_id, endpoint.endpoint_id)
                log_writer.create_if_new(
                    Delivery(
                        OWNER,
                        delivery_id,
                        endpoint.endpoint_id,
                        event_id,
                        "lead.created",
                        OWNER,
                        now,
                        now,
                        envelope,
                    )
                )
                jobs.append(DeliveryJob(delivery_id, OWNER, endpoint.endpoint_id, envelope))
            sqs.send_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "MessageBody": job.to_message()} for i, job in enumerate(jobs)],
            )
            messages: list[dict[str, Any]] = []
            while len(messages) < BATCH:
                messages += sqs.receive_message(
                    QueueUrl=queue_url, MaxNumberOfMessages=BATCH, AttributeNames=["All"], WaitTimeSeconds=1
                ).get("Messages", [])
            return sqs_event(messages, queue_arn), messages

        counter: RequestCounter | None = None
        scenarios: dict[str, Any] = {}
        layouts = {
            "one_endpoint": [new_endpoint(receiver_urls[0])],
            "ten_endpoints": [new_endpoint(url) for url in receiver_urls],
        }
        for name, endpoints in layouts.items():
            times: list[float] = []
            requests: Counter[str] = Counter()
            for run in range(args.warmup + args.runs):
                event, messages = batch_event(endpoints)
                if counter is not None:
                    counter.sent.clear()
                started = time.perf_counter()
                response = handler(event, _Context())
                elapsed_ms = (time.perf_counter() - started) * 1000
                if response["batchItemFailures"]:
                    raise SystemExit(f"{name}: deliveries failed: {response}")
                sqs.delete_message_batch(
                    QueueUrl=queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
                    ],
                )
                if counter is None:  # the handler has created its clients by now
                    counter = RequestCounter({s: client(s) for s in ("dynamodb", "kms", "sqs")})
                if run >= args.warmup:
                    times.append(elapsed_ms)
                    requests.update(counter.sent)
            median = statistics.median(times)
            scenarios[name] = {
                "worker_ms": summary(times),
                "deliveries_per_s": round(BATCH / (median / 1000), 1),
                "overhead_ms_beyond_receiver": round(median - RESPONSE_DELAY_S * 1000, 1),
                "aws_requests_per_delivery": {
                    s: round(n / (BATCH * args.runs), 2) for s, n in requests.items()
                },
                "target": f"median <= {TARGET_MS:.0f} ms",
                "pass": median <= TARGET_MS,
            }
            log(f"{name}: median {median:.1f} ms ({BATCH / (median / 1000):.0f} deliveries/s)")

    emit(
        {
            "benchmark": "delivery_batch",
            "setup": (
                f"batch of {BATCH} SQS records, receivers answer 200 after {RESPONSE_DELAY_S * 1000:.0f} ms; "
                "handler in process, AWS via the local emulator (moto server on loopback)"
            ),
            "runs": args.runs,
            "warmup": args.warmup,
            "cpu_count": os.cpu_count(),
            "scenarios": scenarios,
            "pass": all(s["pass"] for s in scenarios.values()),
        }
    )


if __name__ == "__main__":
    main()
