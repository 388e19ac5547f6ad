"""The management API (X-API-Key) and account creation (X-Admin-Key) through the real handler."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from leadhub.platform.ids import encode_cursor
from tests.hostile_input import Request, json_values, objects_with, requests, weighted
from tests.integration.conftest import (
    ADMIN_KEY,
    HOST,
    Account,
    Api,
    Clock,
    HttpResult,
    SharedStack,
    Stack,
    http_event,
    invoke,
    load_event,
    routes_by_module,
    shared_clients,
)

API_KEY_SHAPE = re.compile(r"lhk_[A-Za-z0-9_-]{43}")
WEBHOOK_TOKEN_SHAPE = re.compile(r"lht_[A-Za-z0-9_-]{32}")
READ_ONLY = {"name": "CRM sync", "scopes": ["leads:read"]}


def management_event(name: str, account: Account | None = None, **replacements: str) -> dict[str, Any]:
    if account is not None:
        replacements.setdefault("DEMO_API_KEY", account.api_key)
    return load_event(f"management_api/{name}", **replacements)


class TestAdminAccounts:
    def test_sample_event_creates_an_account_with_key_and_token(self, api: Api, stack: Stack) -> None:
        result = invoke(api.management, management_event("create-account.json", ADMIN_KEY=ADMIN_KEY))

        assert result.status == 201
        body = result.body
        assert set(body) == {
            "accountId",
            "name",
            "plan",
            "apiKey",
            "webhookToken",
            "webhookUrl",
            "defaultRegion",
            "parentAccountId",
            "createdAt",
        }
        assert body["accountId"].startswith("acc_")
        assert (body["name"], body["plan"], body["defaultRegion"]) == ("Acme Realty", "starter", "GB")
        assert body["parentAccountId"] is None
        assert API_KEY_SHAPE.fullmatch(body["apiKey"])
        assert WEBHOOK_TOKEN_SHAPE.fullmatch(body["webhookToken"])
        assert body["webhookUrl"] == f"https://{HOST}/api/webhooks/leads/{body['webhookToken']}"

    def test_secrets_are_stored_hashed_or_encrypted_never_in_plaintext(self, api: Api, stack: Stack) -> None:
        created = api.create_account("Acme")

        items = stack.items()
        dump = repr(items)
        assert created.api_key not in dump
        assert created.webhook_token not in dump
        [account_item] = stack.entities("account")
        assert account_item["webhookTokenHash"] == {
            "S": hashlib.sha256(created.webhook_token.encode()).hexdigest()
        }
        assert "B" in account_item["webhookTokenCiphertext"]
        keys = {i["pk"]["S"] for i in items}
        assert f"WEBHOOKTOKEN#{hashlib.sha256(created.webhook_token.encode()).hexdigest()}" in keys
        assert f"APIKEY#{hashlib.sha256(created.api_key.encode()).hexdigest()}" in keys

    def test_the_first_key_and_the_token_work_at_once(self, api: Api, account: Account) -> None:
        current = invoke(api.management, management_event("get-current-account.json", account))

        assert current.status == 200
        assert current.body["accountId"] == account.account_id
        assert current.body["webhookToken"] == account.webhook_token
        assert current.body["webhookUrl"] == account.body["webhookUrl"]
        assert api.post_lead(account.webhook_token, {"phone": "+14155552671"}).status == 201

    def test_without_the_ssm_parameter_nobody_is_admin(self, api: Api, stack: Stack) -> None:
        parameter = stack.specs["ManagementApiFunction"].environment["ADMIN_KEY_PARAMETER"]
        shared_clients().client("ssm").delete_parameter(Name=parameter)

        result = api.call("POST", "/api/admin/accounts", admin_key=ADMIN_KEY, json_body={"name": "Acme"})

        assert result.status == 401
        assert stack.items() == []

    @pytest.mark.parametrize("plan", ["free", "starter", "pro", "business"])
    def test_every_plan_can_be_chosen(self, api: Api, plan: str) -> None:
        assert api.create_account("Acme", plan=plan).body["plan"] == plan


class TestManagedAccounts:
    def test_an_agency_creates_managed_accounts(self, api: Api, stack: Stack) -> None:
        agency = api.create_account("Agency", plan="business")

        client = api.create_account("Client", parentAccountId=agency.account_id)

        assert client.body["parentAccountId"] == agency.account_id
        current = api.call("GET", "/api/accounts/current", api_key=client.api_key)
        assert current.body["parentAccountId"] == agency.account_id
        assert (
            api.call("GET", "/api/accounts/current", api_key=agency.api_key).body["parentAccountId"] is None
        )
        # The agency's managed accounts are listed through gsi1.
        managed = stack.ddb.query(
            TableName=stack.table_name,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :p",
            ExpressionAttributeValues={":p": {"S": f"PARENT#{agency.account_id}"}},
        )["Items"]
        assert [i["accountId"]["S"] for i in managed] == [client.account_id]

    def test_managed_accounts_cannot_manage_accounts(self, api: Api) -> None:
        agency = api.create_account("Agency")
        client = api.create_account("Client", parentAccountId=agency.account_id)

        body = {"name": "Sub-client", "parentAccountId": client.account_id}
        result = api.call("POST", "/api/admin/accounts", admin_key=ADMIN_KEY, json_body=body)

        assert result.status == 400
        assert result.body["details"] == [
            {"field": "parentAccountId", "message": "a managed account cannot manage accounts"}
        ]

    def test_parent_and_managed_accounts_keep_their_leads_apart(self, api: Api) -> None:
        agency = api.create_account("Agency")
        client = api.create_account("Client", parentAccountId=agency.account_id)
        lead = api.post_lead(client.webhook_token, {"phone": "+14155552671"}).body["leadId"]

        assert api.call("GET", f"/api/leads/{lead}", api_key=client.api_key).status == 200
        assert api.call("GET", f"/api/leads/{lead}", api_key=agency.api_key).status == 404
        assert api.call("GET", "/api/leads", api_key=agency.api_key).body == {"items": [], "nextCursor": None}


class TestWebhookToken:
    def test_rotation_refuses_the_old_token_and_accepts_the_new(self, stack: Stack) -> None:
        api = Api(stack, webhook_env={"TOKEN_CACHE_SECONDS": "0"})
        account = api.create_account("Acme")
        assert api.webhook.settings.token_cache_seconds == 0
        old = account.webhook_token
        assert api.post_lead(old, {"phone": "+14155552671"}).status == 201

        rotated = invoke(api.management, management_event("rotate-webhook-token.json", account))

        assert rotated.status == 200
        new = rotated.body["webhookToken"]
        assert rotated.body == {"webhookToken": new, "webhookUrl": f"https://{HOST}/api/webhooks/leads/{new}"}
        assert new != old and WEBHOOK_TOKEN_SHAPE.fullmatch(new)
        assert api.post_lead(old, {"phone": "+14155552672"}).status == 401
        assert api.post_lead(new, {"phone": "+14155552672"}).status == 201
        assert api.post_lead(new, {"phone": "+14155552671"}).status == 200  # same account, same leads
        current = api.call("GET", "/api/accounts/current", api_key=account.api_key).body
        assert current["webhookToken"] == new
        actions = [e["action"] for e in api.call("GET", "/api/audit", api_key=account.api_key).body["items"]]
        assert "webhook_token.rotated" in actions

    def test_a_warm_cache_may_accept_the_old_token_for_at_most_60_seconds(
        self, api: Api, account: Account, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        assert api.webhook.settings.token_cache_seconds == 60  # the template's setting
        seconds = [1000.0]
        monkeypatch.setattr(api.webhook.token_owners._cache, "_clock", lambda: seconds[0])
        assert api.post_lead(account.webhook_token, {"phone": "+14155552671"}).status == 201

        assert (
            api.call("POST", "/api/accounts/current/webhook-token/rotate", api_key=account.api_key).status
            == 200
        )

        seconds[0] += 59
        assert api.post_lead(account.webhook_token, {"phone": "+14155552671"}).status == 200
        seconds[0] += 1.01
        assert api.post_lead(account.webhook_token, {"phone": "+14155552671"}).status == 401

    def test_rotation_needs_the_account_manage_scope(self, api: Api, account: Account) -> None:
        read_only = api.call("POST", "/api/api-keys", api_key=account.api_key, json_body=READ_ONLY).body[
            "apiKey"
        ]

        result = api.call("POST", "/api/accounts/current/webhook-token/rotate", api_key=read_only)

        assert result.status == 403
        assert result.body == {"error": "This API key lacks the 'account:manage' scope"}
        assert api.post_lead(account.webhook_token, {"phone": "+14155552671"}).status == 201


class TestApiKeys:
    def test_create_shows_the_key_once_list_masks_it_revoke_refuses_it(
        self, api: Api, stack: Stack, account: Account
    ) -> None:
        created = invoke(api.management, management_event("create-api-key.json", account))

        assert created.status == 201
        key = created.body
        assert API_KEY_SHAPE.fullmatch(key["apiKey"])
        assert key["name"] == "CRM sync (read-only)"
        assert key["scopes"] == ["leads:read"]
        assert key["maskedKey"] == key["apiKey"][:8] + "…"
        assert key["keyId"].startswith("key_")
        assert key["apiKey"] not in repr(stack.items())

        listed = api.call("GET", "/api/api-keys", api_key=account.api_key)
        assert listed.status == 200
        assert {k["keyId"]: k["name"] for k in listed.body["items"]}[key["keyId"]] == "CRM sync (read-only)"
        assert len(listed.body["items"]) == 2
        assert all(
            set(k) == {"keyId", "name", "scopes", "maskedKey", "createdAt"} for k in listed.body["items"]
        )
        assert key["apiKey"] not in repr(listed.body) and account.api_key not in repr(listed.body)
        assert api.call("GET", "/api/leads", api_key=key["apiKey"]).status == 200

        revoked = api.call("DELETE", f"/api/api-keys/{key['keyId']}", api_key=account.api_key)

        assert (revoked.status, revoked.body) == (204, None)
        refused = api.call("GET", "/api/leads", api_key=key["apiKey"])
        assert (refused.status, refused.body) == (401, {"error": "Invalid API key"})
        listed = api.call("GET", "/api/api-keys", api_key=account.api_key).body["items"]
        assert [k["keyId"] for k in listed] != [] and key["keyId"] not in [k["keyId"] for k in listed]
        again = api.call("DELETE", f"/api/api-keys/{key['keyId']}", api_key=account.api_key)
        assert (again.status, again.body) == (404, {"error": "API key not found"})
        actions = [e["action"] for e in api.call("GET", "/api/audit", api_key=account.api_key).body["items"]]
        assert actions[:2] == ["api_key.revoked", "api_key.created"]

    def test_a_key_without_leads_read_is_403_on_leads(self, api: Api, account: Account) -> None:
        body = {"name": "viewer", "scopes": ["account:view"]}
        viewer = api.call("POST", "/api/api-keys", api_key=account.api_key, json_body=body).body["apiKey"]

        for path in ("/api/leads", "/api/leads/lead_x"):
            result = api.call("GET", path, api_key=viewer)
            assert (result.status, result.body) == (
                403,
                {"error": "This API key lacks the 'leads:read' scope"},
            )
        assert api.call("GET", "/api/accounts/current", api_key=viewer).status == 200

    def test_a_read_only_key_cannot_manage_keys_or_view_the_account(self, api: Api, account: Account) -> None:
        reader = api.call("POST", "/api/api-keys", api_key=account.api_key, json_body=READ_ONLY).body[
            "apiKey"
        ]

        assert api.call("GET", "/api/accounts/current", api_key=reader).status == 403
        assert api.call("GET", "/api/api-keys", api_key=reader).status == 403
        assert api.call("POST", "/api/api-keys", api_key=reader, json_body=READ_ONLY).status == 403

    def test_a_key_cannot_grant_scopes_it_lacks(self, api: Api, stack: Stack, account: Account) -> None:
        body = {"name": "manager", "scopes": ["account:manage"]}
        manager = api.call("POST", "/api/api-keys", api_key=account.api_key, json_body=body).body["apiKey"]
        before = stack.items()

        result = api.call("POST", "/api/api-keys", api_key=manager, json_body=READ_ONLY)

        assert result.status == 400
        assert result.body["details"] == [{"field": "scopes", "message": "you cannot grant leads:read"}]
        assert stack.items() == before

    def test_keys_of_another_account_cannot_be_revoked_or_seen(self, api: Api, account: Account) -> None:
        other = api.create_account("Other")
        other_keys = api.call("GET", "/api/api-keys", api_key=other.api_key).body["items"]

        result = api.call("DELETE", f"/api/api-keys/{other_keys[0]['keyId']}", api_key=account.api_key)

        assert (result.status, result.body) == (404, {"error": "API key not found"})
        assert api.call("GET", "/api/accounts/current", api_key=other.api_key).status == 200
        mine = [k["keyId"] for k in api.call("GET", "/api/api-keys", api_key=account.api_key).body["items"]]
        assert other_keys[0]["keyId"] not in mine


def post_leads(api: Api, account: Account, clock: Clock, count: int, first: int = 0) -> list[str]:
    ids = []
    for n in range(first, first + count):
        clock.advance(timedelta(seconds=1))
        result = api.post_lead(account.webhook_token, {"phone": f"+1415555{n:04d}", "name": f"Lead {n}"})
        assert result.status == 201
        ids.append(result.body["leadId"])
    return ids


class TestLeads:
    def test_list_is_newest_first_and_the_cursor_walks_every_lead_once(
        self, api: Api, account: Account, clock: Clock
    ) -> None:
        created = post_leads(api, account, clock, 7)

        pages, cursor = [], None
        while True:
            query = "limit=3" + (f"&cursor={cursor}" if cursor else "")
            result = api.call("GET", "/api/leads", api_key=account.api_key, query=query)
            assert result.status == 200
            pages.append([lead["leadId"] for lead in result.body["items"]])
            cursor = result.body["nextCursor"]
            if cursor is None:
                break

        assert [len(p) for p in pages] == [3, 3, 1]
        assert [lead_id for page in pages for lead_id in page] == list(reversed(created))

    def test_sample_list_event_and_lead_representation(
        self, api: Api, account: Account, clock: Clock
    ) -> None:
        api.post_lead(
            account.webhook_token,
            {"phone": "+14155552671", "name": "Ada", "email": "ada@example.com", "tags": "a,b", "src": "x"},
        )

        result = invoke(api.management, management_event("list-leads.json", account))

        assert result.status == 200
        [lead] = result.body["items"]
        at = clock.now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        assert lead == {
            "leadId": lead["leadId"],
            "accountId": account.account_id,
            "phone": "+14155552671",
            "name": "Ada",
            "email": "ada@example.com",
            "tags": ["a", "b"],
            "customFields": {"src": "x"},
            "source": "webhook",
            "capturedAt": at,
            "updatedAt": at,
            "lastActivityAt": at,
            "reEngagedAt": None,
            "lastConversationAt": None,
            "channelIds": {},
            "usernames": {},
        }
        assert result.body["nextCursor"] is None
        one = api.call("GET", f"/api/leads/{lead['leadId']}", api_key=account.api_key)
        assert (one.status, one.body) == (200, lead)

    def test_a_full_last_page_ends_without_a_dangling_empty_page(
        self, api: Api, account: Account, clock: Clock
    ) -> None:
        created = post_leads(api, account, clock, 4)
        seen, cursor, requests = [], None, 0
        while True:
            query = "limit=2" + (f"&cursor={cursor}" if cursor else "")
            body = api.call("GET", "/api/leads", api_key=account.api_key, query=query).body
            requests += 1
            seen += [lead["leadId"] for lead in body["items"]]
            cursor = body["nextCursor"]
            if cursor is None:
                break
        assert seen == list(reversed(created))
        assert requests <= 3  # DynamoDB may hand out a cursor for an empty last page; never more

    def test_a_cursor_of_another_account_is_400(self, api: Api, account: Account, clock: Clock) -> None:
        other = api.create_account("Other")
        post_leads(api, other, clock, 3)
        cursor = api.call("GET", "/api/leads", api_key=other.api_key, query="limit=1").body["nextCursor"]
        assert cursor

        result = api.call("GET", "/api/leads", api_key=account.api_key, query=f"cursor={cursor}")

        assert result.status == 400
        assert result.body["details"] == [{"field": "cursor", "message": "not a cursor of this listing"}]

    def test_another_accounts_lead_is_404_and_never_listed(
        self, api: Api, account: Account, clock: Clock
    ) -> None:
        other = api.create_account("Other")
        [theirs] = post_leads(api, other, clock, 1)
        [mine] = post_leads(api, account, clock, 1, first=1)

        result = api.call("GET", f"/api/leads/{theirs}", api_key=account.api_key)

        assert (result.status, result.body) == (404, {"error": "Lead not found"})
        assert api.call("GET", "/api/leads/lead_doesnotexist", api_key=account.api_key).status == 404
        listed = api.call("GET", "/api/leads", api_key=account.api_key).body["items"]
        assert [lead["leadId"] for lead in listed] == [mine]

    def test_the_same_phone_in_two_accounts_is_two_leads(self, api: Api, account: Account) -> None:
        other = api.create_account("Other")

        mine = api.post_lead(account.webhook_token, {"phone": "+14155552671"})
        theirs = api.post_lead(other.webhook_token, {"phone": "+14155552671"})

        assert (mine.status, theirs.status) == (201, 201)
        assert mine.body["leadId"] != theirs.body["leadId"]


class TestAudit:
    def test_webhook_leads_are_audited_with_source_webhook(self, api: Api, account: Account) -> None:
        lead = api.post_lead(account.webhook_token, {"phone": "+14155552671"}).body["leadId"]
        api.post_lead(account.webhook_token, {"phone": "+14155552671", "name": "Ada"})  # a merge: not audited

        result = invoke(api.management, management_event("list-audit.json", account))

        assert result.status == 200
        entries = result.body["items"]
        assert (entries[0]["action"], entries[0]["source"]) == ("lead.created", "webhook")
        # Account and first key are created in one transaction; their entries may sort either way.
        assert sorted((e["action"], e["source"]) for e in entries[1:]) == [
            ("account.created", "admin"),
            ("api_key.created", "admin"),
        ]
        assert entries[0]["target"] == {"leadId": lead}
        assert entries[0]["actor"] is None
        assert result.body["nextCursor"] is None

    def test_audit_is_isolated_per_account(self, api: Api, account: Account) -> None:
        other = api.create_account("Other")
        api.post_lead(other.webhook_token, {"phone": "+14155552671"})

        mine = api.call("GET", "/api/audit", api_key=account.api_key).body["items"]
        theirs = api.call("GET", "/api/audit", api_key=other.api_key, query="limit=1").body

        assert "lead.created" not in [e["action"] for e in mine]
        assert {e["target"].get("accountId") for e in mine} - {None} == {account.account_id}
        forged = api.call(
            "GET", "/api/audit", api_key=account.api_key, query=f"cursor={theirs['nextCursor']}"
        )
        assert forged.status == 400
        assert forged.body["details"] == [{"field": "cursor", "message": "not a cursor of this listing"}]

    def test_audit_pages_walk_every_entry_once(self, api: Api, account: Account, clock: Clock) -> None:
        post_leads(api, account, clock, 5)
        seen, cursor = [], None
        while True:
            query = "limit=2" + (f"&cursor={cursor}" if cursor else "")
            body = api.call("GET", "/api/audit", api_key=account.api_key, query=query).body
            seen += [e["entryId"] for e in body["items"]]
            cursor = body["nextCursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 7  # 5 leads, the account, its first key
        assert seen == sorted(seen, reverse=True)


class TestAdminRefusals(SharedStack):
    """Refused account creations write nothing (the class shares one stack)."""

    @pytest.mark.parametrize("admin_key", [None, "", "wrong", ADMIN_KEY + "x", ADMIN_KEY.upper()])
    def test_wrong_or_missing_admin_key_is_401_and_writes_nothing(
        self, api: Api, stack: Stack, admin_key: str | None
    ) -> None:
        before = stack.items()
        result = api.call("POST", "/api/admin/accounts", admin_key=admin_key, json_body={"name": "Mallory"})

        assert result.status == 401
        assert result.body == {"error": "Missing or invalid X-Admin-Key header"}
        assert stack.items() == before

    def test_an_api_key_is_not_an_admin_key(self, api: Api, stack: Stack, account: Account) -> None:
        before = stack.items()
        result = api.call(
            "POST", "/api/admin/accounts", api_key=account.api_key, json_body={"name": "Mallory"}
        )

        assert result.status == 401
        assert stack.items() == before

    @pytest.mark.parametrize(
        ("body", "fields"),
        [
            ({}, ["name"]),
            ({"name": ""}, ["name"]),
            ({"name": "Acme", "plan": "gold"}, ["plan"]),
            ({"name": "Acme", "defaultRegion": "XX"}, ["defaultRegion"]),
            ({"name": "Acme", "isAdmin": True}, ["isAdmin"]),
        ],
    )
    def test_invalid_account_requests_are_400_with_field_details(
        self, api: Api, stack: Stack, body: dict[str, Any], fields: list[str]
    ) -> None:
        before = stack.items()
        result = api.call("POST", "/api/admin/accounts", admin_key=ADMIN_KEY, json_body=body)

        assert result.status == 400
        assert result.body["error"] == "Invalid request"
        assert [d["field"] for d in result.body["details"]] == fields
        assert stack.items() == before

    def test_malformed_json_body_is_400(self, api: Api, stack: Stack) -> None:
        before = stack.items()
        event = management_event("create-account.json", ADMIN_KEY=ADMIN_KEY)
        event["body"] = '{"name": "Acme"'

        result = invoke(api.management, event)

        message = "Body is not valid JSON: Expecting ',' delimiter at line 1 column 16"
        assert result.status == 400
        assert result.body == {"error": message, "details": [{"field": "body", "message": message}]}
        assert stack.items() == before

    def test_unknown_parent_is_400(self, api: Api, stack: Stack) -> None:
        before = stack.items()
        body = {"name": "Client", "parentAccountId": "acc_doesnotexist"}
        result = api.call("POST", "/api/admin/accounts", admin_key=ADMIN_KEY, json_body=body)

        assert result.status == 400
        assert result.body == {
            "error": "Invalid account",
            "details": [{"field": "parentAccountId", "message": "no such account"}],
        }
        assert stack.items() == before


class TestRequestRefusals(SharedStack):
    """Refused management requests (the class shares one stack)."""

    @pytest.mark.parametrize("path", ["/api/admin/accounts", "/api/api-keys"])
    def test_a_body_that_is_not_utf8_is_400_not_500(
        self, api: Api, stack: Stack, account: Account, path: str
    ) -> None:
        before = stack.items()
        # API Gateway base64-encodes bodies that are not text; these bytes are not UTF-8.
        event = http_event(
            "POST",
            path,
            route_key="POST /api/{proxy+}",
            headers={
                "content-type": "application/json",
                "x-api-key": account.api_key,
                "x-admin-key": ADMIN_KEY,
            },
            body=b'\xff\xfe{"name": "x"}',
            base64_body=True,
            path_parameters={"proxy": path.removeprefix("/api/")},
        )

        result = invoke(api.management, event)

        assert result.status == 400
        assert result.body == {
            "error": "Body is not valid UTF-8 JSON",
            "details": [{"field": "body", "message": "Body is not valid UTF-8 JSON"}],
        }
        assert stack.items() == before

    @pytest.mark.parametrize(
        ("headers", "message"),
        [({}, "Missing X-API-Key header"), ({"api_key": "lhk_" + "x" * 43}, "Invalid API key")],
    )
    def test_missing_or_unknown_key_is_401(self, api: Api, headers: dict[str, str], message: str) -> None:
        for path in ("/api/accounts/current", "/api/leads", "/api/audit", "/api/api-keys"):
            result = api.call("GET", path, **headers)
            assert (result.status, result.body) == (401, {"error": message})

    def test_unknown_scope_is_400(self, api: Api, account: Account) -> None:
        body = {"name": "x", "scopes": ["leads:delete"]}
        result = api.call("POST", "/api/api-keys", api_key=account.api_key, json_body=body)

        assert result.status == 400
        assert [d["field"] for d in result.body["details"]] == ["scopes.0"]

    @pytest.mark.parametrize(
        "cursor",
        [
            "!!!",
            "garbage",
            encode_cursor({"pk": "x"}),
            encode_cursor(
                {"gsi1pk": "ACCOUNT#acc_other#LEADS", "gsi1sk": "z", "pk": "ACCOUNT#acc_other", "sk": "x"}
            ),
            "A" * 2049,
        ],
    )
    def test_forged_or_garbled_cursor_is_400(self, api: Api, account: Account, cursor: str) -> None:
        result = api.call("GET", "/api/leads", api_key=account.api_key, query=f"cursor={cursor}")

        assert result.status == 400
        assert [d["field"] for d in result.body["details"]] == ["cursor"]

    @pytest.mark.parametrize(
        "query",
        [
            "limit=0",
            "limit=101",
            "limit=ten",
            "limit=1e3",
            "limit=99999999999999999999",
            "limit=" + "9" * 5000,
        ],
    )
    def test_bad_page_size_is_400(self, api: Api, account: Account, query: str) -> None:
        for path in ("/api/leads", "/api/audit", "/api/conversations"):
            result = api.call("GET", path, api_key=account.api_key, query=query)

            assert result.status == 400, (path, result.body)
            assert [d["field"] for d in result.body["details"]] == ["limit"]

    @pytest.mark.parametrize(
        ("path", "status"),
        [
            ("/api/leads/%FF", 404),
            ("/api/leads/..%2F..%2Faccounts", 404),
            ("/api/leads/a%00b", 404),
            ("/api/leads/" + "x" * 65, 400),
            ("/api/api-keys/%E2%80%AE", 404),
            ("/api/conversations/%F0%9F%98%80/messages", 404),
            ("/api/webhook-endpoints/%0D%0A/deliveries", 404),
        ],
    )
    def test_odd_path_parameters_are_404_or_400(
        self, api: Api, stack: Stack, account: Account, path: str, status: int
    ) -> None:
        before = stack.items()
        method = "DELETE" if path.startswith("/api/api-keys") else "GET"

        result = api.call(method, path, api_key=account.api_key)

        assert result.status == status, result.body
        assert stack.items() == before


# The routes that take a JSON body, with a body each accepts (ids are unknown: those routes answer 404
# once the body is read).
JSON_ROUTES = [
    ("PUT", "/api/responder", {"responder": "rules"}),
    ("POST", "/api/api-keys", {"name": "ci", "scopes": ["leads:read"]}),
    ("POST", "/api/webhook-endpoints", {"name": "crm", "url": "https://crm.example.com/hooks"}),
    ("PATCH", "/api/webhook-endpoints/wep_unknown", {"name": "crm"}),
    ("POST", "/api/webhook-endpoints/wep_unknown/recover", {"since": "2026-11-23T00:00:00Z"}),
    ("POST", "/api/automations", {"kind": "keyword", "match": "price", "reply": "From 100"}),
    ("PATCH", "/api/automations/aut_unknown", {"reply": "From 100"}),
    ("POST", "/api/automations/aut_unknown/move", {"direction": "up"}),
    ("POST", "/api/conversations/conv_unknown/messages", {"text": "Hello"}),
    ("PATCH", "/api/conversations/conv_unknown", {"autoReply": False}),
    ("PUT", "/api/integrations/telegram", {"telegramBotToken": "7000001:AAH-x"}),
    ("PUT", "/api/integrations/email", {"emailFromAddress": "a@acme.test", "emailFromName": "Acme"}),
    ("POST", "/api/admin/accounts", {"name": "Acme"}),
]


def send(
    api: Api, account: Account, method: str, path: str, body: str | bytes, content_type: str | None
) -> HttpResult:
    """A management request with any body and Content-Type (the key each route needs)."""
    headers = {"x-api-key": account.api_key, "x-admin-key": ADMIN_KEY}
    if content_type is not None:
        headers["content-type"] = content_type
    event = http_event(
        method,
        path,
        route_key=f"{method} /api/{{proxy+}}",
        headers=headers,
        body=body,
        base64_body=isinstance(body, bytes),
        path_parameters={"proxy": path.removeprefix("/api/")},
    )
    return invoke(api.management, event)


class TestBodyRefusals(SharedStack):
    """JSON routes: another media type is a 415, a body that is not a JSON object we accept a 400 — before
    the route runs, so nothing is written and no provider is called."""

    @pytest.mark.parametrize(
        "content_type",
        [
            "text/plain",
            "application/xml",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "multipart/form-data",  # Powertools raised a bare ValueError (500) for a missing boundary
            "application/jsonp",
            "text/json-ish",
        ],
    )
    @pytest.mark.parametrize(("method", "path", "body"), JSON_ROUTES)
    def test_a_media_type_other_than_json_is_415(
        self,
        api: Api,
        stack: Stack,
        account: Account,
        method: str,
        path: str,
        body: dict[str, Any],
        content_type: str,
    ) -> None:
        before = stack.items()

        result = send(api, account, method, path, json.dumps(body), content_type)

        assert result.status == 415, result.body
        assert result.body == {"error": f"Unsupported Content-Type {content_type!r}: send application/json"}
        assert stack.items() == before

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ("null", "Body must be a JSON object, not null"),
            ("[]", "Body must be a JSON object, not an array"),
            ("42", "Body must be a JSON object, not a number"),
            ('"x"', "Body must be a JSON object, not a string"),
            ("[" * 1000 + "]" * 1000, "Body is not valid JSON: nested deeper than 100 levels"),
            ('{"a":' * 101 + "1" + "}" * 101, "Body is not valid JSON: nested deeper than 100 levels"),
            ('{"x": ' + "1" * 5000 + "}", "Body is not valid JSON: a number is longer than 1000 characters"),
            ('{"x": 1e400}', "Body is not valid JSON: 1e400 is out of range"),
            ('{"x": NaN}', "Body is not valid JSON: NaN is not valid JSON"),
            ('{"a" 1}', "Body is not valid JSON: Expecting ':' delimiter at line 1 column 6"),
            (b"\xff\xfe{}", "Body is not valid UTF-8 JSON"),
        ],
    )
    @pytest.mark.parametrize(("method", "path", "_body"), JSON_ROUTES)
    def test_a_body_that_is_no_json_object_is_400(
        self,
        api: Api,
        stack: Stack,
        account: Account,
        method: str,
        path: str,
        _body: dict[str, Any],
        body: str | bytes,
        message: str,
    ) -> None:
        before = stack.items()

        result = send(api, account, method, path, body, "application/json")

        assert result.status == 400, result.body
        assert result.body == {"error": message, "details": [{"field": "body", "message": message}]}
        assert stack.items() == before

    @pytest.mark.parametrize(
        ("method", "path", "body", "field"),
        [
            ("PUT", "/api/responder", {"systemPrompt": "\ud800"}, "systemPrompt"),
            ("POST", "/api/api-keys", {"name": "\udfff", "scopes": ["leads:read"]}, "name"),
            ("POST", "/api/automations", {"kind": "keyword", "match": "a", "reply": "\ud800"}, "reply"),
            ("POST", "/api/admin/accounts", {"name": "Acme \ud800"}, "name"),
            (
                "POST",
                "/api/webhook-endpoints",
                {"name": "n", "url": "https://x", "headers": {"X-A": "\ud800"}},
                "headers.X-A",
            ),
        ],
    )
    def test_unpaired_surrogates_are_400_by_field(
        self,
        api: Api,
        stack: Stack,
        account: Account,
        method: str,
        path: str,
        body: dict[str, Any],
        field: str,
    ) -> None:
        before = stack.items()

        result = send(api, account, method, path, json.dumps(body), "application/json")

        assert result.status == 400, result.body
        assert [d["field"] for d in result.body["details"]] == [field]
        assert "unicode" in result.body["details"][0]["message"]
        assert stack.items() == before


# JSON routes that reach no provider and no URL whatever the body (unknown ids answer 404 first).
PROPERTY_ROUTES = [
    route for route in JSON_ROUTES if not route[1].startswith(("/api/integrations", "/api/webhook-endpoints"))
] + [
    ("PATCH", "/api/webhook-endpoints/wep_unknown", {"name": "crm"}),
    ("POST", "/api/webhook-endpoints/wep_unknown/recover", {"since": "2026-11-23T00:00:00Z"}),
]
MANAGEMENT_JSON_TYPES = [None, "application/json", "application/json; charset=utf-8", "application/x+json"]
REQUEST_FIELDS = sorted(
    {"name", "scopes", "plan", "defaultRegion", "parentAccountId", "responder", "autoReply", "modelId"}
    | {"systemPrompt", "historyMessages", "maxReplyChars", "fallbackReply", "kind", "match", "reply"}
    | {"enabled", "hours", "text", "since", "includeSkipped", "url", "events", "headers", "payloadTemplate"}
)
PLAUSIBLE_VALUES = weighted(
    (3, json_values),
    (1, st.sampled_from(["rules", "bedrock", "keyword", "greeting", "out_of_hours", "free", "GB", "Hi"])),
    (1, st.sampled_from([["leads:read"], True, False, 10, 1000, "2026-11-23T00:00:00Z", {"X-Crm": "1"}])),
    (1, st.just({"timezone": "Europe/Berlin", "opens": "09:00", "closes": "17:00"})),
)


def route_requests(route: tuple[str, str, dict[str, Any]]) -> st.SearchStrategy[Any]:
    """The route, and requests to it: its valid body with a field or two set to anything, or any object."""
    valid = route[2]
    changed = st.builds(
        lambda changes: {**valid, **changes},
        st.dictionaries(st.sampled_from(REQUEST_FIELDS), PLAUSIBLE_VALUES, max_size=2),
    )
    objects = weighted((2, changed), (1, objects_with(REQUEST_FIELDS, PLAUSIBLE_VALUES)))
    return st.tuples(st.just(route), requests(objects, MANAGEMENT_JSON_TYPES))


class TestAnyBody(SharedStack):
    """Property: whatever body and Content-Type a client sends to a JSON route, the answer is never a
    5xx, and a refusal writes nothing. (Its one test writes what it accepts into the class's stack.)"""

    @settings(max_examples=100)
    @given(case=st.sampled_from(PROPERTY_ROUTES).flatmap(route_requests))
    def test_never_a_5xx_and_refusals_write_nothing(
        self, api: Api, stack: Stack, account: Account, case: tuple[tuple[str, str, Any], Request]
    ) -> None:
        (method, path, _), request = case
        before = stack.items()
        body = request.body if request.sent_as_base64 else request.body.decode()

        result = send(api, account, method, path, body, request.content_type)

        event(f"HTTP {result.status}")  # --hypothesis-show-statistics: how many got through
        assert result.status < 500, result.body
        if result.status >= 400:
            assert isinstance(result.body["error"], str) and result.body["error"]
            assert stack.items() == before


class TestJsonMediaTypes:
    @pytest.mark.parametrize(
        "content_type",
        [None, "application/json; charset=utf-8", "APPLICATION/JSON", "application/vnd.leadhub+json"],
    )
    def test_json_is_accepted_under_any_json_media_type(
        self, api: Api, account: Account, content_type: str | None
    ) -> None:
        body = json.dumps({"name": "ci", "scopes": ["leads:read"]})

        result = send(api, account, "POST", "/api/api-keys", body, content_type)

        assert result.status == 201, result.body


class TestOpenApi(SharedStack):
    def test_each_route_module_loads_for_the_paths_it_serves(self, api: Api) -> None:
        # A cold start imports only the route modules its path may need (app.ROUTE_MODULES); a route
        # whose module the map does not name for its path would answer 404 on a fresh environment.
        app = api.management
        app.include_routes(app.ALL_ROUTE_MODULES)
        served = routes_by_module(app, "routes", app.ALL_ROUTE_MODULES)  # not __init__ or paging

        assert [(rule, name) for rule, name in served if name not in app.route_modules_for(rule)] == []
        assert app.route_modules_for("/prod/api/leads/lead_1") == ("leads",)  # behind a stage prefix
        assert app.route_modules_for("/api/nowhere") == () == app.route_modules_for("/elsewhere")

    def test_a_fresh_environment_serves_a_route_of_a_module_it_has_not_loaded(
        self, api: Api, account: Account
    ) -> None:
        fresh = api.stack.load_function("ManagementApiFunction")  # a cold start: no route module loaded
        assert fresh._included == set()

        event = http_event(
            "GET",
            "/api/audit",
            route_key="GET /api/{proxy+}",
            headers={"x-api-key": account.api_key},
            path_parameters={"proxy": "audit"},
        )
        result = invoke(fresh, event)

        assert result.status == 200
        assert fresh._included == {"audit"}
        # ...and builds only that resource's schemas.
        assert sorted(name for name in sys.modules if name.startswith("schemas.")) == ["schemas.audit"]
        assert "api_document" not in sys.modules  # the OpenAPI document is built only when asked for

    def test_openapi_document_lists_the_routes(self, api: Api) -> None:
        result = api.call("GET", "/api/openapi.json")

        assert result.status == 200
        assert result.headers["content-type"] == "application/json"
        document = result.body
        assert document["openapi"].startswith("3.")
        assert document["info"]["title"] == "Leadhub API"
        paths = {path: sorted(ops) for path, ops in document["paths"].items()}
        assert paths == {
            "/api/admin/accounts": ["post"],
            "/api/accounts/current": ["get"],
            "/api/accounts/current/webhook-token/rotate": ["post"],
            "/api/leads": ["get"],
            "/api/leads/{leadId}": ["get"],
            "/api/api-keys": ["get", "post"],
            "/api/api-keys/{keyId}": ["delete"],
            "/api/audit": ["get"],
            "/api/dashboard/links": ["post"],
            "/api/webhook-endpoints": ["get", "post"],
            "/api/webhook-endpoints/{endpointId}": ["delete", "get", "patch"],
            "/api/webhook-endpoints/{endpointId}/verify": ["post"],
            "/api/webhook-endpoints/{endpointId}/rotate-secret": ["post"],
            "/api/webhook-endpoints/{endpointId}/test": ["post"],
            "/api/webhook-endpoints/{endpointId}/deliveries": ["get"],
            "/api/webhook-endpoints/{endpointId}/recover": ["post"],
            "/api/deliveries/{deliveryId}": ["get"],
            "/api/deliveries/{deliveryId}/retry": ["post"],
            "/api/integrations/whatsapp": ["put"],
            "/api/integrations/telegram": ["put"],
            "/api/integrations/email": ["put"],
            "/api/integrations/email/verify": ["post"],
            "/api/integrations/{channel}": ["delete", "get"],
            "/api/automations": ["get", "post"],
            "/api/automations/{automationId}": ["delete", "patch"],
            "/api/automations/{automationId}/move": ["post"],
            "/api/responder": ["get", "put"],
            "/api/conversations": ["get"],
            "/api/conversations/{conversationId}": ["get", "patch"],
            "/api/conversations/{conversationId}/close": ["post"],
            "/api/conversations/{conversationId}/messages": ["get", "post"],
            "/api/widget": ["get", "put"],
            "/api/widget/rotate-key": ["post"],
            # Served by their own functions, described for reference.
            "/api/webhooks/leads/{token}": ["post"],
            "/api/webhooks/meta-whatsapp": ["get", "post"],
            "/api/webhooks/telegram": ["post"],
            "/api/webhooks/email": ["post"],
            "/widget.js": ["get"],
            "/widget/v1/{widgetKey}/session": ["options", "post"],
            "/widget/v1/{widgetKey}/messages": ["get", "options", "post"],
            "/widget/v1/{widgetKey}/contact": ["options", "post"],
        }
        schemes = document["components"]["securitySchemes"]
        assert schemes["apiKey"] == {"type": "apiKey", "name": "X-API-Key", "in": "header"}
        assert schemes["adminKey"] == {"type": "apiKey", "name": "X-Admin-Key", "in": "header"}
        assert document["paths"]["/api/admin/accounts"]["post"]["security"] == [{"adminKey": []}]
        assert document["paths"]["/api/leads"]["get"]["security"] == [{"apiKey": []}]

    def test_docs_page_shows_the_whole_document(self, api: Api) -> None:
        result = api.call("GET", "/api/docs")

        assert result.status == 200
        assert result.headers["content-type"].startswith("text/html")
        # Swagger UI renders the document inlined in the page: the event catalog and inbound webhooks too.
        assert '"webhooks": {"webhook.verify"' in result.body and "/api/webhooks/telegram" in result.body
        assert "<script>" in result.body and "swagger-ui" in result.body  # Powertools' own bundle

    def test_unknown_route_is_a_json_404(self, api: Api, account: Account) -> None:
        result = api.call("GET", "/api/nothing-here", api_key=account.api_key)

        assert result.status == 404
        assert result.headers["content-type"] == "application/json"
        assert result.body == {"error": "Not found"}
