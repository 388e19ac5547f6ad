"""PATCH /api/automations/{id} and POST /api/automations/{id}/move in moto: the changes the dashboard's
automations page makes, through the API (same domain functions), and the order the worker tries them in."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Account, Api


def create(api: Api, account: Account, **body: Any) -> dict[str, Any]:
    created = api.call("POST", "/api/automations", api_key=account.api_key, json_body=body)
    assert created.status == 201, created.body
    return created.body


def order(api: Api, account: Account) -> list[str]:
    listed = api.call("GET", "/api/automations", api_key=account.api_key).body["items"]
    return [a["match"] or a["kind"] for a in listed]


def test_patch_changes_only_the_fields_given_and_checks_them_as_create_does(
    api: Api, account: Account
) -> None:
    price = create(api, account, kind="keyword", match="price", reply="From 900")
    path = f"/api/automations/{price['automationId']}"

    off = api.call("PATCH", path, api_key=account.api_key, json_body={"enabled": False})

    assert off.status == 200 and (off.body["enabled"], off.body["reply"], off.body["match"]) == (
        False,
        "From 900",
        "price",
    )
    refused = api.call("PATCH", path, api_key=account.api_key, json_body={"match": None})
    assert (refused.status, refused.body["details"]) == (
        400,
        [{"field": "match", "message": "a keyword needs a match"}],
    )
    hours = {"timezone": "UTC", "opens": "09:00", "closes": "17:00"}
    assert api.call("PATCH", path, api_key=account.api_key, json_body={"hours": hours}).status == 400
    assert api.call("PATCH", path, api_key=account.api_key, json_body={"kind": "greeting"}).status == 400
    unchanged = api.call("PATCH", path, api_key=account.api_key, json_body={"reply": None, "enabled": None})
    assert (unchanged.status, unchanged.body["reply"], unchanged.body["enabled"]) == (200, "From 900", False)
    missing = api.call("PATCH", "/api/automations/aut_x", api_key=account.api_key, json_body={"reply": "x"})
    assert missing.status == 404
    closed = create(api, account, kind="out_of_hours", reply="Closed", hours=hours)
    moved_hours = {**hours, "timezone": "Europe/Berlin", "days": ["sat", "sat"]}
    changed = api.call(
        "PATCH",
        f"/api/automations/{closed['automationId']}",
        api_key=account.api_key,
        json_body={"hours": moved_hours},
    )
    assert changed.body["hours"] == {
        "timezone": "Europe/Berlin",
        "days": ["sat"],
        "opens": "09:00",
        "closes": "17:00",
    }


def test_automations_are_listed_in_try_order_and_move_within_their_group(api: Api, account: Account) -> None:
    greeting = create(api, account, kind="greeting", reply="Welcome")
    create(api, account, kind="keyword", match="price", reply="A")
    rent = create(api, account, kind="pattern", match="rent|lease", reply="B")
    assert order(api, account) == [
        "price",
        "rent|lease",
        "greeting",
    ]  # greetings after keywords, whenever made

    moved = api.call(
        "POST",
        f"/api/automations/{rent['automationId']}/move",
        api_key=account.api_key,
        json_body={"direction": "up"},
    )

    assert moved.status == 200 and [a["kind"] for a in moved.body["items"]] == [
        "pattern",
        "keyword",
        "greeting",
    ]
    assert order(api, account) == ["rent|lease", "price", "greeting"]
    crossing = api.call(
        "POST",
        f"/api/automations/{greeting['automationId']}/move",
        api_key=account.api_key,
        json_body={"direction": "up"},
    )
    assert crossing.status == 400 and crossing.body["details"][0]["field"] == "direction"
    wrong = api.call(
        "POST",
        f"/api/automations/{rent['automationId']}/move",
        api_key=account.api_key,
        json_body={"direction": "left"},
    )
    assert wrong.status == 400
    api.call("DELETE", f"/api/automations/{rent['automationId']}", api_key=account.api_key)
    create(api, account, kind="keyword", match="viewing", reply="C")
    assert order(api, account) == ["price", "viewing", "greeting"]  # a deleted one leaves no gap
