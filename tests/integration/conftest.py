"""Integration fixtures: the template's resources provisioned in moto (in process, no network) and the
real handlers, imported fresh for every test with the environment the template gives them."""

from __future__ import annotations

import base64
import functools
import gc
import importlib.util
import itertools
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl

import pytest
from moto import mock_aws
from moto.kms import models as moto_kms_models

from leadhub.platform.adapters.aws_clients import clear_clients, client
from leadhub.platform.timestamps import utc_now
from local.cfn import Template
from local.emulator import ClientFactory
from local.provision import provision
from local.sam import FunctionSpec, build_function_specs

REPO_ROOT = Path(__file__).resolve().parents[2]
EVENTS_DIR = REPO_ROOT / "events"
REGION = "us-east-1"
ADMIN_KEY = "admin-key-for-integration-tests-0123456789"
HOST = "id.execute-api.us-east-1.amazonaws.com"

# Modules that functions/management_api/app.py and functions/dashboard/app.py import from their own
# directory (settings are read when `deps` or `wiring` is imported), dropped from sys.modules so that every
# load sees the test's environment.
_SIBLING_MODULES = ("deps", "schemas", "routes", "api_document", "wiring", "pages")
_load_counter = itertools.count()


@dataclass
class LambdaContext:
    function_name: str = "integration-test"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:integration-test"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class HttpResult:
    status: int
    headers: dict[str, str]
    body: Any  # parsed JSON, or the raw text when the body is not JSON


def _purge_sibling_modules() -> None:
    for name in list(sys.modules):
        if name.partition(".")[0] in _SIBLING_MODULES:
            del sys.modules[name]


def fake_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # botocore would send DynamoDB Streams calls to {account}.streams-ddb..., a host moto does not serve.
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")


def reset_process_caches() -> None:
    """What a fresh execution environment would not have: cached AWS clients. (Their botocore session is
    kept: a new one would parse the service models again, ~0.3 s a test.)"""
    clear_clients()


_shared: dict[str, Any] = {}


def shared_clients() -> ClientFactory:
    """Clients for provisioning and for observing the table, shared by all tests: moto intercepts every
    client, and a boto3 session per test would parse botocore's service models again (~0.3 s a client)."""
    if "clients" not in _shared:
        _shared["clients"] = ClientFactory(None)  # type: ignore[arg-type]
    return _shared["clients"]


@dataclass
class Stack:
    """The provisioned template inside moto, plus an observer client the handlers never use."""

    template: Template
    specs: dict[str, FunctionSpec]
    table_name: str
    stream_arn: str
    kms_key_id: str
    delivery_queue_url: str
    monkeypatch: pytest.MonkeyPatch
    ddb: Any = field(default=None)
    streams: Any = field(default=None)

    def load_function(self, logical_id: str, **env_overrides: str) -> ModuleType:
        """Import the function's app.py afresh (a cold start) with its template environment."""
        spec = self.specs[logical_id]
        for name, value in {**spec.environment, **env_overrides}.items():
            self.monkeypatch.setenv(name, value)
        _purge_sibling_modules()
        self.monkeypatch.syspath_prepend(str(spec.code_dir))
        module_name = f"leadhub_it_{logical_id}_{next(_load_counter)}"
        module_spec = importlib.util.spec_from_file_location(module_name, spec.code_dir / "app.py")
        assert module_spec is not None and module_spec.loader is not None
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        # The handler froze every object of this process (leadhub.platform.cold_start): right for a Lambda
        # environment, but here that is every earlier test's garbage too.
        gc.unfreeze()
        return module

    def items(self) -> list[dict[str, Any]]:
        """Every item of the table (DynamoDB JSON), sorted by key."""
        items: list[dict[str, Any]] = []
        for page in self.ddb.get_paginator("scan").paginate(TableName=self.table_name, ConsistentRead=True):
            items += page["Items"]
        return sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))

    def entities(self, entity: str) -> list[dict[str, Any]]:
        return [i for i in self.items() if i.get("entity", {}).get("S") == entity]


def template() -> Template:
    if "template" not in _shared:
        _shared["template"] = Template.from_file(REPO_ROOT / "template.yaml")
    return _shared["template"]


