"""DynamoDB requests per ingested lead, counted on the handler's own (cached) botocore client.

Targets (issue 2, section 6): new lead with a warm token cache = 1; cold token cache <= 2; duplicate <= 2.
"""

from __future__ import annotations

from tests.integration.conftest import Account, Api, DynamoCalls, Stack


def test_new_lead_with_a_warm_token_cache_is_one_request(
    api: Api, account: Account, dynamo_calls: DynamoCalls
) -> None:
    api.post_lead(account.webhook_token, {"phone": "+14155550100"})  # warms the token cache

    result, operations = dynamo_calls.during(
        lambda: api.post_lead(account.webhook_token, {"phone": "+14155550101", "name": "Ada"})
    )

    assert result.status == 201
    assert operations == ["TransactWriteItems"]  # the lead and its audit entry, one conditional write


def test_new_lead_with_a_cold_token_cache_is_two_requests(
    api: Api, account: Account, dynamo_calls: DynamoCalls
) -> None:
    result, operations = dynamo_calls.during(
        lambda: api.post_lead(account.webhook_token, {"phone": "+14155550100"})
    )

    assert result.status == 201
    assert operations == ["GetItem", "TransactWriteItems"]  # token lookup by hash, then the write


def test_cold_start_of_a_fresh_environment_is_two_requests(
    api: Api, stack: Stack, account: Account, dynamo_calls: DynamoCalls
) -> None:
    cold = stack.load_function("LeadWebhookFunction")  # a new execution environment: empty token cache

    result, operations = dynamo_calls.during(
        lambda: api.post_lead(account.webhook_token, {"phone": "+14155550100"}, module=cold)
    )

    assert result.status == 201
    assert operations == ["GetItem", "TransactWriteItems"]


def test_duplicate_with_a_warm_token_cache_is_two_requests(
    api: Api, account: Account, dynamo_calls: DynamoCalls
) -> None:
    first = api.post_lead(account.webhook_token, {"phone": "+14155550100"})

    result, operations = dynamo_calls.during(
        lambda: api.post_lead(account.webhook_token, {"phone": "+14155550100", "tags": ["again"]})
    )

    assert result.status == 200
    assert result.body == {"leadId": first.body["leadId"], "created": False}
    # The failed conditional write returns the stored lead (no extra read); then the versioned merge.
    assert operations == ["TransactWriteItems", "PutItem"]


def test_unchanged_duplicate_is_also_two_requests(
    api: Api, account: Account, dynamo_calls: DynamoCalls
) -> None:
    api.post_lead(account.webhook_token, {"phone": "+14155550100"})

    result, operations = dynamo_calls.during(
        lambda: api.post_lead(account.webhook_token, {"phone": "+14155550100"})
    )

    assert result.status == 200
    assert operations == ["TransactWriteItems", "PutItem"]  # lastActivityAt moves even when nothing else does


def test_refused_requests_cost_at_most_the_token_lookup(
    api: Api, account: Account, dynamo_calls: DynamoCalls
) -> None:
    api.post_lead(account.webhook_token, {"phone": "+14155550100"})  # warm

    cases = [
        ("lht_" + "A" * 32, '{"phone": "+14155550100"}', "application/json", ["GetItem"], 401),
        ("not-a-token", '{"phone": "+14155550100"}', "application/json", [], 401),
        (account.webhook_token, "{", "application/json", [], 400),
        (account.webhook_token, "<x/>", "application/xml", [], 415),
        (account.webhook_token, "x" * 70_000, "application/json", [], 413),
    ]
    for token, body, content_type, expected, status in cases:
        result, operations = dynamo_calls.during(
            lambda t=token, b=body, c=content_type: api.post_lead(t, b, content_type=c)
        )
        assert (result.status, operations) == (status, expected)
    # An unknown token is remembered too (negative caching): a flood of bad tokens costs one lookup each.
    result, operations = dynamo_calls.during(lambda: api.post_lead("lht_" + "A" * 32, "{}"))
    assert (result.status, operations) == (401, [])
