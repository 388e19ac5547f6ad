"""Run the local stack the way a user does (`python -m local`) and read its ready line.

Shared by the e2e tests and the benchmarks: the stack is a real subprocess on free ports, with its
own state directory, stopped with SIGINT like a Ctrl-C.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

REPO_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 90.0


class StackProcess:
    def __init__(self, state_dir: Path, env: Mapping[str, str] | None = None, log: IO[bytes] | None = None):
        self.state_dir = state_dir
        self.extra_env = dict(env or {})
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.ready: dict[str, Any] = {}

    @property
    def api(self) -> str:
        return str(self.ready["api"])

    @property
    def demo(self) -> dict[str, str]:
        return dict(self.ready["demoAccount"])

    def start(self, timeout: float = START_TIMEOUT_S) -> dict[str, Any]:
        env = {**os.environ, "PORT": "0", "LEADHUB_STATE_DIR": str(self.state_dir), **self.extra_env}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local"],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=self.log if self.log is not None else subprocess.DEVNULL,
            start_new_session=True,  # its own process group: a Ctrl-C here reaches only the stack
        )
        assert self.process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if selector.select(timeout=0.5):
                line = self.process.stdout.readline()
                if not line:
                    break
                self.ready = json.loads(line)
                return self.ready
            if self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"the local stack did not print its ready line (exit code {self.process.poll()})")

    def descendants(self) -> set[int]:
        """Pids of every process below the stack (workers, emulator), from /proc."""
        assert self.process is not None
        children: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        found: set[int] = set()
        pending = [self.process.pid]
        while pending:
            for child in children.get(pending.pop(), []):
                found.add(child)
                pending.append(child)
        return found

    def interrupt(self, timeout: float = 20.0) -> int:
        """Ctrl-C: SIGINT to the whole process group, as a terminal sends it."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self.interrupt()
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@contextmanager
def running_stack(state_dir: Path, env: Mapping[str, str]) -> Iterator[StackProcess]:
    """`make run` with `env`, its output in state_dir/stack.log, stopped (Ctrl-C) on exit."""
    with (state_dir / "stack.log").open("wb") as log:
        process = StackProcess(state_dir, env=env, log=log)
        process.start()
        try:
            yield process
        finally:
            process.stop()
