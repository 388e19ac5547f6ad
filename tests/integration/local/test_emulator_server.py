"""The emulator subprocess serves many requests on one kept-alive connection, as AWS endpoints do."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from local.emulator import Emulator

# Any signature will do: the emulator reads the credentials, it does not check them.
AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=testing/20261123/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host;x-amz-target, Signature=0"
)


@pytest.fixture(scope="module")
def netloc() -> Iterator[str]:
    emulator = Emulator()
    try:
        yield urlsplit(emulator.start()).netloc
    finally:
        emulator.stop()


def dynamodb(
    connection: http.client.HTTPConnection, operation: str, body: dict[str, Any], **headers: str
) -> http.client.HTTPResponse:
    headers |= {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": f"DynamoDB_20120810.{operation}",
        "Authorization": AUTHORIZATION,
    }
    connection.request("POST", "/", json.dumps(body), headers)
    response = connection.getresponse()
    response.read()
    return response


def test_requests_follow_each_other_on_one_connection(netloc: str) -> None:
    # A short timeout: a server still reading the previous request would stall the next one.
    connection = http.client.HTTPConnection(netloc, timeout=5)
    answers = [dynamodb(connection, "ListTables", {})]
    first_socket = connection.sock
    answers += [
        dynamodb(connection, "DescribeTable", {"TableName": "no-such-table"}),  # an error answer
        dynamodb(connection, "ListTables", {"Limit": 5}),
        dynamodb(connection, "ListTables", {}),
    ]

    assert [answer.status for answer in answers] == [200, 400, 200, 200]
    assert not any(answer.will_close for answer in answers)
    assert connection.sock is first_socket  # http.client would have reconnected had the server closed
    connection.close()


def test_a_client_that_asks_to_close_gets_the_connection_closed(netloc: str) -> None:
    connection = http.client.HTTPConnection(netloc, timeout=5)
    answer = dynamodb(connection, "ListTables", {}, Connection="close")
    assert answer.status == 200 and answer.will_close
