"""Accounts over real HTTP: token rotation, API keys and scopes, tenant isolation."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.e2e.conftest import TOKEN_CACHE_SECONDS, wait_until
from tests.stack_process import StackProcess

NewAccount = Callable[..., dict[str, str]]


def keyed(account: dict[str, str]) -> dict[str, str]:
    return {"X-API-Key": account["apiKey"]}


def test_a_rotated_token_stops_working_within_the_cache_window(
    http: httpx.Client, new_account: NewAccount
) -> None:
    account = new_account("Rotation")
    old = f"/api/webhooks/leads/{account['webhookToken']}"
    assert http.post(old, json={"phone": "+14155550101"}).status_code == 201  # warms the token cache

    rotated = http.post("/api/accounts/current/webhook-token/rotate", headers=keyed(account))
    assert rotated.status_code == 200, rotated.text
    new_token = rotated.json()["webhookToken"]
    assert new_token != account["webhookToken"]
    assert http.get("/api/accounts/current", headers=keyed(account)).json()["webhookToken"] == new_token

    assert http.post(f"/api/webhooks/leads/{new_token}", json={"phone": "+14155550102"}).status_code == 201
    assert wait_until(
        lambda: http.post(old, json={"phone": "+14155550103"}).status_code == 401,
        timeout=TOKEN_CACHE_SECONDS + 5,
    )


def test_tenants_see_only_their_own_data(http: httpx.Client, new_account: NewAccount) -> None:
    alice, bob = new_account("Alice"), new_account("Bob")
    lead_id = http.post(
        f"/api/webhooks/leads/{alice['webhookToken']}", json={"phone": "+14155550111", "name": "A"}
    ).json()["leadId"]
    # The same phone posted to Bob is Bob's own, separate lead.
    bobs = http.post(f"/api/webhooks/leads/{bob['webhookToken']}", json={"phone": "+14155550111"})
    assert bobs.status_code == 201 and bobs.json()["leadId"] != lead_id

    assert http.get(f"/api/leads/{lead_id}", headers=keyed(alice)).status_code == 200
    foreign = http.get(f"/api/leads/{lead_id}", headers=keyed(bob))
    assert foreign.status_code == 404
    assert http.get("/api/leads/lead_doesnotexist000000000000", headers=keyed(bob)).json() == foreign.json()
    assert [item["leadId"] for item in http.get("/api/leads", headers=keyed(bob)).json()["items"]] == [
        bobs.json()["leadId"]
    ]
    audit_targets = [e["target"] for e in http.get("/api/audit", headers=keyed(bob)).json()["items"]]
    assert {"leadId": lead_id} not in audit_targets
    assert http.get("/api/accounts/current", headers=keyed(bob)).json()["accountId"] == bob["accountId"]


def test_api_keys_scopes_and_revocation(http: httpx.Client, new_account: NewAccount) -> None:
    account = new_account("Keys")
    created = http.post(
        "/api/api-keys", json={"name": "dashboard", "scopes": ["account:view"]}, headers=keyed(account)
    )
    assert created.status_code == 201, created.text
    limited = {"X-API-Key": created.json()["apiKey"]}
    assert http.get("/api/accounts/current", headers=limited).status_code == 200
    forbidden = http.get("/api/leads", headers=limited)
    assert forbidden.status_code == 403 and "leads:read" in forbidden.json()["error"]

    listed = http.get("/api/api-keys", headers=keyed(account)).json()["items"]
    assert created.json()["apiKey"] not in str(listed)  # masked
    key_id = created.json()["keyId"]
    assert http.delete(f"/api/api-keys/{key_id}", headers=keyed(account)).status_code in (200, 204)
    assert http.get("/api/accounts/current", headers=limited).status_code == 401
    assert http.get("/api/accounts/current").status_code == 401
    assert http.get("/api/accounts/current", headers={"X-API-Key": "lhk_nope"}).status_code == 401


def test_admin_routes_need_the_admin_key(stack: StackProcess, http: httpx.Client) -> None:
    body = {"name": "Intruder", "plan": "free"}
    assert http.post("/api/admin/accounts", json=body).status_code == 401
    assert http.post("/api/admin/accounts", json=body, headers={"X-Admin-Key": "guess"}).status_code == 401
    invalid = http.post(
        "/api/admin/accounts",
        json={"name": "", "plan": "gold"},
        headers={"X-Admin-Key": stack.ready["adminKey"]},
    )
    assert invalid.status_code == 400
    assert {d["field"] for d in invalid.json()["details"]} >= {"plan"}


def test_openapi_document_and_docs_page(http: httpx.Client) -> None:
    spec = http.get("/api/openapi.json")
    assert spec.status_code == 200
    assert {"/api/leads", "/api/accounts/current", "/api/admin/accounts"} <= set(spec.json()["paths"])
    docs = http.get("/api/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
