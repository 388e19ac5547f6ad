"""What deploying relies on besides the template: every samconfig.toml environment names its stack and
region, and the SAM CLI and cfn-lint that validate and build it are pinned."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_samconfig_environment_names_its_stack_and_region() -> None:
    config = tomllib.loads((REPO / "samconfig.toml").read_text())
    environments = {name for name, section in config.items() if isinstance(section, dict)}
    assert {"default", "prod"} <= environments
    for name in environments:
        deploy_globals = config[name]["global"]["parameters"]
        assert deploy_globals["stack_name"].startswith("leadhub-"), name
        assert re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", deploy_globals["region"]), name


def test_the_sam_cli_and_cfn_lint_are_installed_at_pinned_versions() -> None:
    makefile = (REPO / "Makefile").read_text()
    pins = dict(re.findall(r"^(SAM_CLI_VERSION|CFN_LINT_VERSION) := (\S+)$", makefile, re.M))
    assert set(pins) == {"SAM_CLI_VERSION", "CFN_LINT_VERSION"}
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", version) for version in pins.values()), pins
    installs = [line for line in makefile.splitlines() if "pip install" in line or "PIP_INSTALL)" in line]
    sam_installs = [line.split("$(PIP_INSTALL)")[1] for line in installs if "aws-sam-cli" in line]
    assert sam_installs == [" aws-sam-cli==$(SAM_CLI_VERSION) cfn-lint==$(CFN_LINT_VERSION)"]
    assert not [line for line in installs if "cfn-lint" in line and "cfn-lint==" not in line]


def test_the_conversation_workers_timeout_holds_every_attempt_of_a_slow_model() -> None:
    """A model call that outlives the function kills the worker mid-reply: every attempt botocore makes
    (connect + read timeout each) must end before the function's Timeout, with time left to record it."""
    from leadhub.conversations.adapters.bedrock_model import ATTEMPTS, CONNECT_TIMEOUT_S
    from local.cfn import load_template

    template = load_template(REPO / "template.yaml")
    worker = template["Resources"]["ConversationWorkerFunction"]["Properties"]
    read_timeout = float(worker["Environment"]["Variables"]["BEDROCK_TIMEOUT_SECONDS"])
    assert ATTEMPTS * (CONNECT_TIMEOUT_S + read_timeout) + 3 <= worker["Timeout"]
