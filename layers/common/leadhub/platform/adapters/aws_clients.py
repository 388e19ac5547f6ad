"""AWS clients, created on first use and cached per execution environment: warm invocations reuse
connections, and the emulator (AWS_ENDPOINT_URL) or moto can intercept them.

botocore's, not boto3's: boto3 adds only its import (~30 ms of every cold start). One session serves
every client and reads only the bundle in `botocore_data/` (the operations we call; tools/botocore_data.py
makes it): botocore's own data path listed ~440 service directories for the first client (~50-100 ms)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.loaders import Loader

from leadhub.platform.errors import StorageUnavailable, UnstorableInput

BOTOCORE_DATA = str(Path(__file__).with_name("botocore_data"))

_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
_clients: dict[str, Any] = {}
_session: botocore.session.Session | None = None  # created with the first client
# Creating clients from several threads at once is not safe (the session is shared), and the delivery
# worker's threads create theirs on first use: creation is serialised, once per service.
_creating = threading.Lock()


def client(service: str) -> Any:
    found = _clients.get(service)
    if found is None:
        with _creating:
            found = _clients.get(service)
            if found is None:
                found = _clients[service] = _new_client(service, _CONFIG)
    return found


def new_client(service: str, config: Config, endpoint_url: str | None = None) -> Any:
    """A client of its own (not cached here) for a caller with its own settings, from the shared session."""
    with _creating:
        return _new_client(service, config, endpoint_url)


def _new_client(service: str, config: Config, endpoint_url: str | None = None) -> Any:
    global _session
    if _session is None:
        _session = botocore.session.get_session()
        _session.register_component(
            "data_loader", Loader(extra_search_paths=[BOTOCORE_DATA], include_default_search_paths=False)
        )
    return _session.create_client(service, config=config, endpoint_url=endpoint_url)


def clear_clients() -> None:
    """Forget the cached clients (as a new execution environment would not have them)."""
    _clients.clear()


ClientFactory = Callable[[str], Any]


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


# DynamoDB's refusals of what a request carried (an item over 400 KB, a key over 2 KB, nesting deeper
# than 32 levels, a number out of range, a malformed value): retrying cannot help.
_INPUT_ERROR_CODES = frozenset({"ValidationException", "SerializationException"})
_INPUT_CANCELLATION_CODES = frozenset({"ValidationError"})


def storage_failure(exc: ClientError | BotoCoreError, what: str) -> UnstorableInput | StorageUnavailable:
    """What a failed AWS request means for the caller, decided here for every adapter: UnstorableInput
    when the request carried a value the storage refuses (400, or acknowledged and ignored by a provider
    webhook); StorageUnavailable (503: the sender retries) for everything else: throttling, capacity,
    AWS's own errors, the network."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        reasons = {str(r.get("Code")) for r in exc.response.get("CancellationReasons") or ()}
        refused = {code} & _INPUT_ERROR_CODES or reasons & _INPUT_CANCELLATION_CODES
        if refused:  # DynamoDB's message is left out: it may quote the value
            return UnstorableInput(f"The data cannot be stored ({what}): refused as {min(refused)}")
    return unavailable(what)


def unavailable(what: str) -> StorageUnavailable:
    return StorageUnavailable(f"Storage is unavailable ({what}); please retry")


@contextmanager
def storage_errors(what: str, expected: frozenset[str] = frozenset()) -> Iterator[None]:
    """Turn an AWS failure into the error storage_failure names, except ClientErrors whose code the
    caller handles itself (`expected`), which pass through unchanged."""
    try:
        yield
    except ClientError as exc:
        if error_code(exc) in expected:
            raise
        raise storage_failure(exc, what) from exc
    except BotoCoreError as exc:
        raise storage_failure(exc, what) from exc


def first_cancellation_reason(exc: ClientError) -> Mapping[str, Any]:
    """Why a TransactWriteItems was cancelled: the reason of the first item that had one."""
    reasons = exc.response.get("CancellationReasons") or []
    return next((r for r in reasons if r.get("Code") not in (None, "None")), {})
