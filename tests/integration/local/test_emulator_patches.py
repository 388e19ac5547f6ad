"""The local emulator's speed-ups of moto answer exactly what moto answers: each request is made once
against plain moto and once with the patch installed, and botocore must parse the same response."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws
from moto.core.responses import ActionResult
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

from local.emulator_main import (
    get_records_dumped_directly,
    item_requests_parsed_directly,
    item_results_dumped_directly,
    query_reading_one_partition,
)
from tests.integration.conftest import fake_aws_environment, shared_clients

REPO_ROOT = Path(__file__).resolve().parents[3]
TABLE = "patched"
PARTITIONS = ("ACCOUNT#a", "ACCOUNT#b", "ENDPOINTS#a", "ENDPOINTS#empty-looking")


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fake_aws_environment(monkeypatch)
    with mock_aws():
        factory = shared_clients()
        create_table(factory.client("dynamodb"), TABLE)
        yield factory


def create_table(db: Any, name: str) -> None:
    db.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": attribute, "AttributeType": "S"}
            for attribute in ("pk", "sk", "gsi1pk", "gsi1sk")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )


def every_attribute_type(rng: random.Random) -> dict[str, Any]:
    return {
        "name": {"S": f"Lead {rng.randrange(1000)}"},
        "score": {"N": str(rng.randrange(-50, 50))},
        "ratio": {"N": f"{rng.random():.6f}"},
        "raw": {"B": rng.randbytes(8)},
        "tags": {"SS": ["a", f"t{rng.randrange(5)}"]},
        "counts": {"NS": ["1", "2.5"]},
        "blobs": {"BS": [b"\x00\x01", rng.randbytes(3)]},
        "custom": {"M": {"source": {"S": "form"}, "nested": {"L": [{"N": "1"}, {"NULL": True}]}}},
        "list": {"L": [{"S": "x"}, {"BOOL": False}]},
        "active": {"BOOL": rng.random() < 0.5},
        "nothing": {"NULL": True},
    }


def fill(db: Any, rng: random.Random, table: str = TABLE) -> list[dict[str, Any]]:
    """Items spread over several partitions (some in the index), then updates and deletes, so that the
    stream has INSERT, MODIFY and REMOVE records with every attribute type."""
    keys = []
    for number in range(160):
        pk = rng.choice(PARTITIONS[:3])
        sk = f"{rng.choice(['LEAD#', 'AUDIT#', 'ENDPOINT#'])}{rng.randrange(10_000):05d}"
        item = {"pk": {"S": pk}, "sk": {"S": sk}, **every_attribute_type(rng)}
        if number % 3 == 0:
            item |= {"gsi1pk": {"S": f"PHONE#{number % 4}"}, "gsi1sk": {"S": sk}}
        db.put_item(TableName=table, Item=item)
        keys.append({"pk": item["pk"], "sk": item["sk"]})
    for key in rng.sample(keys, 20):
        db.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET score = :s",
            ExpressionAttributeValues={":s": {"N": "99"}},
        )
    for key in rng.sample(keys, 10):
        db.delete_item(TableName=table, Key=key)
    return keys


QUERIES: list[dict[str, Any]] = [
    {"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": {"S": "ACCOUNT#a"}}},
    {
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": "ENDPOINTS#empty-looking"}},
    },
    {
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
        "ExpressionAttributeValues": {":pk": {"S": "ACCOUNT#b"}, ":p": {"S": "LEAD#"}},
        "ScanIndexForward": False,
    },
    {
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": {
            ":pk": {"S": "ENDPOINTS#a"},
            ":lo": {"S": "AUDIT#"},
            ":hi": {"S": "LEAD#5"},
            ":zero": {"N": "0"},
        },
        "FilterExpression": "score > :zero",
        "ProjectionExpression": "pk, sk, score, custom.#source",
        "ExpressionAttributeNames": {"#source": "source"},
    },
    {
        "KeyConditionExpression": "pk = :pk AND sk > :after",
        "ExpressionAttributeValues": {":pk": {"S": "ACCOUNT#a"}, ":after": {"S": "ENDPOINT#"}},
        "Select": "COUNT",
    },
    {
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :g",
        "ExpressionAttributeValues": {":g": {"S": "PHONE#1"}},
    },
]


def all_pages(db: Any, query: dict[str, Any], page_size: int | None) -> list[dict[str, Any]]:
    request = {"TableName": TABLE, **query, **({"Limit": page_size} if page_size else {})}
    pages = []
    while True:
        page = db.query(**request)
        page.pop("ResponseMetadata")
        pages.append(page)
        if "LastEvaluatedKey" not in page:
            return pages
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def answers(db: Any) -> list[list[dict[str, Any]]]:
    return [all_pages(db, query, page_size) for query in QUERIES for page_size in (None, 1, 7)]


def test_a_table_query_reads_only_its_partition_and_answers_as_moto_does(
    clients: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = clients.client("dynamodb")
    fill(db, random.Random(11))
    expected = answers(db)

    monkeypatch.setattr(Table, "query", query_reading_one_partition(Table.query))
    assert answers(db) == expected

    # moto's own path reads (and sorts) the whole table for any query, of the table or an index; the
    # patched one never does.
    def whole_table(self: Table) -> list[Any]:
        raise AssertionError("a query read the whole table")

    monkeypatch.setattr(Table, "all_items", whole_table)
    assert any("IndexName" in query for query in QUERIES)
    for query in QUERIES:
        all_pages(db, query, 3)


def stream_pages(streams: Any, stream_arn: str, limit: int) -> list[dict[str, Any]]:
    shard_id = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )
    pages, next_iterator = [], iterator["ShardIterator"]
    while True:
        page = streams.get_records(ShardIterator=next_iterator, Limit=limit)
        next_iterator = page.pop("NextShardIterator")  # a fresh random id every time
        page.pop("ResponseMetadata")
        pages.append(page)
        if not page["Records"]:
            return pages


def test_stream_records_are_answered_as_moto_answers_them(
    clients: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, streams = clients.client("dynamodb"), clients.client("dynamodbstreams")
    fill(db, random.Random(12))
    stream_arn = db.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    expected = stream_pages(streams, stream_arn, 40)
    assert sum(len(page["Records"]) for page in expected) == 190
    assert {r["eventName"] for page in expected for r in page["Records"]} == {"INSERT", "MODIFY", "REMOVE"}

    monkeypatch.setattr(DynamoDBStreamsHandler, "get_records", get_records_dumped_directly)
    assert stream_pages(streams, stream_arn, 40) == expected


def item_requests(db: Any, table: str, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every item request the app makes (and a few it does not), reads and writes, with their answers."""
    missing = {"pk": {"S": "ACCOUNT#none"}, "sk": {"S": "LEAD#none"}}
    some = keys[:25]
    calls: list[tuple[str, dict[str, Any]]] = [
        ("get_item", {"Key": keys[0], "ConsistentRead": True}),
        ("get_item", {"Key": missing}),
        (
            "get_item",
            {
                "Key": keys[1],
                "ProjectionExpression": "sk, custom.#s",
                "ExpressionAttributeNames": {"#s": "source"},
            },
        ),
        ("batch_get_item", {"RequestItems": {table: {"Keys": [*some, missing], "ConsistentRead": True}}}),
        (
            "transact_get_items",
            {"TransactItems": [{"Get": {"TableName": table, "Key": k}} for k in some[:5]]},
        ),
        ("scan", {"Limit": 30, "ReturnConsumedCapacity": "TOTAL"}),
        ("query", {**QUERIES[0], "ReturnConsumedCapacity": "TOTAL"}),
        ("query", {**QUERIES[4]}),
        ("put_item", {"Item": {**keys[2], "name": {"S": "New"}}, "ReturnValues": "ALL_OLD"}),
        ("put_item", {"Item": {"pk": {"S": "ACCOUNT#new"}, "sk": {"S": "LEAD#1"}, "n": {"N": "1"}}}),
        (
            "update_item",
            {
                "Key": keys[3],
                "UpdateExpression": "SET score = score + :one, tags = :t REMOVE nothing",
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":t": {"SS": ["z"]}},
                "ReturnValues": "ALL_NEW",
            },
        ),
        (
            "update_item",
            {
                "Key": keys[4],
                "UpdateExpression": "SET active = :f",
                "ExpressionAttributeValues": {":f": {"BOOL": False}},
                "ReturnValues": "UPDATED_OLD",
            },
        ),
        ("delete_item", {"Key": keys[5], "ReturnValues": "ALL_OLD"}),
        ("delete_item", {"Key": missing}),
        (
            "transact_write_items",
            {
                "TransactItems": [
                    {"Put": {"TableName": table, "Item": {"pk": {"S": "ACCOUNT#t"}, "sk": {"S": "A#1"}}}},
                    {"Delete": {"TableName": table, "Key": keys[6]}},
                ]
            },
        ),
        ("batch_write_item", {"RequestItems": {table: [{"DeleteRequest": {"Key": keys[7]}}]}}),
    ]
    answered = []
    for operation, request in calls:
        if operation not in (
            "batch_get_item",
            "transact_get_items",
            "transact_write_items",
            "batch_write_item",
        ):
            request = {"TableName": table, **request}
        answer = getattr(db, operation)(**request)
        answer.pop("ResponseMetadata")
        if operation == "batch_get_item":  # in no particular order
            answer["Responses"][table].sort(key=lambda item: (item["pk"]["S"], item["sk"]["S"]))
        answered.append({operation: answer})
    return answered


