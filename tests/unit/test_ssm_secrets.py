"""Deployment secrets from SSM: decrypted, kept five minutes, a failed read not kept."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from leadhub.platform.adapters.ssm_secrets import SECRET_MAX_AGE_SECONDS, SsmSecret


class FakeSsm:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.calls: list[dict[str, Any]] = []
        self.unreachable = False

    def get_parameter(self, **request: Any) -> dict[str, Any]:
        self.calls.append(request)
        if self.unreachable:
            raise EndpointConnectionError(endpoint_url="https://ssm.us-east-1.amazonaws.com")
        if request["Name"] not in self.values:
            error = {"Error": {"Code": "ParameterNotFound", "Message": ""}}
            raise ClientError(error, "GetParameter")  # type: ignore[arg-type]
        return {"Parameter": {"Name": request["Name"], "Value": self.values[request["Name"]]}}


@pytest.fixture
def ssm() -> FakeSsm:
    return FakeSsm()


@pytest.fixture
def clock() -> list[float]:
    return [1000.0]


def test_the_value_is_read_decrypted_and_kept_for_five_minutes(ssm: FakeSsm, clock: list[float]) -> None:
    ssm.values["/leadhub/secret"] = "s3cret"
    secret = SsmSecret("/leadhub/secret", clients=lambda service: ssm, clock=lambda: clock[0])
    assert secret.value() == "s3cret"
    assert ssm.calls == [{"Name": "/leadhub/secret", "WithDecryption": True}]

    ssm.values["/leadhub/secret"] = "rotated"
    clock[0] += SECRET_MAX_AGE_SECONDS - 1
    assert secret.value() == "s3cret"
    clock[0] += 2
    assert secret.value() == "rotated"
    assert len(ssm.calls) == 2


@pytest.mark.parametrize("unreachable", [False, True])
def test_a_missing_or_unreadable_secret_is_none_and_read_again_next_time(
    ssm: FakeSsm, clock: list[float], unreachable: bool
) -> None:
    ssm.unreachable = unreachable
    secret = SsmSecret("/leadhub/secret", clients=lambda service: ssm, clock=lambda: clock[0])
    assert secret.value() is None
    ssm.unreachable = False
    ssm.values["/leadhub/secret"] = "now set"
    assert secret.value() == "now set"
    assert len(ssm.calls) == 2
