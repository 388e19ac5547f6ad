"""The README's quick start: the ready line and the state file describe a working stack. (The README's
walkthrough, run as printed, is tests/e2e/test_readme_walkthrough.py.)"""

from __future__ import annotations

import json
import re

from tests.e2e.conftest import state_file
from tests.stack_process import StackProcess


def test_ready_line_and_state_file_describe_a_working_stack(stack: StackProcess) -> None:
    ready = stack.ready
    assert ready["ready"] is True
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", ready["api"])
    assert ready["demoAccount"]["webhookToken"].startswith("lht_")
    assert ready["demoAccount"]["apiKey"].startswith("lhk_")
    assert ready["demoAccount"]["accountId"].startswith("acc_")
    assert json.loads(state_file(stack).read_text()) == ready
    assert state_file(stack).stat().st_mode & 0o077 == 0  # holds the admin key: owner only
