"""The local stack started by `make run`, as the commands that act on it see it (`local.redrive`,
`local.replay_fanout --local`): its ready document, clients of its emulator and its queues."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from local import settings
from local.cfn import Template
from local.emulator import ClientFactory
from local.provision import queue_name


class NotRunning(Exception):
    pass


class UnknownQueue(Exception):
    pass


def ready_document() -> dict[str, Any]:
    """The ready document of the running stack (`LEADHUB_STATE_DIR`, default `.leadhub`)."""
    state = Path(os.environ.get("LEADHUB_STATE_DIR") or settings.DEFAULT_STATE_DIR) / "local.json"
    try:
        ready = json.loads(state.read_text())
    except (OSError, ValueError):
        ready = None
    if not isinstance(ready, dict) or not {"emulator", "api"} <= ready.keys():
        raise NotRunning(f"no running local stack: {state} is missing (start one with `make run`)")
    if not _alive(ready.get("pid")):
        raise NotRunning(f"the local stack of {state} has stopped (start one with `make run`)")
    return ready


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int):
        return True  # not recorded: let the connection tell
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def emulator(ready: dict[str, Any]) -> ClientFactory:
    return ClientFactory(ready["emulator"])


def queue_url(sqs: Any, logical_id: str) -> str:
    """The emulator's URL of the template's queue `logical_id`, named as provisioning names it."""
    resource = Template.from_file(settings.DEFAULT_TEMPLATE).resources.get(logical_id)
    if resource is None or resource.get("Type") != "AWS::SQS::Queue":
        raise UnknownQueue(f"no queue {logical_id} in the template")
    name = queue_name(logical_id, resource.get("Properties") or {})
    return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
