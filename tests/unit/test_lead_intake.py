"""Lead webhook bodies: content types, decoding and field validation."""

from __future__ import annotations

import json

import pytest

from leadhub.domain.lead_intake import decode_lead_payload, parse_lead_submission
from leadhub.errors import InvalidRequest, UnsupportedMediaType


def fields(error: InvalidRequest) -> dict[str, str]:
    return {d.field: d.message for d in error.details}


class TestDecode:
    @pytest.mark.parametrize(
        "content_type",
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/vnd.api+json",
            None,
            "text/plain",
        ],
    )
    def test_json_object_with_any_json_content_type(self, content_type: str | None) -> None:
        assert decode_lead_payload(b'{"phone": "+14155552671"}', content_type) == {"phone": "+14155552671"}

    def test_form_encoded_with_repeated_and_comma_tags(self) -> None:
        body = b"name=Grace+Hopper&phone=%2B14155552671&tags=a&tags=b,c&tags[]=d&x=1&x=2"
        payload = decode_lead_payload(body, "application/x-www-form-urlencoded")
        assert payload == {
            "name": "Grace Hopper",
            "phone": "+14155552671",
            "tags": ["a", "b", "c", "d"],
            "x": "2",
        }

    def test_declared_charset_is_honoured(self) -> None:
        body = "name=Jos%E9&phone=1".encode("latin-1")
        assert (
            decode_lead_payload(body, "application/x-www-form-urlencoded; charset=ISO-8859-1")["name"]
            == "José"
        )
        assert decode_lead_payload(
            '{"name": "Zoë"}'.encode("latin-1"), "application/json; charset=latin-1"
        ) == {"name": "Zoë"}

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            (b'{"phone": "+1"', "Body is not valid JSON: Expecting ',' delimiter at line 1 column 15"),
            (b"", "Body is empty: send a JSON object with at least a phone"),
            (b"[1, 2]", "Body must be a JSON object, not list"),
            (b'"x"', "Body must be a JSON object, not str"),
            (b'{"phone": NaN}', "Body is not valid JSON: NaN is not valid JSON"),
            (b"[" * 100_000, "Body is not valid JSON: nested too deeply"),
            (b'{"phone": "\xff"}', "Body is not valid utf-8 text"),
        ],
    )
    def test_malformed_json_is_a_precise_400(self, body: bytes, message: str) -> None:
        with pytest.raises(InvalidRequest) as caught:
            decode_lead_payload(body, "application/json")
        assert caught.value.message == message
        assert fields(caught.value) == {"body": message}

    @pytest.mark.parametrize(
        "content_type", ["application/xml", "multipart/form-data; boundary=x", "image/png"]
    )
    def test_other_media_types_are_415(self, content_type: str) -> None:
        with pytest.raises(
            UnsupportedMediaType, match="send application/json or application/x-www-form-urlencoded"
        ):
            decode_lead_payload(b"<x/>", content_type)

    def test_unknown_charset_is_415(self) -> None:
        with pytest.raises(UnsupportedMediaType, match="Unsupported charset 'klingon'"):
            decode_lead_payload(b"{}", "application/json; charset=klingon")

    def test_too_many_form_fields_is_400(self) -> None:
        body = "&".join(f"f{i}=v" for i in range(300)).encode()
        with pytest.raises(InvalidRequest, match="more than 200 fields"):
            decode_lead_payload(body, "application/x-www-form-urlencoded")


