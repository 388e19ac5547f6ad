"""Warm worker processes per function, and the pool that invokes through them.

A `Worker` is one subprocess running `local/worker_main.py` for one function, connected by a
``socket.socketpair()``; a `FunctionPool` keeps one warm worker per function and grows to
``max_workers`` when all are busy (a request takes whichever worker frees up first). The pool
enforces the function's Timeout: a worker that overruns is SIGKILLed and replaced, and a worker
that dies is replaced too. Worker stdout/stderr go, line by line and prefixed with the function's
logical id, to the log sink (the runner's stderr).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from local import settings
from local.sam import FunctionSpec

WORKER_MAIN = Path(__file__).resolve().with_name("worker_main.py")
HEADER_SIZE = 4
INIT_TIMEOUT_S = 60.0
# Variables a Python process needs to run at all; nothing else leaks from the runner.
PASSTHROUGH_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "SYSTEMROOT")


class LogSink:
    """Writes whole lines, prefixed, to a text stream shared by many threads."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    @property
    def stream(self) -> IO[str]:
        return self._stream if self._stream is not None else sys.stderr

    def write(self, prefix: str, text: str) -> None:
        if not text.endswith("\n"):
            text += "\n"
        with self._lock:
            try:
                self.stream.write(f"[{prefix}] {text}")
                self.stream.flush()
            except (ValueError, OSError):  # closed at interpreter exit
                pass

    def forward_raw(self, pipe: IO[bytes]) -> threading.Thread:
        """Copy lines that are already prefixed (another runner process's sink) as they are."""

        def pump() -> None:
            with pipe:
                for raw in iter(pipe.readline, b""):
                    with self._lock:
                        try:
                            self.stream.write(raw.decode("utf-8", "replace"))
                            self.stream.flush()
                        except (ValueError, OSError):
                            pass

        thread = threading.Thread(target=pump, name="log-forward", daemon=True)
        thread.start()
        return thread

    def forward(self, prefix: str, pipe: IO[bytes]) -> threading.Thread:
        def pump() -> None:
            with pipe:
                for raw in iter(pipe.readline, b""):
                    self.write(prefix, raw.decode("utf-8", "replace"))

        thread = threading.Thread(target=pump, name=f"log-{prefix}", daemon=True)
        thread.start()
        return thread


@dataclass
class InvokeResult:
    request_id: str
    ok: bool
    result: Any = None
    error: dict[str, Any] | None = None
    timed_out: bool = False
    duration_ms: float = 0.0

    @property
    def error_message(self) -> str:
        return str((self.error or {}).get("errorMessage", ""))


class WorkerError(Exception):
    pass


class WorkerTimeout(WorkerError):
    pass


class WorkerDied(WorkerError):
    pass