@functools.cache
def _reused_private_key(key_spec: str) -> Any:
    return moto_kms_models.generate_private_key.__wrapped__(key_spec)  # type: ignore[attr-defined]


def _speed_up_moto_kms(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto gives every KMS key, symmetric ones too, a fresh RSA-2048 key pair (~0.12 s); our key is
    symmetric and never uses it, so one pair per key spec serves every test."""
    original = moto_kms_models.generate_private_key
    wrapper = functools.wraps(original)(lambda key_spec: _reused_private_key(key_spec))
    monkeypatch.setattr(moto_kms_models, "generate_private_key", wrapper)


@contextmanager
def provisioned_stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """template.yaml's resources in a fresh moto, and the admin key in SSM (as an operator would put it)."""
    fake_aws_environment(monkeypatch)
    _speed_up_moto_kms(monkeypatch)
    reset_process_caches()
    try:
        with mock_aws():
            template_ = template()
            clients = shared_clients()
            registry = provision(template_, clients)
            specs = build_function_specs(template_, registry.evaluator, {})
            parameter = specs["ManagementApiFunction"].environment["ADMIN_KEY_PARAMETER"]
            clients.client("ssm").put_parameter(Name=parameter, Value=ADMIN_KEY, Type="SecureString")
            yield Stack(
                template=template_,
                specs=specs,
                table_name=registry.refs["LeadhubTable"],
                stream_arn=registry.attrs["LeadhubTable"]["StreamArn"],
                kms_key_id=registry.refs["SecretsKey"],
                delivery_queue_url=registry.refs["DeliveryQueue"],
                monkeypatch=monkeypatch,
                ddb=clients.client("dynamodb"),
                streams=clients.client("dynamodbstreams"),
            )
    finally:
        reset_process_caches()
        _purge_sibling_modules()


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    with provisioned_stack(monkeypatch) as provisioned:
        yield provisioned


# -- events ------------------------------------------------------------------------------------


def load_event(relative: str, **replacements: str) -> dict[str, Any]:
    """An events/ file with its placeholders (DEMO_WEBHOOK_TOKEN, DEMO_API_KEY, ADMIN_KEY) replaced."""
    text = (EVENTS_DIR / relative).read_text()
    for placeholder, value in replacements.items():
        text = text.replace(placeholder, value)
    return json.loads(text)


def routes_by_module(handler: ModuleType, package: str, names: tuple[str, ...]) -> set[tuple[str, str]]:
    """(rule, module) of every route of the handler's route modules `names` (imported, in its `package`),
    after checking that these are all the modules of that folder that declare a router."""
    declaring = {
        path.stem
        for path in (Path(str(handler.__file__)).parent / package).glob("*.py")
        if "router = Router()" in path.read_text()
    }
    assert set(names) == declaring
    return {(rule, name) for name in names for rule, *_ in sys.modules[f"{package}.{name}"].router._routes}


def http_event(
    method: str,
    path: str,
    *,
    route_key: str,
    headers: dict[str, str] | None = None,
    body: str | bytes | None = None,
    base64_body: bool = False,
    query: str = "",
    path_parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload-2.0 event, shaped like the files in events/."""
    if isinstance(body, bytes):
        body = base64.b64encode(body).decode() if base64_body else body.decode()
    elif body is not None and base64_body:
        body = base64.b64encode(body.encode()).decode()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": {
            "host": HOST,
            "user-agent": "pytest",
            **{k.lower(): v for k, v in (headers or {}).items()},
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api-id",
            "domainName": HOST,
            "domainPrefix": "id",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "pytest",
            },
            "requestId": "it-request",
            "routeKey": route_key,
            "stage": "$default",
            "time": "23/Nov/2026:09:00:00 +0000",
            "timeEpoch": 1795424400000,
        },
        "pathParameters": path_parameters or {},
        "isBase64Encoded": base64_body,
    }
    if query:
        event["queryStringParameters"] = dict(parse_qsl(query, keep_blank_values=True))  # decoded, as API GW
    if body is not None:
        event["body"] = body
    return event


def invoke(module: ModuleType, event: dict[str, Any]) -> HttpResult:
    response = module.lambda_handler(event, LambdaContext())
    raw = response.get("body") or ""
    if response.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode()
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = raw
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    return HttpResult(response["statusCode"], headers, body)


# -- the two functions, warm -------------------------------------------------------------------


@dataclass
class Account:
    account_id: str
    api_key: str
    webhook_token: str
    body: dict[str, Any]


class Api:
    """Invokes the handlers the way API Gateway would: one warm instance of each function."""

    def __init__(self, stack: Stack, webhook_env: dict[str, str] | None = None) -> None:
        self.stack = stack
        self.management = stack.load_function("ManagementApiFunction")
        self.webhook = stack.load_function("LeadWebhookFunction", **(webhook_env or {}))

    def post_lead(
        self,
        token: str,
        body: str | bytes | dict[str, Any],
        *,
        content_type: str | None = "application/json",
        base64_body: bool = False,
        module: ModuleType | None = None,
    ) -> HttpResult:
        if isinstance(body, dict):
            body = json.dumps(body)
        headers = {"content-type": content_type} if content_type else {}
        path = f"/api/webhooks/leads/{token}"
        event = http_event(
            "POST",
            path,
            route_key="POST /api/webhooks/leads/{token}",
            headers=headers,
            body=body,
            base64_body=base64_body,
            path_parameters={"token": token},
        )
        return invoke(module or self.webhook, event)

    def call(
        self,
        method: str,
        path: str,
        *,
        api_key: str | None = None,
        admin_key: str | None = None,
        json_body: Any = None,
        query: str = "",
    ) -> HttpResult:
        headers: dict[str, str] = {}
        if api_key is not None:
            headers["x-api-key"] = api_key
        if admin_key is not None:
            headers["x-admin-key"] = admin_key
        body = None
        if json_body is not None:
            headers["content-type"] = "application/json"
            body = json.dumps(json_body)
        event = http_event(
            method,
            path,
            route_key=f"{method} /api/{{proxy+}}",
            headers=headers,
            body=body,
            query=query,
            path_parameters={"proxy": path.removeprefix("/api/")},
        )
        return invoke(self.management, event)

    def create_account(self, name: str = "Acme", **fields: Any) -> Account:
        result = self.call(
            "POST", "/api/admin/accounts", admin_key=ADMIN_KEY, json_body={"name": name, **fields}
        )
        assert result.status == 201, result.body
        body = result.body
        return Account(body["accountId"], body["apiKey"], body["webhookToken"], body)


@pytest.fixture
def api(stack: Stack) -> Api:
    return Api(stack)


@pytest.fixture
def account(api: Api) -> Account:
    return api.create_account("Acme Realty")


class DynamoCalls:
    """Counts the DynamoDB requests the handlers make through their cached client (botocore hook)."""

    def __init__(self) -> None:
        self.operations: list[str] = []
        client("dynamodb").meta.events.register("before-call.dynamodb", self._record)

    def _record(self, model: Any, **_: Any) -> None:
        self.operations.append(model.name)

    def during(self, action: Callable[[], Any]) -> tuple[Any, list[str]]:
        start = len(self.operations)
        result = action()
        return result, self.operations[start:]


class SharedStack:
    """Base for test classes whose tests all share one stack, handler pair and account (class scope).
    Only for tests that must write nothing (refusals): each still checks that the table is unchanged.
    Such a class must not use the function-scoped `stack` as well (one moto at a time)."""

    @pytest.fixture(scope="class")
    @classmethod
    def stack(cls) -> Iterator[Stack]:
        with pytest.MonkeyPatch.context() as monkeypatch, provisioned_stack(monkeypatch) as provisioned:
            yield provisioned

    @pytest.fixture(scope="class")
    @classmethod
    def api(cls, stack: Stack) -> Api:
        return Api(stack)

    @pytest.fixture(scope="class")
    @classmethod
    def account(cls, api: Api) -> Account:
        return api.create_account("Acme Realty")


@pytest.fixture
def dynamo_calls(stack: Stack) -> DynamoCalls:
    return DynamoCalls()


class Clock:
    """The webhook handler's notion of now (it reads `utc_now` once per request)."""

    def __init__(self, api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = utc_now()
        monkeypatch.setattr(api.webhook, "utc_now", lambda: self.now)

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


@pytest.fixture
def clock(api: Api, monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(api, monkeypatch)