class TestParse:
    def test_phone_is_normalised_to_e164_with_the_account_region(self) -> None:
        assert parse_lead_submission({"phone": "(415) 555-2671"}, "US").phone == "+14155552671"
        assert parse_lead_submission({"phone": "020 7946 0958"}, "GB").phone == "+442079460958"
        assert parse_lead_submission({"phone": "+44 20 7946 0958"}, "US").phone == "+442079460958"

    def test_numeric_phone_is_read_as_international(self) -> None:
        assert parse_lead_submission({"phone": 14155552671}, "US").phone == "+14155552671"

    @pytest.mark.parametrize(
        ("payload", "field", "message"),
        [
            ({}, "phone", "Field required"),
            ({"phone": ""}, "phone", "String should have at least 1 character"),
            ({"phone": "12"}, "phone", "not a valid phone number (use E.164, e.g. +14155552671; region US)"),
            ({"phone": "call me"}, "phone", "not a phone number (use E.164, e.g. +14155552671; region US)"),
            ({"phone": True}, "phone", "Input should be a valid string"),
            ({"phone": {"n": 1}}, "phone", "Input should be a valid string"),
            ({"phone": "+14155552671", "name": ["Ada"]}, "name", "Input should be a valid string"),
            (
                {"phone": "+14155552671", "name": "x" * 201},
                "name",
                "String should have at most 200 characters",
            ),
            ({"phone": "+14155552671", "tags": [1]}, "tags[0]", "Input should be a valid string"),
            ({"phone": "+14155552671", "tags": ["x" * 65]}, "tags", "tags are at most 64 characters"),
            (
                {"phone": "+14155552671", "tags": [f"t{i}" for i in range(51)]},
                "tags",
                "at most 50 tags per request",
            ),
            (
                {"phone": "+14155552671", "note": "x" * 1001},
                "note",
                "custom field values are at most 1000 characters",
            ),
            ({"phone": "+14155552671", "k" * 65: "v"}, "k" * 65, "field names are 1 to 64 characters"),
        ],
    )
    def test_invalid_fields_are_named(self, payload: dict, field: str, message: str) -> None:
        with pytest.raises(InvalidRequest) as caught:
            parse_lead_submission(payload, "US")
        assert fields(caught.value)[field] == message

    def test_invalid_email_is_explained(self) -> None:
        with pytest.raises(InvalidRequest) as caught:
            parse_lead_submission({"phone": "+14155552671", "email": "ada@"}, "US")
        assert "There must be something after the @-sign" in fields(caught.value)["email"]

    def test_every_problem_is_reported_at_once(self) -> None:
        with pytest.raises(InvalidRequest) as caught:
            parse_lead_submission({"phone": "12", "email": "nope", "name": 5}, "US")
        assert set(fields(caught.value)) == {"phone", "email", "name"}

    def test_known_fields_are_cleaned(self) -> None:
        lead = parse_lead_submission(
            {"phone": "+14155552671", "name": "  Ada  ", "email": "Ada@Example.COM", "tags": " a, b ,a,, "},
            "US",
        )
        assert (lead.name, lead.email, lead.tags) == ("Ada", "Ada@example.com", ["a", "b"])

    def test_blank_name_and_email_count_as_absent(self) -> None:
        lead = parse_lead_submission({"phone": "+14155552671", "name": " ", "email": ""}, "US")
        assert (lead.name, lead.email) == (None, None)

    def test_extra_fields_become_custom_fields(self) -> None:
        payload = {
            "phone": "+14155552671",
            "utm_source": " newsletter ",
            "budget": 1200,
            "ratio": 0.5,
            "consent": True,
            "empty": "",
            "nothing": None,
            "address": {"city": "London"},
            "interests": ["a"],
        }
        lead = parse_lead_submission(payload, "US")
        assert lead.custom_fields == {
            "utm_source": "newsletter",
            "budget": "1200",
            "ratio": "0.5",
            "consent": "true",
        }
        assert lead.ignored_fields == ["address", "interests"]

    def test_more_than_fifty_custom_fields_is_400(self) -> None:
        payload = {"phone": "+14155552671", **{f"f{i}": "v" for i in range(51)}}
        with pytest.raises(InvalidRequest) as caught:
            parse_lead_submission(payload, "US")
        assert fields(caught.value) == {"body": "at most 50 custom fields per request"}

    def test_json_numbers_round_trip_as_text(self) -> None:
        payload = json.loads('{"phone": "+14155552671", "big": 12345678901234567890}')
        assert parse_lead_submission(payload, "US").custom_fields == {"big": "12345678901234567890"}
