"""Payload templates: validation at save time, rendering per event, and escaping."""

from __future__ import annotations

import json
from typing import Any

import pytest

from leadhub.domain.payload_template import (
    MAX_TEMPLATE_BYTES,
    PLACEHOLDERS,
    placeholder_values,
    render,
    validate_template,
)
from leadhub.errors import InvalidRequest


def envelope(**data: Any) -> dict[str, Any]:
    lead = {
        "leadId": "lead_1",
        "accountId": "acc_1",
        "phone": "+14155552671",
        "name": "Ada King Lovelace",
        "email": "ada@example.com",
        "tags": ["vip", "spring"],
        "customFields": {"utm_source": "google", "Budget (USD)": "5000"},
        "source": "webhook",
        "capturedAt": "2026-11-23T09:00:00.000Z",
        "updatedAt": "2026-11-23T09:00:00.000Z",
        "lastActivityAt": "2026-11-23T10:00:00.000Z",
        "reEngagedAt": None,
    }
    lead.update(data)
    return {
        "id": "evt_1",
        "event": "lead.created",
        "timestamp": "2026-11-23T09:00:01.000Z",
        "accountId": "acc_1",
        "data": lead,
    }


def rendered(template: Any, env: dict[str, Any] | None = None) -> Any:
    body = render(validate_template(template), env or envelope())
    assert isinstance(body, bytes)
    return json.loads(body)


def problem(template: Any) -> str:
    with pytest.raises(InvalidRequest) as caught:
        validate_template(template)
    [detail] = caught.value.details
    assert detail.field == "payloadTemplate"
    assert caught.value.status_code == 400
    return detail.message