def test_item_requests_are_answered_as_moto_answers_them(
    clients: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = clients.client("dynamodb")
    create_table(db, "plain")
    expected = item_requests(db, "plain", fill(db, random.Random(13), "plain"))
    assert {"Item"} <= set(expected[0]["get_item"]) and expected[3]["batch_get_item"]["Responses"]["plain"]

    monkeypatch.setattr(DynamoHandler, "serialized", item_results_dumped_directly(DynamoHandler.serialized))
    generic = []
    execute_result = ActionResult.execute_result

    def spied(self: ActionResult, context: Any) -> Any:
        generic.append(context.operation_model.name)
        return execute_result(self, context)

    monkeypatch.setattr(ActionResult, "execute_result", spied)
    create_table(db, "patched-twin")
    answers = item_requests(db, "patched-twin", fill(db, random.Random(13), "patched-twin"))

    assert answers == _renamed(expected, {"plain": "patched-twin"})
    assert generic == ["CreateTable"]  # every item request was dumped directly


def test_item_requests_are_read_as_moto_reads_them(clients: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    db = clients.client("dynamodb")
    create_table(db, "plain")
    expected = item_requests(db, "plain", fill(db, random.Random(14), "plain"))

    original = DynamoHandler.parse_parameters
    model_parsed: list[str] = []

    def spied(self: DynamoHandler, request: Any) -> None:
        model_parsed.append(self._get_action())
        original(self, request)

    monkeypatch.setattr(DynamoHandler, "parse_parameters", item_requests_parsed_directly(spied))
    create_table(db, "patched-twin")
    answers = item_requests(db, "patched-twin", fill(db, random.Random(14), "patched-twin"))

    assert answers == _renamed(expected, {"plain": "patched-twin"})
    # The requests carrying binary values (every item fill() writes) still take moto's parser; the
    # others (keys, queries, updates, transactions of text and numbers) are read directly.
    assert model_parsed.count("PutItem") == 160 and "CreateTable" in model_parsed
    assert not {"GetItem", "BatchGetItem", "Query", "UpdateItem", "TransactWriteItems"} & set(model_parsed)


def _renamed(value: Any, names: dict[str, str]) -> Any:
    """`value` with the table names in it replaced (keys and ConsumedCapacity's TableName)."""
    if isinstance(value, dict):
        return {names.get(k, k): _renamed(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, names) for v in value]
    return names.get(value, value) if isinstance(value, str) else value


def test_full_collections_leave_their_survivors_frozen() -> None:
    # In a process of its own: freezing this one would change every later test's garbage collection.
    code = (
        "import gc\n"
        "from local.emulator_main import freeze_survivors_of_full_collections\n"
        "survivors = [[n] for n in range(1000)]\n"
        "assert gc.get_freeze_count() == 0\n"
        "freeze_survivors_of_full_collections()\n"
        "gc.collect(1)\n"
        "assert gc.get_freeze_count() == 0, 'a younger collection froze objects'\n"
        "gc.collect()\n"
        "assert gc.get_freeze_count() >= len(survivors), gc.get_freeze_count()\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True, timeout=60)
