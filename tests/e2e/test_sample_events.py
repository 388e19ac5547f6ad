"""Every file in events/ runs through `make invoke`'s code path (local.invoke: its private stack, its
placeholders, Telegram connected and Svix signing where asked) without an error: HTTP events answer
2xx/3xx and queue or stream batches report no failed item, except the samples whose name says they are
refused (events/README.md), which answer 4xx (never 5xx) or report their item as failed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local import settings
from local.cfn import Template
from local.invoke import function_for_event, invoke_event, stack_config
from local.sam import FUNCTION_TYPE
from local.stack import LocalStack

EVENTS = sorted((settings.REPO_ROOT / "events").glob("*/*.json"))
# A sample named with one of these words is refused on purpose.
REFUSED_WORDS = ("invalid", "malformed", "unknown", "unsupported", "bad", "stale")


def refused(path: Path) -> bool:
    return any(word in path.stem.split("-") for word in REFUSED_WORDS)


@pytest.fixture(scope="module")
def invoke_stack() -> Iterator[LocalStack]:
    with LocalStack(stack_config()) as running:
        yield running


def test_every_function_has_sample_events() -> None:
    template = Template.from_file(settings.DEFAULT_TEMPLATE)
    functions = {lid for lid, r in template.active_resources().items() if r["Type"] == FUNCTION_TYPE}
    covered = {function_for_event(template, path) for path in EVENTS}
    assert covered == functions


@pytest.mark.parametrize("path", EVENTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_sample_event_runs_as_its_name_says(invoke_stack: LocalStack, path: Path) -> None:
    event = json.loads(path.read_text())
    function = function_for_event(invoke_stack.template, path)
    assert function is not None

    result = invoke_event(invoke_stack, function, event)

    assert result.ok, result.error
    answer: Any = result.result
    if "routeKey" in event:  # an HTTP API request
        status = answer["statusCode"]
        assert (400 <= status < 500) if refused(path) else (200 <= status < 400), answer
    else:  # a queue or stream batch
        failed = (answer or {}).get("batchItemFailures") or []
        assert bool(failed) is refused(path), answer
