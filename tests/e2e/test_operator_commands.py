"""The operators' commands against the running local stack, as an operator runs them: Lambda's Invoke
API on the stack's port (`local.lambda_api`), and `python -m local.replay_fanout --local` bringing the
events of a stream batch the fan-out gave up on to the endpoints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from standardwebhooks.webhooks import Webhook

from local import running
from local.emulator import ClientFactory
from local.pollers import stream_failure_record
from tests.e2e.test_outbound_webhooks import NewAccount, keyed, post_lead, register
from tests.receiver import Receiver
from tests.stack_process import REPO_ROOT, StackProcess


def command(stack: StackProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        env={**os.environ, "LEADHUB_STATE_DIR": str(stack.state_dir)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_lambda_invoke_api_runs_the_stacks_functions(stack: StackProcess) -> None:
    lam = ClientFactory(stack.api).client("lambda")
    event = (REPO_ROOT / "events" / "lead_webhook" / "unknown-token.json").read_bytes()

    answer = lam.invoke(FunctionName="LeadWebhookFunction", Payload=event)
    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"].read())["statusCode"] == 401  # the function's own answer

    by_name = lam.invoke(FunctionName="leadhub-local-LeadWebhookFunction", InvocationType="DryRun")
    assert by_name["StatusCode"] == 204

    crashed = lam.invoke(FunctionName="EventFanoutFunction", Payload=b'{"Records": []}')
    assert crashed["FunctionError"] == "Unhandled"
    assert json.loads(crashed["Payload"].read())["errorType"] == "UnexpectedBatchTypeError"

    with pytest.raises(ClientError) as missing:
        lam.invoke(FunctionName="NoSuchFunction", Payload=b"{}")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def lead_insert(streams: Any, stream_arn: str, lead_id: str) -> tuple[str, dict[str, Any]]:
    """The stream's shard and the record of the lead's creation."""
    [shard] = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        for record in page["Records"]:
            image = record["dynamodb"].get("NewImage", {})
            if record["eventName"] == "INSERT" and image.get("leadId", {}).get("S") == lead_id:
                return shard["ShardId"], record
        iterator = page.get("NextShardIterator") if page["Records"] else None
    raise AssertionError(f"no INSERT record of {lead_id} in the stream")


def test_replay_brings_the_events_of_a_batch_the_fanout_gave_up_on_to_the_endpoint(
    stack: StackProcess, http: httpx.Client, new_account: NewAccount
) -> None:
    account = new_account("Replay shop")
    with Receiver() as receiver:
        endpoint = register(http, account, receiver.url, events=["lead.updated"])
        lead_id = post_lead(http, account, "+14155550177")
        # The fan-out has passed the lead's creation once the update after it arrives.
        assert http.post(
            f"/api/webhooks/leads/{account['webhookToken']}", json={"phone": "+14155550177", "tags": "vip"}
        ).json() == {"leadId": lead_id, "created": False}
        receiver.wait_for("lead.updated")
        changed = http.patch(
            f"/api/webhook-endpoints/{endpoint['endpointId']}",
            json={"events": ["lead.created", "lead.updated"]},
            headers=keyed(account),
        )
        assert changed.status_code == 200, changed.text
        assert receiver.events("lead.created") == []

        # As if the fan-out had failed the creation's batch on every retry: Lambda's failure record.
        emulator = running.emulator(stack.ready)
        streams, sqs = emulator.client("dynamodbstreams"), emulator.client("sqs")
        [stream] = streams.list_streams()["Streams"]
        shard_id, record = lead_insert(streams, stream["StreamArn"], lead_id)
        failure = stream_failure_record(
            records=[record],
            shard_id=shard_id,
            stream_arn=stream["StreamArn"],
            function_arn="arn:aws:lambda:us-east-1:123456789012:function:leadhub-local-EventFanoutFunction",
            request_id="e2e",
            invoke_count=11,
            function_error="Unhandled",
        )
        sqs.send_message(
            QueueUrl=running.queue_url(sqs, "FanoutFailureQueue"), MessageBody=json.dumps(failure)
        )

        replayed = command(stack, "local.replay_fanout", "--local")

        assert replayed.returncode == 0, replayed.stderr
        *lines, summary = [json.loads(line) for line in replayed.stdout.splitlines()]
        assert [line["outcome"] for line in lines] == ["replayed"] and summary["messages"] == 1
        [delivery] = receiver.wait_for("lead.created")
    envelope = Webhook(endpoint["secret"]).verify(delivery.body, delivery.headers)
    assert envelope["data"]["leadId"] == lead_id
    assert command(stack, "local.replay_fanout", "--local").stdout.strip() == '{"messages": 0}'
