"""The lead webhook over real HTTP: bad input, form posts, concurrent duplicates."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.stack_process import StackProcess


@pytest.fixture(scope="module")
def account(stack: StackProcess) -> dict[str, str]:
    response = httpx.post(
        f"{stack.api}/api/admin/accounts",
        json={"name": "Webhook e2e", "plan": "starter", "defaultRegion": "GB"},
        headers={"X-Admin-Key": stack.ready["adminKey"]},
    )
    assert response.status_code == 201, response.text
    return response.json()


def leads_of(http: httpx.Client, account: dict[str, str]) -> list[dict]:
    items: list[dict] = []
    cursor = None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = http.get("/api/leads", params=params, headers={"X-API-Key": account["apiKey"]}).json()
        items += page["items"]
        cursor = page["nextCursor"]
        if not cursor:
            return items


def url(account: dict[str, str]) -> str:
    return f"/api/webhooks/leads/{account['webhookToken']}"


@pytest.mark.parametrize(
    ("content", "headers", "status", "error"),
    [
        (b'{"phone": ', {"content-type": "application/json"}, 400, "Body is not valid JSON"),
        (b"[1, 2]", {"content-type": "application/json"}, 400, "Body must be a JSON object"),
        (b"", {"content-type": "application/json"}, 400, "Body is empty"),
        (b'{"phone": true}', {"content-type": "application/json"}, 400, "Invalid lead"),
        (b'{"phone": "+1 555"}', {"content-type": "application/json"}, 400, "Invalid lead"),
        (b'{"phone": "+14155550100", "email": "nope"}', {"content-type": "application/json"}, 400, "Invalid"),
        (b"<lead/>", {"content-type": "application/xml"}, 415, "Unsupported"),
        (
            b'{"phone": "' + b"1" * 70_000 + b'"}',
            {"content-type": "application/json"},
            413,
            "exceeds 65536 bytes",
        ),
        (b"\xff\xfe{", {"content-type": "application/json"}, 400, "not valid utf-8"),
    ],
)
def test_bad_input_is_a_precise_4xx_and_stores_nothing(
    http: httpx.Client, account: dict[str, str], content: bytes, headers: dict, status: int, error: str
) -> None:
    before = len(leads_of(http, account))
    response = http.post(url(account), content=content, headers=headers)
    assert response.status_code == status, response.text
    assert error in response.json()["error"]
    assert len(leads_of(http, account)) == before


def test_field_errors_name_every_field(http: httpx.Client, account: dict[str, str]) -> None:
    response = http.post(url(account), json={"phone": "12", "email": "x@", "tags": [1]})
    assert response.status_code == 400
    assert {d["field"] for d in response.json()["details"]} == {"phone", "email", "tags[0]"}


def test_form_posts_and_national_numbers_use_the_account_region(
    http: httpx.Client, account: dict[str, str]
) -> None:
    response = http.post(url(account), data={"name": "Grace", "phone": "020 7946 0018", "tags": "a,b"})
    assert response.status_code == 201, response.text
    lead = http.get(f"/api/leads/{response.json()['leadId']}", headers={"X-API-Key": account["apiKey"]})
    assert (lead.json()["phone"], lead.json()["tags"]) == ("+442079460018", ["a", "b"])


def test_concurrent_posts_of_one_phone_make_one_lead(http: httpx.Client, account: dict[str, str]) -> None:
    attempts = 16

    def post(i: int) -> httpx.Response:
        with httpx.Client(base_url=str(http.base_url), timeout=30) as own:
            return own.post(url(account), json={"phone": "+447911123456", "tags": [f"t{i}"]})

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(post, range(attempts)))
    assert sorted(r.status_code for r in responses) == [200] * (attempts - 1) + [201]
    assert len({r.json()["leadId"] for r in responses}) == 1
    [lead] = [lead for lead in leads_of(http, account) if lead["phone"] == "+447911123456"]
    assert sorted(lead["tags"]) == sorted(f"t{i}" for i in range(attempts))  # no merge was lost


def test_unknown_and_malformed_tokens_get_one_answer(http: httpx.Client, account: dict[str, str]) -> None:
    answers = {
        (r.status_code, r.text)
        for r in (
            http.post("/api/webhooks/leads/lht_" + "x" * 32, json={"phone": "+14155550100"}),
            http.post("/api/webhooks/leads/short", json={"phone": "+14155550100"}),
            http.post("/api/webhooks/leads/" + account["webhookToken"] + "x", json={"phone": "+14155550100"}),
        )
    }
    assert answers == {(401, '{"error": "Unknown webhook token"}')}


def test_unknown_paths_are_404_from_the_api_or_the_dashboard(http: httpx.Client) -> None:
    # Every path has a route (the dashboard's ANY /{proxy+} takes what /api/{proxy+} does not), so the
    # 404s come from the functions: the management API's JSON, or the dashboard's page.
    api = http.get("/api/nothing-here")
    assert (api.status_code, api.headers["content-type"]) == (404, "application/json")
    assert "error" in api.json()
    page = http.get("/nothing-here")
    assert (page.status_code, page.headers["content-type"]) == (404, "text/html; charset=utf-8")
    assert "There is no page at this address." in page.text