class TestValidate:
    def test_returns_compact_json_keeping_key_order(self) -> None:
        text = '{\n  "b": "{{name}}",\n  "a": [1, 2.5, true, null, "é"]\n}'
        assert validate_template(text) == '{"b":"{{name}}","a":[1,2.5,true,null,"é"]}'

    def test_accepts_parsed_objects_and_arrays(self) -> None:
        assert validate_template({"x": "{{phone}}"}) == '{"x":"{{phone}}"}'
        assert validate_template([{"x": "{{ phone }}"}]) == '[{"x":"{{ phone }}"}]'

    def test_every_listed_placeholder_is_accepted(self) -> None:
        template = {name: "{{" + name + "}}" for name in PLACEHOLDERS}
        assert json.loads(validate_template(template)) == template

    @pytest.mark.parametrize(
        ("template", "message"),
        [
            ('{"a": ', "not valid JSON: Expecting value at line 1 column 7"),
            ("", "not valid JSON: Expecting value"),
            ('{"a": NaN}', "not valid JSON: NaN is not valid JSON"),
            ('{"a": Infinity}', "not valid JSON: Infinity is not valid JSON"),
            ('{"a": 1e999}', "not valid JSON: 1e999 is out of range"),
            ('{"a": ' + "1" * 5000 + "}", "not valid JSON: a number is longer than 1000 characters"),
            ('{"a": 1, "a": 2}', "not valid JSON: duplicate key 'a'"),
            ('"{{name}}"', "must be a JSON object or array, not str"),
            ("42", "must be a JSON object or array, not int"),
            ("null", "must be a JSON object or array, not NoneType"),
            ("[" * 5000 + "]" * 5000, "nested deeper than 100 levels"),
            ('{"a": "\\ud800"}', "unpaired surrogate"),
        ],
    )
    def test_invalid_json_is_refused(self, template: str, message: str) -> None:
        assert message in problem(template)

    def test_depth_is_bounded(self) -> None:
        assert "nested deeper than 32 levels" in problem("[" * 33 + "]" * 33)
        assert validate_template("[" * 32 + "]" * 32)

    def test_a_parsed_value_that_is_not_json_is_refused(self) -> None:
        assert "not valid JSON" in problem({"a": float("nan")})
        assert "not valid JSON" in problem({"a": {1, 2}})

    def test_size_limit_applies_to_the_compact_form(self) -> None:
        filler = "x" * (MAX_TEMPLATE_BYTES - len('{"a":""}'))
        assert validate_template({"a": filler})
        assert problem({"a": filler + "x"}) == f"at most {MAX_TEMPLATE_BYTES} bytes of JSON"
        # Multi-byte characters count as bytes, and whitespace of a pretty-printed template does not.
        assert "at most" in problem({"a": "é" * (MAX_TEMPLATE_BYTES // 2)})
        assert validate_template('{"a":' + " " * MAX_TEMPLATE_BYTES + '"b"}') == '{"a":"b"}'
        assert "at most" in problem("[" + " " * 10 * MAX_TEMPLATE_BYTES + "]")

    def test_unknown_placeholders_are_named_and_the_allowed_ones_listed(self) -> None:
        message = problem({"a": "Hi {{nme}}", "b": ["{{firstName}} {{ lastName }}"], "c": "{{custom.}}"})
        assert "unknown placeholder {{nme}} at $.a" in message
        assert "unknown placeholder {{lastName}} at $.b[0]" in message
        assert "unknown placeholder {{custom.}} at $.c" in message
        assert "Allowed placeholders: {{event}}, {{eventId}}" in message
        assert "{{custom.KEY}}" in message

    def test_placeholders_in_keys_are_refused(self) -> None:
        assert "not in keys" in problem({"{{name}}": "x"})

    def test_custom_keys_may_hold_any_characters_but_braces(self) -> None:
        assert validate_template({"a": "{{custom.Budget (USD)}}", "b": "{{custom.é-1}}"})
        assert "unknown placeholder" in problem({"a": "{{custom." + "k" * 65 + "}}"})

    def test_text_that_is_not_a_placeholder_is_left_alone(self) -> None:
        template = {"a": "{name}", "b": "{{name}", "c": "} {{", "d": "{{}"}
        assert json.loads(validate_template(template)) == template
        assert rendered(template) == template


class TestRender:
    def test_fills_every_placeholder_as_text(self) -> None:
        template = {name: "{{" + name + "}}" for name in PLACEHOLDERS if name != "custom.KEY"}
        assert rendered(template) == {
            "event": "lead.created",
            "eventId": "evt_1",
            "timestamp": "2026-11-23T09:00:01.000Z",
            "accountId": "acc_1",
            "leadId": "lead_1",
            "name": "Ada King Lovelace",
            "firstName": "Ada",
            "phone": "+14155552671",
            "email": "ada@example.com",
            "tags": "vip, spring",
            "capturedAt": "2026-11-23T09:00:00.000Z",
            "lastActivityAt": "2026-11-23T10:00:00.000Z",
            "conversationId": "",
        }

    def test_placeholders_inside_text_and_nested_values(self) -> None:
        template = {
            "contact": {"label": "{{firstName}} ({{ phone }})", "list": ["{{email}}", 7, True, None]},
            "source": "leadhub/{{event}}",
        }
        assert rendered(template) == {
            "contact": {"label": "Ada (+14155552671)", "list": ["ada@example.com", 7, True, None]},
            "source": "leadhub/lead.created",
        }

    def test_an_array_template(self) -> None:
        assert rendered(["{{leadId}}", {"n": "{{name}}"}]) == ["lead_1", {"n": "Ada King Lovelace"}]

    def test_custom_fields(self) -> None:
        template = {"a": "{{custom.utm_source}}", "b": "{{custom.Budget (USD)}}", "c": "{{custom.nope}}"}
        assert rendered(template) == {"a": "google", "b": "5000", "c": ""}

    def test_missing_and_null_values_are_empty_strings(self) -> None:
        env = envelope(name=None, email=None, tags=[], customFields={})
        del env["data"]["phone"]
        template = {k: "{{" + k + "}}" for k in ("name", "firstName", "email", "tags", "phone")}
        template["custom"] = "{{custom.utm_source}}"
        assert rendered(template, env) == dict.fromkeys(template, "")

    def test_an_envelope_without_data(self) -> None:
        env = {"id": "evt_2", "event": "webhook.verify", "timestamp": "t", "accountId": "acc_1"}
        assert rendered({"e": "{{event}}", "n": "{{name}}", "c": "{{custom.x}}"}, env) == {
            "e": "webhook.verify",
            "n": "",
            "c": "",
        }

    def test_conversation_events_fill_conversation_id(self) -> None:
        env = envelope(conversationId="conv_9")
        assert rendered({"c": "{{conversationId}}"}, env) == {"c": "conv_9"}

    def test_non_string_values_render_as_their_json_text(self) -> None:
        env = envelope(customFields={"n": 5, "b": True})
        assert rendered({"n": "{{custom.n}}", "b": "{{custom.b}}"}, env) == {"n": "5", "b": "true"}

    def test_first_name_is_the_first_word(self) -> None:
        assert placeholder_values(envelope(name="  Grace\tBrewster Hopper "))["firstName"] == "Grace"
        assert placeholder_values(envelope(name="Cher"))["firstName"] == "Cher"

    def test_values_are_not_expanded_again(self) -> None:
        env = envelope(name="{{phone}} {{custom.utm_source}}")
        assert rendered({"n": "{{name}}"}, env) == {"n": "{{phone}} {{custom.utm_source}}"}

    def test_keys_numbers_and_literals_are_copied(self) -> None:
        template = {"name": "name", "n": 1.5, "big": 12345678901234567890, "t": False}
        assert rendered(template) == template

    def test_output_is_compact_utf8(self) -> None:
        body = render(validate_template({"n": "{{name}}"}), envelope(name="Zoë"))
        assert body == '{"n":"Zoë"}'.encode()

    @pytest.mark.parametrize(
        "name",
        [
            'Robert "Bobby" Tables',
            "back\\slash \\u0041 \\",
            "line\nbreak\r\ttab",
            "</script><script>alert(1)</script>",
            "nul\x00 bell\x07 del\x7f",
            "李小龍 🐉 Zoë ﷽",
            '"}, "injected": true, "x": {"',
            "\u2028\u2029",
            "{{",
        ],
    )
    def test_hostile_values_stay_inside_their_string(self, name: str) -> None:
        template = validate_template('{"contact": {"name": "{{name}}", "hi": "Hi {{firstName}}!"}, "n": 1}')
        body = render(template, envelope(name=name, tags=[name, "x"], customFields={"k": name}))
        parsed = json.loads(body.decode("utf-8"))
        assert parsed["contact"]["name"] == name
        assert set(parsed) == {"contact", "n"}
        assert set(parsed["contact"]) == {"name", "hi"}

    def test_hostile_values_in_tags_and_custom_fields(self) -> None:
        evil = '"]}\\'
        env = envelope(tags=[evil, "b"], customFields={"k": evil})
        assert rendered({"t": "{{tags}}", "c": "{{custom.k}}"}, env) == {"t": f"{evil}, b", "c": evil}

    def test_an_unpaired_surrogate_in_a_value_is_escaped(self) -> None:
        body = render(validate_template({"n": "{{name}}"}), envelope(name="a\ud800b"))
        assert body == b'{"n":"a\\ud800b"}'

    def test_a_template_with_a_withdrawn_placeholder_renders_it_empty(self) -> None:
        # Stored templates were validated, but the list of placeholders may shrink later.
        assert json.loads(render('{"a": "{{gone}}x"}', envelope())) == {"a": "x"}
