"""The README's walkthrough — "Try it", the messaging channels on the local fakes, outbound webhooks — run
as printed: the stack started with the settings of its terminal-1 command, the receiver with its
terminal-3 command, every other block in one bash session in a checkout of the repository, in the
README's order. Each step answers what its comment says (`→ …`), and what the prose says happens between
the blocks happens (the test waits for it, as a reader does)."""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from local import running
from tests.e2e.conftest import wait_until
from tests.readme_blocks import (
    Shell,
    Terminal,
    checkout_with_state,
    environment_of,
    matches,
    steps,
    walkthrough_blocks,
)
from tests.stack_process import StackProcess, running_stack

pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("bash", "curl", "openssl", "python3")),
    reason="the README's blocks need bash, curl, openssl and python3",
)


@pytest.fixture(scope="module")
def walkthrough_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    """`make run` with the settings the README's terminal-1 command gives it (on a free port)."""
    [terminal_1] = [block for block in walkthrough_blocks() if block.terminal == "terminal 1"]
    env, command = environment_of(terminal_1.text)
    assert command == ["make", "run"]
    with running_stack(tmp_path_factory.mktemp("readme-walkthrough"), env) as stack:
        yield stack


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def deliveries(receiver: Terminal) -> list[dict[str, Any]]:
    """What local.webhook_receiver printed: per POST its event and signature check, and the body."""
    printed: list[dict[str, Any]] = []
    for line in receiver.output.seen:
        if line.startswith("  ") and printed:
            printed[-1]["body"] = json.loads(line)
        elif " webhook-id=" in line:
            event, _, rest = line.partition(" ")
            printed.append({"event": event, "signature": rest.split("signature=", 1)[1].strip()})
    return printed


class Walkthrough:
    """What the prose between the blocks says happens, as conditions to wait for."""

    def __init__(self, stack: StackProcess, http: httpx.Client) -> None:
        self.stack, self.http = stack, http
        self.fakes = stack.ready["fakeProviders"]
        self.receiver: Terminal | None = None

    def sent(self, channel: str) -> list[dict[str, Any]]:
        fake = self.fakes[channel]["simulate"].rsplit("/_simulate", 1)[0]
        return self.http.get(f"{fake}/_sent").json()["sent"]

    def replies_sent_on_every_channel(self) -> bool:
        return all(self.sent(channel) for channel in ("whatsapp", "telegram", "email"))

    def reply_in_dead_letter_queue(self) -> bool:
        sqs = running.emulator(self.stack.ready).client("sqs")
        attributes = sqs.get_queue_attributes(
            QueueUrl=running.queue_url(sqs, "ConversationDLQ"), AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) > 0

    def endpoint_deliveries(self, status: str) -> list[dict[str, Any]]:
        keyed = {"X-API-Key": self.stack.demo["apiKey"]}
        [endpoint] = self.http.get("/api/webhook-endpoints", headers=keyed).json()["items"]
        path = f"/api/webhook-endpoints/{endpoint['endpointId']}/deliveries?status={status}"
        return self.http.get(path, headers=keyed).json()["items"]

    def received(self, name: str) -> list[dict[str, Any]]:
        assert self.receiver is not None
        return [d for d in deliveries(self.receiver) if d.get("body", {}).get("data", {}).get("name") == name]

    def first_lead_delivered(self) -> bool:
        return bool(self.received("Alan Turing")) and bool(self.endpoint_deliveries("delivered"))

    def failing_delivery_failed(self) -> bool:
        return bool(self.endpoint_deliveries("failed"))

    def waits(self) -> dict[str, Callable[[], bool]]:
        """Before the step whose comment starts so, the README says this has happened."""
        return {
            "The conversations, the latest activity first": self.replies_sent_on_every_channel,
            "Alan's conversation, the one with the latest activity": self.reply_in_dead_letter_queue,
            "The delivery log: delivered at the first attempt": self.first_lead_delivered,
            "Failed after 3 attempts": self.failing_delivery_failed,
        }


# Its own stack's start, then about fifty steps and three waits of several seconds each.
@pytest.mark.timeout(300)
def test_the_readme_walkthrough_runs_as_printed(walkthrough_stack: StackProcess, tmp_path: Path) -> None:
    stack = walkthrough_stack
    (tmp_path / "checkout").mkdir()
    checkout = checkout_with_state(tmp_path / "checkout", stack.state_dir)
    # RECEIVER_PORT as the README offers it, for both terminals; LEADHUB_STATE_DIR is where local.redrive
    # finds this stack (in a real checkout, its .leadhub).
    env = {**os.environ, "RECEIVER_PORT": str(free_port()), "LEADHUB_STATE_DIR": str(stack.state_dir)}
    shell = Shell(checkout, env)
    with httpx.Client(base_url=stack.api, timeout=30) as http:
        walkthrough = Walkthrough(stack, http)
        waits, waited = walkthrough.waits(), set()
        try:
            for block in walkthrough_blocks():
                if block.terminal == "terminal 1":
                    continue  # the stack is running
                if block.terminal == "terminal 3":
                    walkthrough.receiver = Terminal(block.text, checkout, env)
                    walkthrough.receiver.wait_for("listening on")
                    continue
                assert block.terminal is None, block.terminal
                for step in steps(block.text):
                    for prefix, happened in waits.items():
                        if step.comment.startswith(prefix):
                            assert wait_until(happened, timeout=30), f"waited in vain before: {prefix}"
                            waited.add(prefix)
                    output, status = shell.run(step.commands)
                    assert (status, shell.errors()) == (0, ""), f"{step.comment}\n{step.commands}\n{output}"
                    if step.expected is not None:
                        assert matches(step.expected, json.loads(output)), f"{step.comment}\n{output}"
            assert waited == set(waits)

            # "The reply goes out then": the redriven reply reached the fake Bot API.
            assert wait_until(lambda: len(walkthrough.sent("telegram")) == 2, timeout=30)
            # The recovered delivery arrives: three refused attempts, then a fourth that is delivered.
            assert wait_until(lambda: len(walkthrough.received("Grace Murray")) == 4, timeout=30)
            assert wait_until(lambda: not walkthrough.endpoint_deliveries("failed"), timeout=30)
        finally:
            shell.close()
            if walkthrough.receiver is not None:
                walkthrough.receiver.close()

    printed = deliveries(walkthrough.receiver)
    assert {d["signature"] for d in printed} == {"valid (standardwebhooks)"}
    assert [d["event"] for d in printed if d["event"] != "webhook.verify"] == ["lead.created"] * 6
