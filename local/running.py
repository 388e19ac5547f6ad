"""The local stack started by `make run`, as the commands that act on it see it (`local.redrive`,
`local.replay_fanout --local`): its ready document and AWS clients pointed at it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import boto3

from local import settings


class NotRunning(Exception):
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


def client(service: str, endpoint_url: str) -> Any:
    """A client of `service` at the local stack (its emulator, or its HTTP port for Lambda)."""
    credentials = settings.fake_credentials_env()
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=settings.REGION,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
    )
