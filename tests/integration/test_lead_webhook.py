"""POST /api/webhooks/leads/{token} through the real handler, against the template's table in moto."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import event, given, settings

from tests.hostile_input import NOT_CHARSETS, Request, lead_objects, plausible_leads, requests, weighted
from tests.integration.conftest import Account, Api, SharedStack, Stack, invoke, load_event

PHONE = "+14155552671"


def lead_event(name: str, account: Account) -> dict[str, Any]:
    return load_event(f"lead_webhook/{name}", DEMO_WEBHOOK_TOKEN=account.webhook_token)


def stored_lead(stack: Stack, lead_id: str) -> dict[str, Any]:
    [item] = [i for i in stack.entities("lead") if i["leadId"]["S"] == lead_id]
    return item


class TestSampleEvents:
    """Every file in events/lead_webhook, exactly as `make invoke` would send it."""

    def test_new_lead_is_created_with_its_fields_and_an_audit_entry(
        self, api: Api, stack: Stack, account: Account
    ) -> None:
        result = invoke(api.webhook, lead_event("new-lead.json", account))

        assert result.status == 201
        assert result.headers["content-type"] == "application/json"
        assert result.body == {"leadId": result.body["leadId"], "created": True}
        item = stored_lead(stack, result.body["leadId"])
        assert item["accountId"] == {"S": account.account_id}
        assert item["phone"] == {"S": PHONE}
        assert item["name"] == {"S": "Ada Lovelace"}
        assert item["email"] == {"S": "ada@example.com"}
        assert item["tags"] == {"L": [{"S": "demo"}, {"S": "webinar"}]}
        assert item["customFields"] == {"M": {"utm_source": {"S": "newsletter"}}}
        assert item["source"] == {"S": "webhook"}
        [audit] = [a for a in stack.entities("audit") if a["action"]["S"] == "lead.created"]
        assert audit["source"] == {"S": "webhook"}
        assert audit["target"] == {"M": {"leadId": {"S": result.body["leadId"]}}}

    def test_duplicate_phone_answers_200_with_the_same_lead_and_merges_it(
        self, api: Api, stack: Stack, account: Account
    ) -> None:
        first = invoke(api.webhook, lead_event("new-lead.json", account))
        # "(415) 555-2671" is the same number in the account's default region (US).
        again = invoke(api.webhook, lead_event("duplicate-lead.json", account))

        assert first.status == 201
        assert again.status == 200
        assert again.body == {"leadId": first.body["leadId"], "created": False}
        assert len(stack.entities("lead")) == 1
        item = stored_lead(stack, first.body["leadId"])
        assert item["name"] == {"S": "Ada Lovelace"}  # kept: the duplicate sent no name
        assert item["tags"] == {"L": [{"S": "demo"}, {"S": "webinar"}, {"S": "vip"}]}
        assert item["customFields"] == {
            "M": {"utm_source": {"S": "newsletter"}, "company": {"S": "Analytical Engines Ltd"}}
        }
        assert item["version"] == {"N": "2"}
        # Only the creation is audited.
        assert [a["action"]["S"] for a in stack.entities("audit")].count("lead.created") == 1

    def test_form_encoded_base64_body_is_accepted(self, api: Api, stack: Stack, account: Account) -> None:
        event = lead_event("form-encoded-lead.json", account)
        assert event["isBase64Encoded"] is True

        result = invoke(api.webhook, event)

        assert result.status == 201
        assert result.body["created"] is True
        item = stored_lead(stack, result.body["leadId"])
        assert item["phone"] == {"S": "+442079460958"}
        assert item["name"] == {"S": "Grace Hopper"}
        assert item["email"] == {"S": "grace@example.com"}
        assert item["tags"] == {"L": [{"S": "navy"}, {"S": "cobol"}]}
        assert item["customFields"] == {"M": {"campaign": {"S": "spring"}}}

    def test_malformed_json_is_400_with_details(self, api: Api, stack: Stack, account: Account) -> None:
        before = stack.items()
        result = invoke(api.webhook, lead_event("malformed-json.json", account))

        message = "Body is not valid JSON: Expecting ',' delimiter at line 1 column 40"
        assert result.status == 400
        assert result.body == {"error": message, "details": [{"field": "body", "message": message}]}
        assert stack.items() == before

    def test_invalid_fields_are_400_with_a_message_per_field(
        self, api: Api, stack: Stack, account: Account
    ) -> None:
        before = stack.items()
        result = invoke(api.webhook, lead_event("invalid-fields.json", account))

        assert result.status == 400
        assert result.body["error"] == "Invalid lead"
        assert sorted(result.body["details"], key=lambda d: d["field"]) == [
            {"field": "email", "message": "An email address must have an @-sign."},
            {"field": "name", "message": "Input should be a valid string"},
            {
                "field": "phone",
                "message": "not a valid phone number (use E.164, e.g. +14155552671; region US)",
            },
        ]
        assert stack.items() == before

    def test_unknown_token_is_401(self, api: Api, stack: Stack, account: Account) -> None:
        before = stack.items()
        result = invoke(api.webhook, lead_event("unknown-token.json", account))

        assert result.status == 401
        assert result.body == {"error": "Unknown webhook token"}
        assert stack.items() == before

    def test_unsupported_media_type_is_415(self, api: Api, stack: Stack, account: Account) -> None:
        before = stack.items()
        result = invoke(api.webhook, lead_event("unsupported-media-type.json", account))

        assert result.status == 415
        assert result.body == {
            "error": "Unsupported Content-Type 'application/xml': "
            "send application/json or application/x-www-form-urlencoded"
        }
        assert stack.items() == before


class TestRefusals(SharedStack):
    """Never a 5xx for bad input, and nothing is written when a request is refused."""

    @pytest.mark.parametrize("base64_body", [False, True])
    def test_oversized_body_is_413(self, api: Api, stack: Stack, account: Account, base64_body: bool) -> None:
        before = stack.items()
        body = json.dumps({"phone": PHONE, "notes": "x" * (64 * 1024)})

        result = api.post_lead(account.webhook_token, body, base64_body=base64_body)

        assert result.status == 413
        assert result.body == {"error": "Body exceeds 65536 bytes"}
        assert stack.items() == before

    def test_well_shaped_but_unknown_token_is_401_like_any_other(self, api: Api, stack: Stack) -> None:
        before = stack.items()
        for token in ("lht_" + "A" * 32, "nope", "lht_" + "A" * 31 + "!"):
            result = api.post_lead(token, {"phone": PHONE})
            assert (result.status, result.body) == (401, {"error": "Unknown webhook token"})
        assert stack.items() == before

    @pytest.mark.parametrize(
        ("body", "content_type", "base64_body", "status", "details"),
        [
            ("", "application/json", False, 400, ["body"]),
            ("[1, 2]", "application/json", False, 400, ["body"]),
            ("null", "application/json", False, 400, ["body"]),
            ('"+14155552671"', "application/json", False, 400, ["body"]),
            ("[" * 10_000 + "]" * 10_000, "application/json", False, 400, ["body"]),
            ('{"phone": NaN}', "application/json", False, 400, ["body"]),
            ("{}", "application/json", False, 400, ["phone"]),
            ('{"phone": true}', "application/json", False, 400, ["phone"]),
            ('{"phone": null}', "application/json", False, 400, ["phone"]),
            ('{"phone": "+14155552671", "tags": {"a": 1}}', "application/json", False, 400, ["tags"]),
            ('{"phone": "+14155552671", "tags": [1]}', "application/json", False, 400, ["tags[0]"]),
            ('{"phone": "+14155552671", "email": 5}', "application/json", False, 400, ["email"]),
            (json.dumps({"phone": PHONE, "x": "y" * 1001}), "application/json", False, 400, ["x"]),
            (json.dumps({"phone": PHONE, "k" * 65: "v"}), "application/json", False, 400, ["k" * 65]),
            (json.dumps({"phone": PHONE, **{f"f{i}": "v" for i in range(51)}}), None, False, 400, ["body"]),
            (b"\xff\xfe{}", "application/json", True, 400, ["body"]),
            ("name=Ada", "application/x-www-form-urlencoded", False, 400, ["phone"]),
            ("&".join(["a=b"] * 201), "application/x-www-form-urlencoded", False, 400, ["body"]),
            ('{"phone": "+14155552671"}', "application/json; charset=klingon", False, 415, None),
            ('{"phone": "+14155552671"}', "multipart/form-data; boundary=x", False, 415, None),
            # Unpaired surrogates (JSON escapes) cannot be stored: refused by field, never a 503.
            (r'{"phone": "+14155552671", "name": "\ud800"}', "application/json", False, 400, ["name"]),
            (
                r'{"phone": "+14155552671", "tags": ["a", "\udfff"]}',
                "application/json",
                False,
                400,
                ["tags[1]"],
            ),
            (r'{"phone": "+14155552671", "utm": "\ud800"}', "application/json", False, 400, ["utm"]),
            (r'{"phone": "+14155552671", "\ud800": "x"}', "application/json", False, 400, ["\\ud800"]),
            (b"phone=%2B14155552671&name=%FF", "application/x-www-form-urlencoded", True, 400, ["name"]),
            (b"phone=%2B14155552671&n=%ED%A0%80", "application/x-www-form-urlencoded", True, 400, ["n"]),
            ('{"phone": "+14155552671", "x": ' + "[" * 1000 + "]" * 1000 + "}", None, False, 400, ["body"]),
            ('{"phone": ' + "1" * 5000 + "}", "application/json", False, 400, ["body"]),
            ('{"phone": "+14155552671", "x": ' + "9" * 5000 + "}", "application/json", False, 400, ["body"]),
            ('{"phone": "+14155552671", "x": 1e400}', "application/json", False, 400, ["body"]),
            *[
                ('{"phone": "+14155552671"}', f"application/json; charset={codec}", False, 415, None)
                for codec in NOT_CHARSETS
            ],
            (
                '{"phone": "+14155552671"}',
                "application/x-www-form-urlencoded; charset=rot13",
                False,
                415,
                None,
            ),
        ],
    )
    def test_bad_bodies_are_refused_with_4xx_and_nothing_is_written(
        self,
        api: Api,
        stack: Stack,
        account: Account,
        body: str | bytes,
        content_type: str | None,
        base64_body: bool,
        status: int,
        details: list[str] | None,
    ) -> None:
        before = stack.items()

        result = api.post_lead(
            account.webhook_token, body, content_type=content_type, base64_body=base64_body
        )

        assert result.status == status, result.body
        assert isinstance(result.body["error"], str) and result.body["error"]
        if details is not None:
            assert [d["field"] for d in result.body["details"]] == details
            assert all(d["message"] for d in result.body["details"])
        assert stack.items() == before

    def test_a_body_flagged_base64_that_is_not_is_400(self, api: Api, stack: Stack, account: Account) -> None:
        before = stack.items()
        event = lead_event("new-lead.json", account)
        event["isBase64Encoded"] = True  # a gateway never does this; a buggy proxy might

        result = invoke(api.webhook, event)

        assert result.status == 400
        assert result.body == {
            "error": "Body is not valid base64",
            "details": [{"field": "body", "message": "Body is not valid base64"}],
        }
        assert stack.items() == before


class TestAnyRequest(SharedStack):
    """Property: whatever a client sends, the answer is never a 5xx and nothing is half-written — a
    refusal leaves the table as it was, an acceptance is a lead the API can read back. (Its one test
    writes the leads it accepts into the class's stack.)"""

    @settings(max_examples=120)
    @given(request=requests(weighted((2, plausible_leads), (1, lead_objects))))
    def test_never_a_5xx_and_never_half_written(
        self, api: Api, stack: Stack, account: Account, request: Request
    ) -> None:
        before = stack.items()

        result = api.post_lead(
            account.webhook_token,
            request.body,
            content_type=request.content_type,
            base64_body=request.sent_as_base64,
        )

        event(f"HTTP {result.status}")  # --hypothesis-show-statistics: how many were accepted
        assert result.status in (200, 201, 400, 413, 415), result.body
        if result.status >= 400:
            assert isinstance(result.body["error"], str) and result.body["error"]
            assert stack.items() == before
            return
        lead_id = result.body["leadId"]
        read = api.call("GET", f"/api/leads/{lead_id}", api_key=account.api_key)
        assert read.status == 200, read.body
        assert read.body["leadId"] == lead_id
        created = [a for a in stack.entities("audit") if a["target"]["M"].get("leadId") == {"S": lead_id}]
        assert [a["action"]["S"] for a in created] == ["lead.created"]  # written with the lead, once


class TestAcceptedEdgeCases:
    def test_a_body_of_exactly_64_kib_is_not_refused_for_its_size(self, api: Api, account: Account) -> None:
        # Padding by spaces keeps the JSON valid; custom-field limits are not what this is about.
        body = json.dumps({"phone": PHONE}).encode()
        body += b" " * (64 * 1024 - len(body))

        assert api.post_lead(account.webhook_token, body).status == 201

    def test_non_string_extras_are_kept_as_text_or_reported_as_ignored(
        self, api: Api, stack: Stack, account: Account
    ) -> None:
        body = {
            "phone": PHONE,
            "score": 7,
            "optIn": True,
            "ratio": 0.5,
            "meta": {"a": 1},
            "list": [1],
            "n": None,
        }

        result = api.post_lead(account.webhook_token, body)

        assert result.status == 201
        assert result.body["ignoredFields"] == ["meta", "list"]
        item = stored_lead(stack, result.body["leadId"])
        assert item["customFields"] == {
            "M": {"score": {"S": "7"}, "optIn": {"S": "true"}, "ratio": {"S": "0.5"}}
        }

    def test_floats_and_long_numbers_are_stored_as_their_text(
        self, api: Api, stack: Stack, account: Account
    ) -> None:
        body = '{"phone": "+14155552671", "tiny": 1e-400, "big": 1.5e300, "n": ' + "7" * 1000 + "}"

        result = api.post_lead(account.webhook_token, body)

        assert result.status == 201, result.body
        item = stored_lead(stack, result.body["leadId"])
        assert item["customFields"] == {
            "M": {"tiny": {"S": "0.0"}, "big": {"S": "1.5e+300"}, "n": {"S": "7" * 1000}}
        }

    def test_national_numbers_use_the_accounts_default_region(self, api: Api, stack: Stack) -> None:
        uk = api.create_account("UK agency", defaultRegion="GB")

        result = api.post_lead(
            uk.webhook_token,
            urlencode({"phone": "020 7946 0958"}),
            content_type="application/x-www-form-urlencoded",
        )

        assert result.status == 201
        assert stored_lead(stack, result.body["leadId"])["phone"] == {"S": "+442079460958"}


class TestStorageFailure:
    """Our storage failing is answered 503 with Retry-After (the sender retries), never 500."""

    def test_table_gone_is_503_with_retry_after(self, api: Api, stack: Stack, account: Account) -> None:
        assert api.post_lead(account.webhook_token, {"phone": "+14155550100"}).status == 201  # warm
        stack.ddb.delete_table(TableName=stack.table_name)

        warm = api.post_lead(account.webhook_token, {"phone": PHONE})
        cold_start = stack.load_function("LeadWebhookFunction")
        cold = api.post_lead(account.webhook_token, {"phone": PHONE}, module=cold_start)

        assert warm.status == 503
        assert warm.headers["retry-after"] == "1"
        assert warm.body == {"error": "Storage is unavailable (insert lead); please retry"}
        # Cold: the token lookup itself fails, which must not be mistaken for an unknown token.
        assert cold.status == 503
        assert cold.headers["retry-after"] == "1"
        assert cold.body == {"error": "Storage is unavailable (look up webhook token); please retry"}

    @pytest.mark.parametrize(
        "error_code", ["ProvisionedThroughputExceededException", "InternalServerError", "ThrottlingException"]
    )
    def test_failed_insert_is_503_and_writes_nothing(
        self, api: Api, stack: Stack, account: Account, error_code: str
    ) -> None:
        before = stack.items()
        with _failing(api, "TransactWriteItems", error_code):
            result = api.post_lead(account.webhook_token, {"phone": PHONE, "name": "Ada"})

        assert result.status == 503
        assert result.headers["retry-after"] == "1"
        assert result.body == {"error": "Storage is unavailable (insert lead); please retry"}
        assert stack.items() == before
        # The sender's retry then succeeds.
        assert api.post_lead(account.webhook_token, {"phone": PHONE, "name": "Ada"}).status == 201

    def test_failed_merge_is_503_and_leaves_the_lead_as_it_was(
        self, api: Api, stack: Stack, account: Account
    ) -> None:
        created = api.post_lead(account.webhook_token, {"phone": PHONE, "name": "Ada"})
        before = stack.items()

        with _failing(api, "PutItem", "InternalServerError"):
            result = api.post_lead(account.webhook_token, {"phone": PHONE, "name": "Ada Lovelace"})

        assert result.status == 503
        assert result.headers["retry-after"] == "1"
        assert result.body == {"error": "Storage is unavailable (update lead); please retry"}
        assert stack.items() == before
        retried = api.post_lead(account.webhook_token, {"phone": PHONE, "name": "Ada Lovelace"})
        assert retried.body == {"leadId": created.body["leadId"], "created": False}
        assert stored_lead(stack, created.body["leadId"])["name"] == {"S": "Ada Lovelace"}


class _failing:
    """Makes every call of one DynamoDB operation on the handlers' client fail with `error_code` (a
    before-call hook answers instead of the service, so no botocore retry hides the failure)."""

    def __init__(self, api: Api, operation: str, error_code: str) -> None:
        from leadhub.adapters.aws import client

        self._events = client("dynamodb").meta.events
        self._event = f"before-call.dynamodb.{operation}"
        self._error_code = error_code

    def _answer(self, **_: Any) -> tuple[Any, dict[str, Any]]:
        class _Http:
            status_code = 500
            headers: dict[str, str] = {}  # noqa: RUF012

        error = {"Error": {"Code": self._error_code, "Message": "injected"}, "ResponseMetadata": {}}
        return _Http(), error

    def __enter__(self) -> None:
        self._events.register(self._event, self._answer, unique_id="it-failure")

    def __exit__(self, *_: object) -> None:
        self._events.unregister(self._event, unique_id="it-failure")
