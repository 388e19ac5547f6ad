"""The runner's side of the AWS emulator: start/stop the moto subprocess and make boto3 clients."""

from __future__ import annotations

import contextlib
import json
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from local import settings
from local.workers import PASSTHROUGH_ENV, LogSink

EMULATOR_MAIN = Path(__file__).resolve().with_name("emulator_main.py")
START_TIMEOUT_S = 30.0


class EmulatorError(RuntimeError):
    pass


class ClientFactory:
    """boto3 clients for the emulator. Clients are thread-safe; creating them is not, hence the lock."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self._lock = threading.Lock()
        self._session = boto3.session.Session(
            aws_access_key_id=settings.FAKE_ACCESS_KEY,
            aws_secret_access_key=settings.FAKE_SECRET_KEY,
            region_name=settings.REGION,
        )
        self._shared: dict[str, Any] = {}

    def client(self, service: str, *, read_timeout: float = 30, shared: bool = True) -> Any:
        with self._lock:
            if shared and service in self._shared:
                return self._shared[service]
            client = self._session.client(
                service,  # type: ignore[call-overload]
                endpoint_url=self.endpoint_url,
                config=Config(
                    retries={"max_attempts": 2, "mode": "standard"},
                    connect_timeout=2,
                    read_timeout=read_timeout,
                    max_pool_connections=32,
                ),
            )
            if shared:
                self._shared[service] = client
            return client


class Emulator:
    """A moto server subprocess on loopback that exits when this process goes away."""

    def __init__(self, port: int = 0, sink: LogSink | None = None) -> None:
        self.requested_port = port
        self.sink = sink or LogSink()
        self.process: subprocess.Popen[bytes] | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise EmulatorError("the emulator has not started")
        return f"http://{settings.LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def spawn(self) -> None:
        """Start the subprocess without waiting for it (it imports moto meanwhile)."""
        env = {name: value for name, value in __import__("os").environ.items() if name in PASSTHROUGH_ENV}
        env.update(settings.fake_credentials_env())
        env["PYTHONUNBUFFERED"] = "1"
        self.process = subprocess.Popen(
            [sys.executable, "-P", str(EMULATOR_MAIN), "--port", str(self.requested_port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert self.process.stderr is not None
        self.sink.forward("emulator", self.process.stderr)

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> str:
        if self.process is None:
            self.spawn()
        assert self.process is not None and self.process.stdout is not None
        deadline = time.monotonic() + timeout
        stdout = self.process.stdout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise EmulatorError(f"the emulator did not start within {timeout:.0f}s")
            readable, _, _ = select.select([stdout], [], [], min(left, 0.5))
            if readable:
                line = stdout.readline()
                if not line:
                    raise EmulatorError(
                        f"the emulator exited during start-up (exit code {self.process.wait()}); "
                        f"is port {self.requested_port} free?"
                    )
                self.port = int(json.loads(line)["port"])
                stdout.close()
                return self.url
            if self.process.poll() is not None:
                raise EmulatorError(
                    f"the emulator exited during start-up (exit code {self.process.returncode})"
                )

    def start(self, timeout: float = START_TIMEOUT_S) -> str:
        self.spawn()
        return self.wait_ready(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        process = self.process
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()  # EOF: the emulator exits by itself
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
