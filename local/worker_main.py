"""Entry point of a function worker: one warm "execution environment" of one function.

Started by `local.workers` as ``python -P local/worker_main.py --fd N --handler app.lambda_handler
--path <CodeUri> --path <layer ContentUri> ...`` with the function's environment. It imports the
handler at start-up (so it is warm), announces itself with ``{"ready": true, "pid": ...,
"initError": null | {...}}``, then serves invocations over the inherited socket ``N``, one at a
time, as length-prefixed JSON frames (4-byte big-endian length + UTF-8 JSON):

    request: {"id": "<request id>", "event": <event>, "deadline_ms": <epoch ms>}
    reply:   {"id": ..., "ok": true, "result": <handler's return value>}
             {"id": ..., "ok": false, "error": {"errorType", "errorMessage", "stackTrace"}}

It ignores SIGINT (the runner decides when it stops) and exits when the socket reaches EOF, or when
its parent dies. Timeouts are enforced by the runner, which SIGKILLs a worker that overruns.
Stdlib only: this file is not imported as part of the ``local`` package, so the function's code
sees a clean ``sys.path``.
"""

from __future__ import annotations

import argparse
import decimal
import importlib
import json
import logging
import os
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

HEADER = struct.Struct(">I")
Handler = Callable[[Any, Any], Any]


def recv_exact(sock: socket.socket, size: int) -> bytes | None:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(sock: socket.socket) -> Any:
    header = recv_exact(sock, HEADER.size)
    if header is None:
        return None
    body = recv_exact(sock, HEADER.unpack(header)[0])
    return None if body is None else json.loads(body)


def write_raw_frame(sock: socket.socket, body: bytes) -> None:
    sock.sendall(HEADER.pack(len(body)) + body)


class LambdaContext:
    """The parts of the Lambda Python runtime's context object that handlers use."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        env = os.environ
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        region = env.get("AWS_REGION", "us-east-1")
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{self.function_name}"
        self.memory_limit_in_mb = int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = request_id
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))

    def __repr__(self) -> str:
        return (
            f"LambdaContext(function_name={self.function_name!r}, aws_request_id={self.aws_request_id!r}, "
            f"remaining_ms={self.get_remaining_time_in_millis()})"
        )


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


_REQUEST_ID = _RequestIdFilter()


def _configure_logging() -> None:
    """A root handler formatted like the Lambda Python runtime's."""
    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
        "%Y-%m-%dT%H:%M:%S",
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(_REQUEST_ID)
    logging.getLogger().addHandler(handler)


def _error(exc: BaseException, error_type: str | None = None, message: str | None = None) -> dict[str, Any]:
    return {
        "errorType": error_type or type(exc).__name__,
        "errorMessage": message if message is not None else str(exc),
        "stackTrace": traceback.format_list(traceback.extract_tb(exc.__traceback__)),
    }


def _log_error(error: dict[str, Any], exc: BaseException) -> None:
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    sys.stderr.write(f"[ERROR] {error['errorType']}: {error['errorMessage']}\n{''.join(lines)}")
    sys.stderr.flush()


def load_handler(spec: str) -> tuple[Handler | None, dict[str, Any] | None]:
    module_name, _, attr = spec.rpartition(".")
    module_name = module_name.replace("/", ".")
    if not module_name or not attr:
        return None, {"errorType": "Runtime.MalformedHandlerName", "errorMessage": f"Bad handler '{spec}'"}
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        error = _error(exc, "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}")
        _log_error(error, exc)
        return None, error
    except Exception as exc:
        error = _error(exc)
        _log_error(error, exc)
        return None, error
    handler = getattr(module, attr, None)
    if not callable(handler):
        message = f"Handler '{attr}' missing on module '{module_name}'"
        return None, {"errorType": "Runtime.HandlerNotFound", "errorMessage": message, "stackTrace": []}
    return handler, None


def _json_default(value: Any) -> Any:
    # The Lambda runtime serialises Decimal (what boto3's DynamoDB deserialiser returns) too.
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def invoke(handler: Handler | None, init_error: dict[str, Any] | None, request: dict[str, Any]) -> bytes:
    request_id = str(request.get("id") or uuid.uuid4())
    envelope = {"id": request_id}
    if handler is None:
        return json.dumps({**envelope, "ok": False, "error": init_error}).encode()
    _REQUEST_ID.request_id = request_id
    context = LambdaContext(request_id, int(request.get("deadline_ms") or time.time() * 1000 + 3000))
    try:
        result = handler(request.get("event"), context)
    except Exception as exc:
        error = _error(exc)
        _log_error(error, exc)
        return json.dumps({**envelope, "ok": False, "error": error}).encode()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    try:
        payload = json.dumps(result, default=_json_default)
    except (TypeError, ValueError) as exc:
        error = _error(exc, "Runtime.MarshalError", f"Unable to marshal response: {exc}")
        error["stackTrace"] = []
        _log_error(error, exc)
        return json.dumps({**envelope, "ok": False, "error": error}).encode()
    head = json.dumps({**envelope, "ok": True})
    return f'{head[:-1]}, "result": {payload}}}'.encode()


def _exit_when_orphaned(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Leadhub local function worker")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--handler", required=True)
    parser.add_argument("--path", action="append", default=[])
    args = parser.parse_args(argv)

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != here]
    sys.path[0:0] = args.path
    os.environ.setdefault(
        "AWS_LAMBDA_LOG_STREAM_NAME",
        f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}",
    )
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True).start()
    _configure_logging()

    sock = socket.socket(fileno=args.fd)
    handler, init_error = load_handler(args.handler)
    write_raw_frame(sock, json.dumps({"ready": True, "pid": os.getpid(), "initError": init_error}).encode())
    try:
        while True:
            request = read_frame(sock)
            if request is None:
                break
            write_raw_frame(sock, invoke(handler, init_error, request))
    except (ConnectionError, OSError):
        pass
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
