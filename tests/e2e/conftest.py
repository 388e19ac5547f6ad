"""One local stack per e2e session, started as a user starts it, driven over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from local.fake_providers import FakeGraphApi, FakeResendApi, FakeTelegramBotApi
from tests.e2e.browsing import browser, new_visitor, visitor  # noqa: F401  (one browser for every test file)
from tests.stack_process import StackProcess, running_stack

# Short enough that the token-rotation test waits seconds, not the default minute.
TOKEN_CACHE_SECONDS = 2
# Outbound deliveries: loopback receivers allowed (the documented local-only setting) and a retry
# schedule shrunk to seconds, with the queue's maxReceiveCount to match.
STACK_ENV = {
    "TOKEN_CACHE_SECONDS": str(TOKEN_CACHE_SECONDS),
    "ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
    "LEADHUB_PARAMETERS": "DeliveryRetrySchedule=0s,1s,2s DeliveryMaxAttempts=3",
    # Provider secrets, passed as an operator passes them to the local stack.
    "FB_APP_SECRET": "e2e-meta-app-secret",
    "META_WEBHOOK_VERIFY_TOKEN": "e2e-verify-token",
    "RESEND_API_KEY": "re_e2e_key",
    "RESEND_WEBHOOK_SECRET": "whsec_ZTJlLXJlc2VuZC13ZWJob29rLXNlY3JldC0zMmJ5dGVz",
}
RECEIVING_DOMAIN = "inbound.leadhub.test"
# The loopback Graph API's one business account.
WHATSAPP_ACCOUNT = {
    "wabaId": "1234567890987654321",
    "phoneNumberId": "1122334455667",
    "accessToken": "EAAG-e2e",
}


@pytest.fixture(scope="session")
def graph() -> Iterator[FakeGraphApi]:
    fake = FakeGraphApi(
        WHATSAPP_ACCOUNT["wabaId"], WHATSAPP_ACCOUNT["phoneNumberId"], WHATSAPP_ACCOUNT["accessToken"]
    )
    yield fake
    fake.close()


TELEGRAM_BOT_TOKEN = "7000001:AAH-e2e_token"


@pytest.fixture(scope="session")
def telegram_api() -> Iterator[FakeTelegramBotApi]:
    fake = FakeTelegramBotApi(TELEGRAM_BOT_TOKEN)
    yield fake
    fake.close()


@pytest.fixture(scope="session")
def resend() -> Iterator[FakeResendApi]:
    fake = FakeResendApi(STACK_ENV["RESEND_API_KEY"])
    yield fake
    fake.close()


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    graph: FakeGraphApi,
    telegram_api: FakeTelegramBotApi,
    resend: FakeResendApi,
) -> Iterator[StackProcess]:
    state_dir = tmp_path_factory.mktemp("leadhub-state")
    providers = (
        f"GraphApiBaseUrl={graph.base_url} TelegramApiBaseUrl={telegram_api.url} "
        f"ResendApiBaseUrl={resend.url} ResendReceivingDomain={RECEIVING_DOMAIN}"
    )
    env = {**STACK_ENV, "LEADHUB_PARAMETERS": f"{STACK_ENV['LEADHUB_PARAMETERS']} {providers}"}
    with running_stack(state_dir, env) as process:
        yield process


@pytest.fixture(scope="session")
def http(stack: StackProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.api, timeout=30) as client:
        yield client


@pytest.fixture
def new_account(stack: StackProcess, http: httpx.Client) -> Callable[..., dict[str, str]]:
    def create(name: str = "E2E account", **extra: str) -> dict[str, str]:
        response = http.post(
            "/api/admin/accounts",
            json={"name": name, "plan": "pro", **extra},
            headers={"X-Admin-Key": stack.ready["adminKey"]},
        )
        assert response.status_code == 201, response.text
        return response.json()

    return create


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def state_file(stack: StackProcess) -> Path:
    return stack.state_dir / "local.json"
