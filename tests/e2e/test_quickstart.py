"""The README, followed literally: the ready line, the state file and the "Try it" curls."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import state_file
from tests.stack_process import REPO_ROOT, StackProcess

SEPARATOR = "--8<--"


def readme_try_it_block() -> str:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## Try it", 1)[1]
    return re.search(r"```bash\n(.*?)```", section, re.S).group(1)


def readme_commands(block: str) -> tuple[list[str], list[str]]:
    """The block's variable assignments and its curl commands (continuation lines joined)."""
    joined = block.replace("\\\n", " ")
    lines = [line.strip() for line in joined.splitlines() if line.strip() and not line.startswith("#")]
    assignments = [line for line in lines if re.match(r"^[A-Z]+=", line)]
    curls = [line for line in lines if line.startswith("curl ")]
    return assignments, curls


def test_ready_line_and_state_file_describe_a_working_stack(stack: StackProcess) -> None:
    ready = stack.ready
    assert ready["ready"] is True
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", ready["api"])
    assert ready["demoAccount"]["webhookToken"].startswith("lht_")
    assert ready["demoAccount"]["apiKey"].startswith("lhk_")
    assert ready["demoAccount"]["accountId"].startswith("acc_")
    assert json.loads(state_file(stack).read_text()) == ready
    assert state_file(stack).stat().st_mode & 0o077 == 0  # holds the admin key: owner only


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_the_readme_try_it_block_works_as_documented(stack: StackProcess, tmp_path: Path) -> None:
    assignments, curls = readme_commands(readme_try_it_block())
    assert len(curls) == 8, curls
    # The README reads .leadhub/local.json from the repository root; give it this stack's file.
    (tmp_path / ".leadhub").symlink_to(stack.state_dir)
    script = [re.sub(r"^API=.*", f"API={stack.api}", line) for line in assignments]
    script += [f"{curl}; printf '\\n{SEPARATOR}\\n'" for curl in curls]
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "\n".join(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    outputs = [json.loads(chunk) for chunk in run.stdout.split(SEPARATOR)[:-1]]
    created, merged, form, malformed, wrong_token, account, leads, audit = outputs

    assert created["created"] is True
    assert merged == {"leadId": created["leadId"], "created": False}
    assert form["created"] is True
    assert malformed["details"][0]["field"] == "body"
    assert malformed["error"].startswith("Body is not valid JSON")
    assert wrong_token == {"error": "Unknown webhook token"}
    assert account["webhookToken"] == stack.demo["webhookToken"]
    by_id = {lead["leadId"]: lead for lead in leads["items"]}
    ada = by_id[created["leadId"]]
    assert (ada["phone"], ada["tags"], ada["customFields"]) == (
        "+14155552671",
        ["demo", "vip"],
        {"utm_source": "newsletter"},
    )
    assert by_id[form["leadId"]]["tags"] == ["navy", "cobol"]
    created_entries = [e for e in audit["items"] if e["action"] == "lead.created"]
    assert {e["source"] for e in created_entries} == {"webhook"}