def worker_environment(
    spec: FunctionSpec, *, emulator_url: str, api_url: str, base_env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The function's process environment: template variables plus what Lambda and the local
    stack define (the latter win)."""
    base = os.environ if base_env is None else base_env
    env = {name: base[name] for name in PASSTHROUGH_ENV if name in base}
    env.update(spec.environment)
    env.update(settings.fake_credentials_env())
    env.update(
        {
            "AWS_ENDPOINT_URL": emulator_url,
            "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group_name,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime or 'python3'}",
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "_HANDLER": spec.handler,
            "PUBLIC_BASE_URL": api_url,
            # Plain http on loopback: cookies marked Secure would not come back.
            "SESSION_COOKIE_SECURE": "false",
            "LEADHUB_LOCAL": "1",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "TZ": "UTC",
        }
    )
    return env


def _recv_exact(sock: socket.socket, size: int, deadline: float | None) -> bytes:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WorkerTimeout
            sock.settimeout(left)
        try:
            chunk = sock.recv(min(remaining, 1 << 20))
        except TimeoutError:
            raise WorkerTimeout from None
        except OSError as exc:
            raise WorkerDied(str(exc)) from None
        if not chunk:
            raise WorkerDied("worker closed its socket")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


class Worker:
    """One worker subprocess. Not thread-safe: the pool hands it to one caller at a time."""

    def __init__(self, spec: FunctionSpec, env: Mapping[str, str], sink: LogSink) -> None:
        self.spec = spec
        parent, child = socket.socketpair()
        command = [
            sys.executable,
            "-P",
            str(WORKER_MAIN),
            "--fd",
            str(child.fileno()),
            "--handler",
            spec.handler,
        ]
        for entry in spec.sys_path:
            command += ["--path", str(entry)]
        try:
            self.process = subprocess.Popen(
                command,
                pass_fds=(child.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=dict(env),
                cwd=spec.code_dir,
            )
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        self.sock = parent
        self.pid = self.process.pid
        self.init_error: dict[str, Any] | None = None
        assert self.process.stdout is not None
        sink.forward(spec.logical_id, self.process.stdout)

    def wait_ready(self, timeout: float = INIT_TIMEOUT_S) -> None:
        hello = self._read(time.monotonic() + timeout)
        if not hello.get("ready"):
            raise WorkerDied(f"unexpected greeting {hello!r}")
        self.init_error = hello.get("initError")

    def _read(self, deadline: float | None) -> dict[str, Any]:
        size = int.from_bytes(_recv_exact(self.sock, HEADER_SIZE, deadline), "big")
        reply: dict[str, Any] = json.loads(_recv_exact(self.sock, size, deadline))
        return reply

    def invoke(self, request_id: str, event: Any, timeout_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        body = json.dumps(
            {"id": request_id, "event": event, "deadline_ms": int(time.time() * 1000 + timeout_s * 1000)}
        )
        payload = body.encode()
        try:
            self.sock.settimeout(None)
            self.sock.sendall(len(payload).to_bytes(HEADER_SIZE, "big") + payload)
        except OSError as exc:
            raise WorkerDied(str(exc)) from None
        reply = self._read(deadline)
        if reply.get("id") != request_id:
            raise WorkerDied(f"reply for {reply.get('id')!r} while waiting for {request_id!r}")
        return reply

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        """Close the socket (the worker exits on EOF) without waiting."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()

    def kill(self) -> None:
        self.close()
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def reap(self, timeout: float) -> None:
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class _PoolState:
    idle: list[Worker] = field(default_factory=list)
    busy: set[Worker] = field(default_factory=set)
    spawning: int = 0
    spawn_error: str | None = None
    closed: bool = False


class FunctionPool:
    """Invokes one function through warm workers (1 pre-spawned, up to ``max_workers``)."""

    def __init__(self, spec: FunctionSpec, env: Mapping[str, str], sink: LogSink, max_workers: int) -> None:
        self.spec = spec
        self.env = dict(env)
        self.sink = sink
        self.max_workers = max(1, max_workers)
        self._state = _PoolState()
        self._cond = threading.Condition()
        self._all: set[Worker] = set()
        self._spawners: set[threading.Thread] = set()

    def start(self, wait: bool = True, timeout: float = INIT_TIMEOUT_S) -> None:
        """Spawn the first worker; with *wait*, block until it is warm."""
        with self._cond:
            self._spawn_locked()
        if wait:
            self.wait_warm(timeout)

    def wait_warm(self, timeout: float = INIT_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._state.idle and not self._state.busy:
                if self._state.spawn_error and not self._state.spawning:
                    raise WorkerError(
                        f"{self.spec.logical_id}: worker failed to start: {self._state.spawn_error}"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WorkerError(f"{self.spec.logical_id}: no warm worker after {timeout:.0f}s")
                self._cond.wait(left)

    def _spawn_locked(self) -> None:
        self._state.spawning += 1
        thread = threading.Thread(target=self._spawn, name=f"spawn-{self.spec.logical_id}", daemon=True)
        self._spawners.add(thread)
        thread.start()

    def _spawn(self) -> None:
        worker: Worker | None = None
        error: str | None = None
        try:
            worker = Worker(self.spec, self.env, self.sink)
            with self._cond:
                self._all.add(worker)
            worker.wait_ready()
        except (WorkerError, OSError, ValueError) as exc:
            error = str(exc) or type(exc).__name__
        with self._cond:
            self._state.spawning -= 1
            self._spawners.discard(threading.current_thread())
            if worker is not None and (error is not None or self._state.closed):
                self._all.discard(worker)
            elif worker is not None:
                self._state.idle.append(worker)
                self._state.spawn_error = None
            if error is not None:
                self._state.spawn_error = error
            self._cond.notify_all()
        if worker is not None and (error is not None or self._state.closed):
            worker.kill()
        if error is not None:
            self.sink.write(self.spec.logical_id, f"worker failed to start: {error}")

    def _acquire(self) -> Worker:
        retried = False
        with self._cond:
            while True:
                state = self._state
                if state.closed:
                    raise WorkerError("the local stack is shutting down")
                if state.idle:
                    worker = state.idle.pop()
                    state.busy.add(worker)
                    return worker
                if len(state.busy) + state.spawning < self.max_workers:
                    if state.spawn_error is None or not retried:
                        # After a failed start, one more attempt per request gets past a transient
                        # failure; a persistent one surfaces as an error instead of a spawn loop.
                        retried = retried or state.spawn_error is not None
                        self._spawn_locked()
                    elif not state.busy and not state.spawning:
                        raise WorkerError(f"worker failed to start: {state.spawn_error}")
                self._cond.wait()

    def _release(self, worker: Worker, healthy: bool) -> None:
        with self._cond:
            self._state.busy.discard(worker)
            if healthy and not self._state.closed:
                self._state.idle.append(worker)
            else:
                self._all.discard(worker)
                if not self._state.closed:
                    self._spawn_locked()  # keep the pool warm
            self._cond.notify_all()
        if not healthy:
            worker.kill()

    def invoke(self, event: Any, request_id: str | None = None) -> InvokeResult:
        request_id = request_id or str(uuid.uuid4())
        started = time.monotonic()
        try:
            worker = self._acquire()
        except WorkerError as exc:
            return InvokeResult(request_id, False, error=_runtime_error("Runtime.Unavailable", str(exc)))
        healthy = False
        try:
            if worker.init_error is not None:
                # Like Lambda, an environment whose init failed is recycled after reporting it.
                return InvokeResult(request_id, False, error=worker.init_error)
            reply = worker.invoke(request_id, event, self.spec.timeout_s)
            healthy = True
            elapsed = (time.monotonic() - started) * 1000
            if reply.get("ok"):
                return InvokeResult(request_id, True, result=reply.get("result"), duration_ms=elapsed)
            return InvokeResult(request_id, False, error=reply.get("error"), duration_ms=elapsed)
        except WorkerTimeout:
            worker.kill()
            message = f"Task timed out after {self.spec.timeout_s:.2f} seconds"
            self.sink.write(self.spec.logical_id, f"{request_id} {message}")
            return InvokeResult(
                request_id,
                False,
                error=_runtime_error("Sandbox.Timedout", message),
                timed_out=True,
                duration_ms=(time.monotonic() - started) * 1000,
            )
        except WorkerDied as exc:
            closing = self._state.closed
            worker.kill()
            code = worker.process.returncode
            message = (
                "the local stack is shutting down"
                if closing
                else f"Runtime exited with error: exit status {code}"
            )
            if not closing:
                self.sink.write(self.spec.logical_id, f"{request_id} worker died ({exc}); respawning")
            return InvokeResult(request_id, False, error=_runtime_error("Runtime.ExitError", message))
        finally:
            self._release(worker, healthy and worker.init_error is None)

    def close(self, timeout: float = 3.0) -> None:
        with self._cond:
            self._state.closed = True
            workers = list(self._all)
            spawners = list(self._spawners)
            self._state.idle.clear()
            self._cond.notify_all()
        for worker in workers:
            worker.close()
        deadline = time.monotonic() + timeout
        for worker in workers:
            worker.reap(max(0.0, deadline - time.monotonic()))
        for thread in spawners:
            thread.join(max(0.1, deadline - time.monotonic()))
        with self._cond:
            leftovers = list(self._all - set(workers))
        for worker in leftovers:
            worker.kill()


def _runtime_error(error_type: str, message: str) -> dict[str, Any]:
    return {"errorType": error_type, "errorMessage": message, "stackTrace": []}


def start_pools(
    specs: Mapping[str, FunctionSpec],
    envs: Mapping[str, Mapping[str, str]],
    sink: LogSink,
    max_workers: int,
    timeout: float = INIT_TIMEOUT_S,
) -> dict[str, FunctionPool]:
    """Start one warm worker per function, all in parallel, and wait for every one."""
    pools = {lid: FunctionPool(spec, envs[lid], sink, max_workers) for lid, spec in specs.items()}
    try:
        for pool in pools.values():
            pool.start(wait=False)
        for pool in pools.values():
            pool.wait_warm(timeout)
    except BaseException:
        for pool in pools.values():
            pool.close()
        raise
    return pools
