"""Ids, cursors, the TTL cache, HTTP body decoding and settings."""

from __future__ import annotations

import base64
import json
import time
from decimal import Decimal

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from leadhub.platform.errors import InvalidRequest, PayloadTooLarge
from leadhub.platform.ids import decode_cursor, derived_id, encode_cursor, secret_token, sortable_id
from leadhub.platform.settings import LeadWebhookSettings, SettingsError, load_settings
from leadhub.platform.ttl_cache import TtlCache
from leadhub.platform.web import json_response, raw_body


def test_sortable_ids_sort_by_creation_time(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([1_000_000_000_000_000, 1_000_000_001_000_000, 1_000_000_002_000_000])
    monkeypatch.setattr(time, "time_ns", lambda: next(clock))
    ids = [sortable_id("aud") for _ in range(3)]
    assert ids == sorted(ids)
    assert len({i[:14] for i in ids}) == 3


def test_derived_ids_are_stable_and_distinct() -> None:
    assert derived_id("lead", "a", "b") == derived_id("lead", "a", "b")
    assert derived_id("lead", "a", "b") != derived_id("lead", "ab", "")
    assert len(derived_id("lead", "a")) == len("lead_") + 26


def test_secret_tokens_carry_at_least_128_random_bits() -> None:
    tokens = {secret_token("lht") for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(len(t) - len("lht_") == 32 for t in tokens)  # 24 random bytes, base64url


def test_cursors_round_trip_and_garbage_is_rejected() -> None:
    key = {"pk": "ACCOUNT#a", "sk": "LEAD#b"}
    assert decode_cursor(encode_cursor(key)) == key
    assert decode_cursor("!!!") is None
    assert decode_cursor(base64.urlsafe_b64encode(b"\xff\xfe").decode()) is None


class TestTtlCache:
    def test_entries_expire_and_misses_are_cached_too(self) -> None:
        now = [0.0]
        loads: list[str] = []
        cache: TtlCache[str, str | None] = TtlCache(60, clock=lambda: now[0])

        def load(key: str) -> str | None:
            loads.append(key)
            return None if key == "missing" else key.upper()

        assert cache.get_or_load("a", load) == "A"
        assert cache.get_or_load("missing", load) is None
        now[0] = 59.9
        assert cache.get_or_load("a", load) == "A"
        assert cache.get_or_load("missing", load) is None
        assert loads == ["a", "missing"]
        now[0] = 60.0
        cache.get_or_load("a", load)
        assert loads == ["a", "missing", "a"]

    def test_the_cache_is_bounded(self) -> None:
        cache: TtlCache[int, int] = TtlCache(60, max_entries=3)
        for i in range(10):
            cache.get_or_load(i, lambda k: k)
        loads: list[int] = []
        cache.get_or_load(0, lambda k: loads.append(k) or k)
        assert loads == [0]

    def test_zero_ttl_disables_caching(self) -> None:
        cache: TtlCache[str, int] = TtlCache(0)
        calls = []
        cache.get_or_load("a", lambda k: calls.append(k) or 1)
        cache.get_or_load("a", lambda k: calls.append(k) or 1)
        assert calls == ["a", "a"]


class TestRawBody:
    def event(self, body: str | None, encoded: bool) -> APIGatewayProxyEventV2:
        return APIGatewayProxyEventV2({"body": body, "isBase64Encoded": encoded, "headers": {}})

    def test_base64_bodies_are_decoded_to_the_exact_bytes(self) -> None:
        data = b"name=Jos\xe9&phone=1"
        assert raw_body(self.event(base64.b64encode(data).decode(), True), 100) == data

    def test_plain_bodies_are_utf8_bytes(self) -> None:
        assert raw_body(self.event('{"a": "é"}', False), 100) == '{"a": "é"}'.encode()
        assert raw_body(self.event(None, False), 100) == b""

    def test_invalid_base64_is_400(self) -> None:
        with pytest.raises(InvalidRequest, match="not valid base64"):
            raw_body(self.event("***", True), 100)

    def test_oversized_bodies_are_413_encoded_or_not(self) -> None:
        with pytest.raises(PayloadTooLarge):
            raw_body(self.event("x" * 101, False), 100)
        with pytest.raises(PayloadTooLarge):
            raw_body(self.event(base64.b64encode(b"x" * 101).decode(), True), 100)
        with pytest.raises(PayloadTooLarge):
            raw_body(self.event("A" * 10_000, True), 100)


def test_invalid_settings_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "t")
    monkeypatch.setenv("TOKEN_CACHE_SECONDS", "600")
    with pytest.raises(SettingsError, match="TOKEN_CACHE_SECONDS: Input should be less than or equal to 60"):
        load_settings(LeadWebhookSettings)
    monkeypatch.delenv("TABLE_NAME")
    monkeypatch.setenv("TOKEN_CACHE_SECONDS", "5")
    with pytest.raises(SettingsError, match="TABLE_NAME: Field required"):
        load_settings(LeadWebhookSettings)


def test_a_setting_several_functions_read_is_declared_once() -> None:
    """Every function's settings class: an environment variable read by two of them is a shared setting,
    so both read it with the same default and bounds."""
    import dataclasses

    from leadhub.platform import settings as settings_package

    declared: dict[str, dict[tuple[object, ...], list[str]]] = {}
    for name in settings_package._SETTINGS_MODULES:
        for spec in dataclasses.fields(getattr(settings_package, name)):
            rules = tuple(sorted(spec.metadata["rules"].items()))
            key = (spec.default, rules, spec.metadata["check"])
            declared.setdefault(spec.metadata["env"], {}).setdefault(key, []).append(name)
    assert {env: specs for env, specs in declared.items() if len(specs) > 1} == {}
    read_by_several = {
        env
        for env, specs in declared.items()
        if len({cls for classes in specs.values() for cls in classes}) > 1
    }
    inherited = {"TABLE_NAME", "DEFAULT_PHONE_REGION"}  # BaseSettings'
    # Classes that other functions' classes extend: their fields are one declaration.
    bases = (settings_package.ProviderApiSettings, settings_package.WebhookEndpointSettings)
    inherited |= {spec.metadata["env"] for base in bases for spec in dataclasses.fields(base)}
    assert read_by_several - inherited <= set(settings_package._SHARED)


def test_json_responses_carry_exact_provider_numbers_as_json_numbers() -> None:
    response = json_response(200, {"priority": Decimal("10"), "ratio": Decimal("0.5")})
    assert json.loads(response.body) == {"priority": 10, "ratio": 0.5}
