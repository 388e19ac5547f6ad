"""Settings every test layer shares."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from leadhub.dashboard.rendering import compile_ahead

# Property tests of parsers of outside input: no per-example deadline (this machine has two cores and
# runs the e2e stack beside them), and a slow data generator is not a failure.
settings.register_profile(
    "leadhub", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("leadhub")


def pytest_sessionstart(session: pytest.Session) -> None:
    """The dashboard's templates compiled ahead of time, as the layer's build ships them (and the local
    stack compiles them): the tests render pages the way a deployed function does."""
    compile_ahead()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI (`CI` set) a skip is a failure: a test that needs a tool CI lacks (Chromium, Node.js, curl,
    openssl, make, IPv6 loopback) proves nothing by skipping. Locally it stays a skip, with its reason."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every test must run: {report.longrepr}"
