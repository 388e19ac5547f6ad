"""AWS clients: created on first use and cached per execution environment, so warm invocations reuse
connections and the emulator (AWS_ENDPOINT_URL) or moto can intercept them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from leadhub.errors import StorageUnavailable

_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
_clients: dict[str, Any] = {}
# Creating clients from several threads at once is not safe (boto3's default session is shared), and the
# delivery worker's threads create theirs on first use: creation is serialised, once per service.
_creating = threading.Lock()


def client(service: str) -> Any:
    found = _clients.get(service)
    if found is None:
        with _creating:
            found = _clients.get(service)
            if found is None:
                found = _clients[service] = boto3.client(service, config=_CONFIG)
    return found


client.cache_clear = _clients.clear  # type: ignore[attr-defined]  # as with functools.cache: start afresh


ClientFactory = Callable[[str], Any]


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def storage_errors(what: str, expected: frozenset[str] = frozenset()) -> Iterator[None]:
    """Turn an AWS failure into StorageUnavailable (503: the sender retries), except ClientErrors whose
    code the caller handles itself (`expected`), which pass through unchanged."""
    try:
        yield
    except ClientError as exc:
        if error_code(exc) in expected:
            raise
        raise StorageUnavailable(f"Storage is unavailable ({what}); please retry") from exc
    except BotoCoreError as exc:
        raise StorageUnavailable(f"Storage is unavailable ({what}); please retry") from exc


def first_cancellation_reason(exc: ClientError) -> dict[str, Any]:
    """Why a TransactWriteItems was cancelled: the reason of the first item that had one."""
    reasons = exc.response.get("CancellationReasons") or []
    return next((r for r in reasons if r.get("Code") not in (None, "None")), {})
