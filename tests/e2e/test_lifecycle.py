"""Starting and stopping the stack as a user does: Ctrl-C leaves nothing behind."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from tests.e2e.conftest import wait_until
from tests.stack_process import StackProcess


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def test_ctrl_c_stops_every_process_it_started(tmp_path: Path) -> None:
    stack = StackProcess(tmp_path)
    stack.start()
    try:
        assert httpx.get(f"{stack.api}/api/openapi.json").status_code == 200
        children = stack.descendants()
        assert len(children) >= 3  # the emulator and one warm worker per function
        assert stack.interrupt() == 0
        assert wait_until(lambda: not any(alive(pid) for pid in children), timeout=10)
    finally:
        stack.stop()
