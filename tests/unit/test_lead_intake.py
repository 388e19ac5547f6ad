"""Lead webhook bodies: content types, decoding and field validation."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadhub import json_text
from leadhub.domain.lead_intake import decode_lead_payload, parse_lead_submission
from leadhub.errors import InvalidRequest, LeadhubError, UnsupportedMediaType
from leadhub.models.lead_submission import (
    MAX_CUSTOM_FIELDS_PER_REQUEST,
    MAX_CUSTOM_KEY_CHARS,
    MAX_CUSTOM_VALUE_CHARS,
    MAX_NAME_CHARS,
    MAX_TAG_CHARS,
    MAX_TAGS_PER_REQUEST,
)
from tests.hostile_input import (
    NOT_CHARSETS,
    Request,
    json_bytes,
    json_values,
    lead_objects,
    plausible_leads,
    requests,
)


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
            (b"[1, 2]", "Body must be a JSON object, not an array"),
            (b'"x"', "Body must be a JSON object, not a string"),
            (b"null", "Body must be a JSON object, not null"),
            (b"-0.5", "Body must be a JSON object, not a number"),
            (b"true", "Body must be a JSON object, not true or false"),
            (b'{"phone": NaN}', "Body is not valid JSON: NaN is not valid JSON"),
            (b"[" * 100_000, "Body is not valid JSON: nested deeper than 100 levels"),
            # Python 3.13 parses ~10,000 levels (3.11 ~1,000): the limit is ours, the same everywhere.
            (
                b'{"x": ' + b"[" * 101 + b"]" * 101 + b"}",
                "Body is not valid JSON: nested deeper than 100 levels",
            ),
            (
                b'{"x": ' + b"[" * 3000 + b"]" * 3000 + b"}",
                "Body is not valid JSON: nested deeper than 100 levels",
            ),
            (b'{"phone": "\xff"}', "Body is not valid utf-8 text"),
            # json.loads would say "Exceeds the limit (4300 digits) … use sys.set_int_max_str_digits()".
            (
                b'{"phone": ' + b"1" * 5000 + b"}",
                "Body is not valid JSON: a number is longer than 1000 characters",
            ),
            (
                b'{"x": -' + b"9" * 1000 + b"}",
                "Body is not valid JSON: a number is longer than 1000 characters",
            ),
            (
                b'{"x": 0.' + b"5" * 1000 + b"}",
                "Body is not valid JSON: a number is longer than 1000 characters",
            ),
            (b'{"x": 1e400}', "Body is not valid JSON: 1e400 is out of range"),
            (b'{"x": -Infinity}', "Body is not valid JSON: -Infinity is not valid JSON"),
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

    @pytest.mark.parametrize(
        "charset",
        [*NOT_CHARSETS, "unicode_escape", "raw_unicode_escape"],
    )
    def test_codecs_that_are_no_charset_are_415(self, charset: str) -> None:
        for media_type in ("application/json", "application/x-www-form-urlencoded"):
            with pytest.raises(UnsupportedMediaType, match=f"Unsupported charset '{charset}'"):
                decode_lead_payload(b'{"phone": "+14155552671"}', f"{media_type}; charset={charset}")

    def test_a_charset_name_with_a_nul_is_415(self) -> None:
        with pytest.raises(UnsupportedMediaType, match="Unsupported charset"):
            decode_lead_payload(b"{}", "application/json; charset=utf-8\x00")

    @pytest.mark.parametrize(
        ("charset", "name"),
        [
            ("utf-16", "Zoë"),
            ("UTF-32-LE", "Zoë"),
            ("windows-1252", "Zoë"),
            ("iso-8859-15", "Zoë €"),
            ("shift_jis", "ゾエ"),
        ],
    )
    def test_real_charsets_are_decoded(self, charset: str, name: str) -> None:
        body = json.dumps({"name": name}, ensure_ascii=False).encode(charset)
        assert decode_lead_payload(body, f"application/json; charset={charset}") == {"name": name}

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            (b"phone=%2B14155552671&name=%FF", "name"),
            (b"phone=%2B14155552671&name=%ED%A0%80", "name"),  # an encoded surrogate is no UTF-8 either
            (b"phone=%2B14155552671&tags=a&tags=%C3", "tags"),
            (b"phone=%2B14155552671&%FFkey=x", "\\udcffkey"),
        ],
    )
    def test_form_fields_whose_bytes_are_not_the_charset_are_named(self, body: bytes, field: str) -> None:
        with pytest.raises(InvalidRequest) as caught:
            decode_lead_payload(body, "application/x-www-form-urlencoded")
        assert fields(caught.value) == {field: "percent-encoded bytes that are not valid utf-8 text"}

    def test_percent_encoded_bytes_follow_the_declared_charset(self) -> None:
        body = b"phone=%2B14155552671&name=Jos%E9"
        assert (
            decode_lead_payload(body, "application/x-www-form-urlencoded; charset=latin-1")["name"] == "José"
        )
        with pytest.raises(InvalidRequest):
            decode_lead_payload(body, "application/x-www-form-urlencoded")

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

    def test_nesting_up_to_the_limit_is_read(self) -> None:
        body = b'{"phone": "+14155552671", "x": ' + b"[" * 99 + b"]" * 99 + b"}"  # 100 levels with the body
        assert parse_lead_submission(decode_lead_payload(body, "application/json"), "US").ignored_fields == [
            "x"
        ]

    def test_floats_are_kept_as_their_json_text(self) -> None:
        body = b'{"phone": "+14155552671", "a": 0.1, "b": -2.5e-3, "c": 1e300, "d": 1e-400, "e": -0.0}'
        lead = parse_lead_submission(decode_lead_payload(body, "application/json"), "US")
        assert lead.custom_fields == {"a": "0.1", "b": "-0.0025", "c": "1e+300", "d": "0.0", "e": "-0.0"}

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            (r'{"phone": "+14155552671", "name": "Ada \ud800"}', "name"),
            (r'{"phone": "+14155552671", "email": "\udfff@example.com"}', "email"),
            (r'{"phone": "+1415555\ud8002671"}', "phone"),
            (r'{"phone": "+14155552671", "tags": ["a", "\udc00"]}', "tags[1]"),
            (r'{"phone": "+14155552671", "tags": "a,\udc00"}', "tags[1]"),
            (r'{"phone": "+14155552671", "utm": "\ud83d"}', "utm"),
        ],
    )
    def test_unpaired_surrogates_are_refused_by_field(self, body: str, field: str) -> None:
        with pytest.raises(InvalidRequest) as caught:
            parse_lead_submission(decode_lead_payload(body.encode(), "application/json"), "US")
        assert fields(caught.value) == {
            field: "Input should be a valid string, unable to parse raw data as a unicode string"
        }

    def test_a_field_name_with_an_unpaired_surrogate_is_named_escaped(self) -> None:
        payload = decode_lead_payload(rb'{"phone": "+14155552671", "a\ud800": "v"}', "application/json")
        with pytest.raises(InvalidRequest) as caught:
            parse_lead_submission(payload, "US")
        assert fields(caught.value) == {"a\\ud800": "field names should be valid unicode strings"}

    def test_an_escaped_surrogate_pair_is_one_character_and_accepted(self) -> None:
        payload = decode_lead_payload(
            rb'{"phone": "+14155552671", "name": "Ada \ud83d\ude00"}', "application/json"
        )
        assert parse_lead_submission(payload, "US").name == "Ada \U0001f600"

    def test_integers_past_the_digit_limit_from_other_callers_are_too_long(self) -> None:
        with pytest.raises(InvalidRequest) as caught:
            parse_lead_submission({"phone": "+14155552671", "n": 10**5000}, "US")
        assert fields(caught.value) == {"n": "custom field values are at most 1000 characters"}


E164 = re.compile(r"\+[1-9][0-9]{6,14}")


class TestProperties:
    """Whatever arrives, decoding and validation end in a payload, a submission or a 4xx — and what is
    accepted can be stored and sent on (UTF-8 text within the limits)."""

    @given(requests(lead_objects))
    def test_decoding_any_request_is_a_payload_or_a_4xx(self, request: Request) -> None:
        try:
            payload = decode_lead_payload(request.body, request.content_type)
        except LeadhubError as exc:
            assert exc.status_code in (400, 415), exc
            assert exc.message
        else:
            assert isinstance(payload, dict)

    @given(
        st.builds(json_bytes, plausible_leads | lead_objects, st.booleans()), st.sampled_from(["US", "GB"])
    )
    def test_any_json_lead_is_accepted_clean_or_refused_by_field(self, body: bytes, region: str) -> None:
        try:
            submission = parse_lead_submission(decode_lead_payload(body, "application/json"), region)
        except InvalidRequest as exc:
            assert exc.details and all(d.message for d in exc.details)  # the field may be "" (its name)
            json.dumps(exc.body()).encode()  # the 400 itself can be sent
            return
        assert E164.fullmatch(submission.phone)
        texts = [submission.phone, submission.name or "", submission.email or "", *submission.tags]
        texts += [*submission.custom_fields, *submission.custom_fields.values(), *submission.ignored_fields]
        for text in texts:
            text.encode()  # no unpaired surrogates: DynamoDB (and every receiver) takes it
        assert len(submission.name or "") <= MAX_NAME_CHARS
        assert len(submission.tags) <= MAX_TAGS_PER_REQUEST
        assert all(0 < len(t) <= MAX_TAG_CHARS for t in submission.tags)
        assert len(submission.extra) <= MAX_CUSTOM_FIELDS_PER_REQUEST
        assert all(0 < len(k) <= MAX_CUSTOM_KEY_CHARS for k in submission.custom_fields)
        assert all(0 < len(v) <= MAX_CUSTOM_VALUE_CHARS for v in submission.custom_fields.values())

    @given(json_values.filter(lambda v: "RawJson" not in repr(v)))
    def test_the_strict_reader_agrees_with_json_on_what_json_writes_finitely(self, value: object) -> None:
        try:
            text = json.dumps(value, allow_nan=False)
        except ValueError:  # NaN or an infinity: json_text refuses what json.dumps would not write
            return
        assert json_text.loads(text) == json.loads(text)
