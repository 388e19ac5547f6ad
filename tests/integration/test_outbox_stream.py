"""The outbox: subscriber facts derived from the table's stream (NEW_AND_OLD_IMAGES) after real writes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from leadhub.leads.adapters.dynamodb_leads import lead_from_image
from leadhub.outbound.outbox import LEAD_CREATED, LEAD_RE_ENGAGED, LEAD_UPDATED, Fact, lead_facts
from leadhub.platform.timestamps import to_iso, utc_now
from tests.integration.conftest import Account, Api, Clock, Stack

PHONE = "+14155552671"


def stream_records(stack: Stack) -> list[dict[str, Any]]:
    """Every record of the table's stream so far, in order."""
    streams = stack.streams
    records: list[dict[str, Any]] = []
    shards = streams.describe_stream(StreamArn=stack.stream_arn)["StreamDescription"]["Shards"]
    for shard in shards:
        iterator = streams.get_shard_iterator(
            StreamArn=stack.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            records += page["Records"]
            iterator = page.get("NextShardIterator") if page["Records"] else None
    return records


def lead_stream_facts(stack: Stack, since: int = 0) -> tuple[list[Fact], int]:
    """Facts the fan-out would derive from the lead records after the first `since` records."""
    records = stream_records(stack)
    facts: list[Fact] = []
    for record in records[since:]:
        images = record["dynamodb"]
        old, new = lead_from_image(images.get("OldImage")), lead_from_image(images.get("NewImage"))
        facts += lead_facts(old, new)
    return facts, len(records)


def test_the_table_streams_new_and_old_images(stack: Stack) -> None:
    description = stack.ddb.describe_table(TableName=stack.table_name)["Table"]
    assert description["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    assert description["LatestStreamArn"] == stack.stream_arn


def test_a_new_lead_streams_lead_created(api: Api, stack: Stack, account: Account, clock: Clock) -> None:
    _, seen = lead_stream_facts(stack)  # the account's own records

    result = api.post_lead(account.webhook_token, {"phone": PHONE, "name": "Ada", "tags": ["demo"]})

    facts, _ = lead_stream_facts(stack, seen)
    assert [f.event for f in facts] == [LEAD_CREATED]
    [fact] = facts
    assert fact.account_id == account.account_id
    assert fact.subject_id == result.body["leadId"]
    assert fact.occurred_at == to_iso(clock.now)
    assert fact.data["phone"] == PHONE
    assert fact.data["name"] == "Ada"
    assert fact.data["tags"] == ["demo"]
    assert fact.data["source"] == "webhook"


def test_account_and_audit_records_carry_no_lead_facts(api: Api, stack: Stack, account: Account) -> None:
    facts, seen = lead_stream_facts(stack)
    assert facts == []
    assert seen >= 5  # account, token lookup, API key (lookup and listing), audit entries
    api.call("POST", "/api/accounts/current/webhook-token/rotate", api_key=account.api_key)
    assert lead_stream_facts(stack, seen)[0] == []


def test_a_duplicate_with_new_fields_streams_lead_updated(
    api: Api, stack: Stack, account: Account, clock: Clock
) -> None:
    created = api.post_lead(account.webhook_token, {"phone": PHONE, "name": "Ada", "tags": ["demo"]})
    _, seen = lead_stream_facts(stack)
    clock.advance(timedelta(hours=2))

    again = api.post_lead(
        account.webhook_token, {"phone": PHONE, "email": "ada@example.com", "tags": ["vip"]}
    )

    assert again.body == {"leadId": created.body["leadId"], "created": False}
    facts, _ = lead_stream_facts(stack, seen)
    assert [f.event for f in facts] == [LEAD_UPDATED]
    [fact] = facts
    assert fact.subject_id == created.body["leadId"]
    assert fact.occurred_at == to_iso(clock.now)
    assert fact.data["changedFields"] == ["email", "tags"]
    assert fact.data["email"] == "ada@example.com"
    assert fact.data["tags"] == ["demo", "vip"]
    assert fact.data["name"] == "Ada"


def test_an_unchanged_duplicate_streams_no_fact(
    api: Api, stack: Stack, account: Account, clock: Clock
) -> None:
    api.post_lead(account.webhook_token, {"phone": PHONE, "name": "Ada"})
    _, seen = lead_stream_facts(stack)
    clock.advance(timedelta(days=3))

    assert api.post_lead(account.webhook_token, {"phone": PHONE, "name": "Ada"}).status == 200

    records = stream_records(stack)[seen:]
    assert [r["eventName"] for r in records] == ["MODIFY"]  # lastActivityAt moved ...
    assert lead_stream_facts(stack, seen)[0] == []  # ... which is no news for subscribers


@pytest.mark.parametrize(
    ("silence", "re_engaged"), [(timedelta(days=29, hours=23), False), (timedelta(days=30), True)]
)
def test_re_engagement_starts_after_30_days_of_silence(
    api: Api, stack: Stack, account: Account, clock: Clock, silence: timedelta, re_engaged: bool
) -> None:
    api.post_lead(account.webhook_token, {"phone": PHONE, "name": "Ada"})
    _, seen = lead_stream_facts(stack)
    clock.advance(silence)

    api.post_lead(account.webhook_token, {"phone": PHONE})

    facts, _ = lead_stream_facts(stack, seen)
    assert [f.event for f in facts] == ([LEAD_RE_ENGAGED] if re_engaged else [])


def test_a_lead_back_after_31_days_streams_updated_and_re_engaged(
    api: Api, stack: Stack, account: Account, clock: Clock
) -> None:
    first_seen = clock.now
    created = api.post_lead(account.webhook_token, {"phone": PHONE, "name": "Ada"})
    _, seen = lead_stream_facts(stack)
    back = clock.advance(timedelta(days=31, hours=5))

    again = api.post_lead(account.webhook_token, {"phone": PHONE, "name": "Ada Lovelace"})

    assert again.status == 200
    facts, _ = lead_stream_facts(stack, seen)
    assert [f.event for f in facts] == [LEAD_UPDATED, LEAD_RE_ENGAGED]
    updated, re_engaged = facts
    assert updated.data["changedFields"] == ["name"]
    assert re_engaged.subject_id == created.body["leadId"]
    assert re_engaged.occurred_at == to_iso(back)
    assert re_engaged.data["previousActivityAt"] == to_iso(first_seen)
    assert re_engaged.data["inactiveDays"] == 31
    assert re_engaged.data["reEngagedAt"] == to_iso(back)
    # The stored lead says so too (GET /api/leads/{id} shows it).
    lead = api.call("GET", f"/api/leads/{created.body['leadId']}", api_key=account.api_key).body
    assert lead["reEngagedAt"] == to_iso(back)
    assert lead["lastActivityAt"] == to_iso(back)
    assert lead["capturedAt"] == to_iso(first_seen)


def test_re_engagement_of_a_lead_stored_long_ago(api: Api, stack: Stack, account: Account) -> None:
    """State written directly (a lead last active 45 days ago), then the real handler at the real time."""
    created = api.post_lead(account.webhook_token, {"phone": PHONE})
    long_ago = to_iso(utc_now() - timedelta(days=45))
    key = {"pk": {"S": f"ACCOUNT#{account.account_id}"}, "sk": {"S": f"LEAD#{created.body['leadId']}"}}
    stack.ddb.update_item(
        TableName=stack.table_name,
        Key=key,
        UpdateExpression="SET lastActivityAt = :t, capturedAt = :t, updatedAt = :t",
        ExpressionAttributeValues={":t": {"S": long_ago}},
    )
    _, seen = lead_stream_facts(stack)

    api.post_lead(account.webhook_token, {"phone": PHONE})

    facts, _ = lead_stream_facts(stack, seen)
    assert [f.event for f in facts] == [LEAD_RE_ENGAGED]
    assert facts[0].data["previousActivityAt"] == long_ago
    assert facts[0].data["inactiveDays"] == 45


def test_a_re_engagement_is_reported_once(api: Api, stack: Stack, account: Account, clock: Clock) -> None:
    api.post_lead(account.webhook_token, {"phone": PHONE})
    clock.advance(timedelta(days=40))
    api.post_lead(account.webhook_token, {"phone": PHONE})
    _, seen = lead_stream_facts(stack)
    clock.advance(timedelta(minutes=5))

    api.post_lead(account.webhook_token, {"phone": PHONE})

    assert lead_stream_facts(stack, seen)[0] == []
