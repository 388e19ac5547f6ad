"""Entry point of the AWS emulator subprocess: a moto server on loopback.

Run as ``python -P local/emulator_main.py --port N`` (``0`` = any free port). Prints one JSON line
``{"port": <bound port>}`` on stdout once it serves, then lives until its stdin reaches EOF: the
runner holds the other end of that pipe, so the emulator exits with it even when the runner is
SIGKILLed. SIGINT (a terminal's Ctrl-C reaching the whole process group) is ignored; the runner
decides when the emulator stops. Stdlib + moto only: this file is not imported as part of the
``local`` package.

Two kinds of patches. Faithful to AWS: DynamoDB requests one at a time (moto's backend is not
thread-safe), shard iterators forgotten as AWS expires them, FIFO redelivery in order. Speed only (the
gc freeze, transactions without table copies, one-partition queries, items and stream records read and
dumped directly, the backend cache and kept-alive connections): they stay because without them the local
stack's tests take 2.6x as long and miss their deadlines (tests/integration/local, the emulator-backed
integration tests and eight e2e files, 125 tests: 183 s with them, 468 s and 11 failures without, one
run each, interleaved, on the shared 2-core machine).
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import signal
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

# moto keeps every DynamoDB Streams shard iterator it ever handed out; a poller asking every
# 50 ms would grow that without bound. Real iterators expire after 15 minutes; here the oldest
# are forgotten once this many exist (pollers re-acquire an iterator if theirs is gone).
MAX_SHARD_ITERATORS = 10_000


class _BoundedDict(OrderedDict[str, Any]):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self._limit = limit

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        while len(self) > self._limit:
            self.popitem(last=False)


def _bound_stream_iterators() -> None:
    from moto.dynamodbstreams import models

    original_init = models.DynamoDBStreamsBackend.__init__

    def __init__(self: Any, region_name: str, account_id: str) -> None:
        original_init(self, region_name, account_id)
        self.shard_iterators = _BoundedDict(MAX_SHARD_ITERATORS)

    models.DynamoDBStreamsBackend.__init__ = __init__  # type: ignore[method-assign]


class _Serialized:
    """Runs DynamoDB (and DynamoDB Streams) requests one at a time. moto's DynamoDB backend is not
    thread-safe (a concurrent TransactWriteItems fails with "dictionary changed size during
    iteration", and its rollback can drop another request's write); each request takes a few
    milliseconds. Other services stay concurrent: an SQS long poll must not block everything."""

    SERIALIZED_TARGETS = ("DynamoDB_", "DynamoDBStreams_")

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith(self.SERIALIZED_TARGETS):
            return self._app(environ, start_response)
        with self._lock:
            return list(self._app(environ, start_response))


def transact_write_items_without_table_copies(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto deep-copies every table a TransactWriteItems touches (to roll back on failure), which
    makes each transaction O(table size): ingest slows down as the table grows. Check every
    condition first, then apply; with requests serialised nothing can change in between, so only
    the items written need a backup (for a failure while applying)."""
    import copy

    from moto.dynamodb import exceptions as ddb_errors
    from moto.dynamodb.comparisons import get_filter_expression

    if len(transact_items) > 100:
        raise ddb_errors.TooManyTransactionsException()
    targets: set[tuple[str, str]] = set()
    planned: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = []
    errors: list[tuple[Any, Any, Any]] = []
    for item in transact_items:
        if len(item) > 1:
            raise ddb_errors.TransactWriteSingleOpException
        op_type, op = next(iter(item.items()))
        if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
            errors.append(("ValueError", "Unsupported transaction operation", None))
            continue
        table_name = op["TableName"]
        if op_type == "Put":
            table = self.get_table(table_name)
            attrs = op["Item"]
            key = {table.hash_key_attr: attrs[table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = attrs[table.range_key_attr]
        else:
            key = op["Key"]
        target = (str(table_name), str(dict(sorted(key.items()))))
        if target in targets:
            raise ddb_errors.MultipleTransactionsException()
        targets.add(target)
        current = self.get_item(table_name, key)
        condition = op.get("ConditionExpression")
        if condition is not None and not get_filter_expression(
            condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        ).expr(current):
            old = None
            if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                old = current.to_json()["Attributes"]
            errors.append(("ConditionalCheckFailed", ddb_errors.ConditionalCheckFailed().message, old))
            continue
        errors.append((None, None, None))
        planned.append((op_type, op, table_name, key))
    if any(code is not None for code, _, _ in errors):
        raise ddb_errors.TransactionCanceledException(errors)

    backups = [(name, key, copy.deepcopy(self.get_item(name, key))) for _, _, name, key in planned]
    try:
        for op_type, op, table_name, key in planned:
            names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            if op_type == "Put":
                self.put_item(table_name, op["Item"])
            elif op_type == "Delete":
                self.delete_item(table_name, key)
            elif op_type == "Update":
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
    except Exception:
        for table_name, key, previous in backups:
            if previous is None:
                self.delete_item(table_name, key)
            else:
                self.put_item(table_name, previous.to_json()["Attributes"])
        raise


def _transactions_without_table_copies() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    DynamoDBBackend.transact_write_items = transact_write_items_without_table_copies  # type: ignore[method-assign]


def query_reading_one_partition(original: Callable[..., Any]) -> Callable[..., Any]:
    """moto answers a Query on the table by sorting every item of the table and keeping the queried
    partition's: O(table size) per Query, while every other DynamoDB request waits behind the lock.
    The fan-out queries an account's (empty) endpoint partition for every lead, so ingest latency
    grew with the table (~100 ms a Query at 5,000 items). This hands moto's `Table.query`
    (`original`) only the queried partition; the rest of it (key conditions, order, paging,
    filters) is unchanged. A global index's Query gets that index partition's items (see _index_partition);
    tables without a sort key keep moto's path."""
    import inspect

    signature = inspect.signature(original)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(self, *args, **kwargs).arguments
        hash_key = arguments.get("hash_key")
        if hash_key is None or self.range_key_attr is None:
            return original(self, *args, **kwargs)
        index_name = arguments.get("index_name")
        if index_name:
            partition = _index_partition(self, index_name, hash_key)
            if partition is None:
                return original(self, *args, **kwargs)
        else:
            partition = list(self.items.get(hash_key, {}).values())  # .get: items is a defaultdict
        # The base-table path reads its candidates through all_items(); shadow it for this call
        # only (DynamoDB requests are serialised, so no other request sees the shadow).
        self.all_items = lambda: partition
        try:
            return original(self, *args, **kwargs)
        finally:
            del self.all_items

    return query


def _index_partition(table: Any, index_name: str, hash_key: Any) -> list[Any] | None:
    """The items of one partition of a global index (by its one hash attribute), unsorted: moto sorts an
    index query's candidates by the index's and the table's keys itself, so the table-wide sort of
    all_items() that its index path starts with buys nothing (~10 ms a Query at a few thousand items)."""
    index = next((i for i in table.global_indexes if i.name == index_name), None)
    if index is None:
        return None
    hash_attributes = [key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH"]
    if len(hash_attributes) != 1:
        return None
    attribute, wanted = hash_attributes[0], hash_key
    return [
        item
        for partition in table.items.values()
        for item in partition.values()
        if (value := item.attrs.get(attribute)) is not None
        and value.type == wanted.type
        and value.value == wanted.value
    ]


def _queries_read_one_partition() -> None:
    from moto.dynamodb.models.table import Table

    Table.query = query_reading_one_partition(Table.query)  # type: ignore[method-assign]


def get_records_dumped_directly(self: Any) -> str:
    """moto's DynamoDB Streams GetRecords goes through its generic, model-driven serializer: ~3 ms
    per record, 200-300 ms for a batch of 100, all of it holding the DynamoDB lock, so every
    stream batch stalled the requests behind it. The records are DynamoDB JSON already, as moto's
    DynamoDB responses are: dump them as those are dumped, with the timestamps the serializer gives
    (epoch seconds to the millisecond)."""
    import calendar
    import datetime

    from moto.dynamodb.models.utilities import DynamoJsonEncoder

    class StreamJsonEncoder(DynamoJsonEncoder):
        def default(self, o: Any) -> Any:
            if isinstance(o, datetime.datetime):
                return calendar.timegm(o.timetuple()) + o.microsecond // 1000 / 1000
            return super().default(o)

    limit = self._get_param("Limit")
    result = self.backend.get_records(self._get_param("ShardIterator"), 1000 if limit is None else limit)
    return json.dumps(result, cls=StreamJsonEncoder)


def _stream_records_dumped_directly() -> None:
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    DynamoDBStreamsHandler.get_records = get_records_dumped_directly  # type: ignore[method-assign]


# The DynamoDB requests that answer with items (or nothing): their results are DynamoDB JSON already.
ITEM_ACTIONS = frozenset(
    {
        "GetItem",
        "BatchGetItem",
        "Query",
        "Scan",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)


def item_results_dumped_directly(original: Callable[..., Any]) -> Callable[..., Any]:
    """moto 5.2 sends every DynamoDB result through its generic, model-driven serializer, which walks
    each attribute value of each item against the service model: a BatchGetItem of the delivery
    worker's 20 records took 50-80 ms, holding the DynamoDB lock, where DynamoDB answers in a few.
    The results of the item requests are DynamoDB JSON already (as stream records are): dump them as
    moto dumps those, leaving out the members that are unset, as the serializer does. Every other
    request (errors, table descriptions with their timestamps) keeps `original`."""
    from moto.dynamodb.models.utilities import DynamoJsonEncoder

    def serialized(self: Any, action_result: Any) -> Any:
        result = action_result.result
        if self._get_action() not in ITEM_ACTIONS or not isinstance(result, dict):
            return original(self, action_result)
        body = json.dumps({k: v for k, v in result.items() if v is not None}, cls=DynamoJsonEncoder)
        return 200, {"Content-Type": "application/json", **self.response_headers}, body

    return serialized


def _item_results_dumped_directly() -> None:
    from moto.dynamodb.responses import DynamoHandler

    DynamoHandler.serialized = item_results_dumped_directly(DynamoHandler.serialized)  # type: ignore[method-assign]


def item_requests_parsed_directly(original: Callable[..., Any]) -> Callable[..., Any]:
    """moto 5.2 also parses every DynamoDB request through its model-driven parser (~1 ms for a small
    PutItem, ~10 ms for the delivery worker's TransactWriteItems of 18 items), holding the DynamoDB lock.
    For the item requests that parser changes nothing but binary values (base64 text -> bytes): a body
    with no binary attribute value (no "B" or "BS" member; anything that looks like one, an attribute
    named B included, takes `original`) is read as the JSON it is."""

    def parse_parameters(self: Any, request: Any) -> None:
        body = request.data or b"{}"
        if self._get_action() in ITEM_ACTIONS and b'"B"' not in body and b'"BS"' not in body:
            self.params = json.loads(body)
        else:
            original(self, request)

    return parse_parameters


def _item_requests_parsed_directly() -> None:
    from moto.dynamodb.responses import DynamoHandler

    DynamoHandler.parse_parameters = item_requests_parsed_directly(DynamoHandler.parse_parameters)  # type: ignore[method-assign]


def freeze_survivors_of_full_collections() -> None:
    """The emulator keeps every item, stream record and message in memory, and a full garbage collection
    walked all of it: 110-220 ms, several times a minute under load, stalling every request in flight
    (the spikes in the benchmarks' p99 and max). After each full collection its survivors are frozen
    (`gc.freeze`), so the next one walks only newer objects. Reference counting still frees everything
    that is not in a reference cycle; a frozen object that later becomes cyclic garbage is never
    reclaimed, which a development emulator can afford."""
    import gc

    def freeze_survivors(phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2:
            gc.freeze()

    gc.callbacks.append(freeze_survivors)


def _fifo_redelivery_in_order() -> None:
    """moto releases a FIFO group's expired in-flight messages one at a time, so a later message can
    come back before an earlier one; release every visible one before the group check runs."""
    from moto.sqs import models

    original = models.SQSBackend.receive_message

    def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        queue = self.get_queue(queue_name)
        for message in list(queue.pending_messages):
            if message.visible:
                queue.pending_messages.discard(message)
        return original(self, queue_name, *args, **kwargs)

    models.SQSBackend.receive_message = receive_message  # type: ignore[method-assign]


def _serve(port: int) -> Any:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    class Dispatcher(DomainDispatcherApplication):  # type: ignore[misc]
        """Remembers which backend serves a host: moto recomputes it (~0.7 ms) on every request."""

        backend_by_host: dict[str | None, Any] = {}  # noqa: RUF012 - one dispatcher per process

        def get_backend_for_host(self, host: str | None) -> Any:
            if host not in self.backend_by_host:
                self.backend_by_host[host] = super().get_backend_for_host(host)
            return self.backend_by_host[host]

    class KeepAliveRequestHandler(MotoRequestHandler):  # type: ignore[misc]
        """werkzeug's server closes every connection after one response, since http.server cannot
        skip a request body the app left unread; every AWS call then paid for a new connection and
        a new server thread (about a fifth of the emulator's CPU under load). Here a body of known
        length is read whole before the app runs, so the connection can serve the next request.
        Chunked bodies keep werkzeug's behaviour (it closes the connection)."""

        keep_alive = False
        # Headers and body leave in separate writes: with Nagle's algorithm on, a kept connection
        # would hold the body back until the client's delayed ACK (~40 ms).
        disable_nagle_algorithm = True

        def run_wsgi(self) -> None:
            socket_reader, self.keep_alive = self.rfile, False
            try:
                super().run_wsgi()
            finally:
                self.rfile = socket_reader  # the next request line comes from the socket

        def make_environ(self) -> dict[str, Any]:
            environ: dict[str, Any] = super().make_environ()
            length = environ.get("CONTENT_LENGTH") or "0"
            if environ.get("wsgi.input_terminated") or not length.isdigit():
                return environ
            environ["wsgi.input"] = io.BytesIO(self.rfile.read(int(length)))
            # After the response werkzeug reads whatever the client sent since, to discard it: that
            # would be the next request, so let it read from an empty buffer instead.
            self.rfile, self.keep_alive = io.BytesIO(), True
            return environ

        def send_header(self, keyword: str, value: str) -> None:
            reusable = self.keep_alive and not self.close_connection  # unless the client asked to close
            if reusable and keyword.lower() == "connection" and value.lower() == "close":
                return
            super().send_header(keyword, value)

    app = _Serialized(Dispatcher(create_backend_app))
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=KeepAliveRequestHandler)
    threading.Thread(target=server.serve_forever, name="moto", daemon=True).start()
    return server


def _exit_on_stdin_eof() -> None:
    try:
        while sys.stdin.buffer.read(65536):
            pass
    finally:
        os._exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # werkzeug logs every request at INFO; only real problems should reach the runner's stderr.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    freeze_survivors_of_full_collections()
    _bound_stream_iterators()
    _transactions_without_table_copies()
    _queries_read_one_partition()
    _stream_records_dumped_directly()
    _item_results_dumped_directly()
    _item_requests_parsed_directly()
    _fifo_redelivery_in_order()
    server = _serve(args.port)
    port = server.server_address[1]
    sys.stdout.write(json.dumps({"port": port}) + "\n")
    sys.stdout.flush()
    # Nothing else may write to the pipe the runner stopped reading: send stray output to stderr.
    os.dup2(2, 1)
    _exit_on_stdin_eof()


if __name__ == "__main__":
    main()
