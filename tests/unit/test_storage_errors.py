"""The one classification of failed AWS requests: what the request carried and DynamoDB refuses is the
input's fault (UnstorableInput, 400); everything else is our storage failing (StorageUnavailable, 503)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from leadhub.adapters.aws import storage_errors, storage_failure
from leadhub.errors import StorageUnavailable, UnstorableInput


def client_error(code: str, message: str = "", reasons: list[str] | None = None) -> ClientError:
    response: dict[str, Any] = {"Error": {"Code": code, "Message": message}}
    if reasons is not None:
        response["CancellationReasons"] = [{"Code": r} for r in reasons]
    return ClientError(response, "TransactWriteItems")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "exc",
    [
        client_error("ValidationException", "Item size has exceeded the maximum allowed size"),
        client_error("ValidationException", "One or more parameter values were invalid: Size of hashkey"),
        client_error("ValidationException", "The parameter cannot be converted to a numeric value: 1e400"),
        client_error("SerializationException", "Start of structure or map found where not expected"),
        client_error("TransactionCanceledException", "Transaction cancelled", ["None", "ValidationError"]),
    ],
    ids=["item size", "key size", "number", "serialization", "cancelled: validation"],
)
def test_refusals_of_what_the_request_carried_are_unstorable_input(exc: ClientError) -> None:
    error = storage_failure(exc, "store message")
    assert isinstance(error, UnstorableInput) and error.status_code == 400
    assert "1e400" not in error.message  # DynamoDB's message may quote the value: never passed on


@pytest.mark.parametrize(
    "exc",
    [
        client_error("ThrottlingException"),
        client_error("ProvisionedThroughputExceededException"),
        client_error("RequestLimitExceeded"),
        client_error("InternalServerError"),
        client_error("ServiceUnavailable"),
        client_error("ResourceNotFoundException"),  # our table is missing: a deployment fault, not input
        client_error("AccessDeniedException"),
        client_error("TransactionCanceledException", "", ["None", "ThrottlingError"]),
        client_error("TransactionCanceledException", "", ["TransactionConflict", "None"]),
        EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
        ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
    ],
    ids=lambda e: type(e).__name__ if not isinstance(e, ClientError) else str(e.response),
)
def test_everything_else_is_our_storage_failing(exc: Exception) -> None:
    error = storage_failure(exc, "store message")  # type: ignore[arg-type]
    assert isinstance(error, StorageUnavailable) and error.status_code == 503
    assert error.message == "Storage is unavailable (store message); please retry"


def test_storage_errors_raises_the_classified_error_and_passes_expected_codes_through() -> None:
    with pytest.raises(UnstorableInput) as refused, storage_errors("update message"):
        raise client_error("ValidationException")
    assert isinstance(refused.value.__cause__, ClientError)
    with pytest.raises(StorageUnavailable), storage_errors("update message"):
        raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")
    expected = frozenset({"ConditionalCheckFailedException"})
    with pytest.raises(ClientError), storage_errors("update message", expected=expected):
        raise client_error("ConditionalCheckFailedException")
