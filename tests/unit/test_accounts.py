"""Accounts, webhook tokens and API keys with in-memory ports."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leadhub.accounts.accounts import create_account, current_account, rotate_webhook_token
from leadhub.accounts.api_keys import (
    authenticate,
    check_admin_key,
    create_api_key,
    list_api_keys,
    require_scope,
    revoke_api_key,
)
from leadhub.accounts.models import ALL_SCOPES, Plan
from leadhub.platform.errors import Forbidden, InvalidRequest, NotFound, Unauthorized
from leadhub.platform.ids import token_hash
from tests.fakes import ContextBoundCipher, InMemoryAccounts, StaticSecret

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def accounts() -> InMemoryAccounts:
    return InMemoryAccounts()


def new_account(accounts: InMemoryAccounts, parent: str | None = None):
    return create_account(
        "Acme", Plan.PRO, "GB", parent, accounts=accounts, cipher=ContextBoundCipher(), now=NOW
    )


def test_a_new_account_gets_a_token_and_a_full_scope_key_stored_as_hashes(accounts) -> None:
    created = new_account(accounts)
    account = accounts.accounts[created.view.account.account_id]
    token = created.view.webhook_token
    assert token.startswith("lht_") and len(token) == 36
    assert account.webhook_token_hash == token_hash(token)
    assert token.encode() not in account.webhook_token_ciphertext
    assert accounts.tokens[token_hash(token)].default_region == "GB"
    [key] = accounts.keys.values()
    assert key.key_hash == token_hash(created.api_key)
    assert set(key.scopes) == {str(s) for s in ALL_SCOPES}
    assert [a.action for a in accounts.audit] == ["account.created", "api_key.created"]


def test_the_public_view_has_the_token_and_its_url(accounts) -> None:
    view = new_account(accounts).view.to_public("https://hub.example.com/")
    assert view["webhookUrl"] == f"https://hub.example.com/api/webhooks/leads/{view['webhookToken']}"
    assert view["plan"] == "pro"


def test_managed_accounts_need_an_existing_top_level_parent(accounts) -> None:
    agency = new_account(accounts).view.account.account_id
    client = new_account(accounts, parent=agency).view.account
    assert client.parent_account_id == agency
    with pytest.raises(InvalidRequest) as unknown:
        new_account(accounts, parent="acc_nope")
    assert unknown.value.details[0].to_dict() == {"field": "parentAccountId", "message": "no such account"}
    with pytest.raises(InvalidRequest):
        new_account(accounts, parent=client.account_id)


def test_the_current_account_shows_the_decrypted_token(accounts) -> None:
    created = new_account(accounts)
    principal = authenticate(created.api_key, accounts=accounts)
    view = current_account(principal, accounts=accounts, cipher=ContextBoundCipher())
    assert view.webhook_token == created.view.webhook_token


def test_rotation_replaces_the_token_everywhere(accounts) -> None:
    created = new_account(accounts)
    principal = authenticate(created.api_key, accounts=accounts)
    rotated = rotate_webhook_token(principal, accounts=accounts, cipher=ContextBoundCipher(), now=NOW)
    assert rotated.webhook_token != created.view.webhook_token
    assert token_hash(created.view.webhook_token) not in accounts.tokens
    assert token_hash(rotated.webhook_token) in accounts.tokens
    shown = current_account(principal, accounts=accounts, cipher=ContextBoundCipher())
    assert shown.webhook_token == rotated.webhook_token
    assert accounts.audit[-1].action == "webhook_token.rotated"


class TestApiKeys:
    @pytest.mark.parametrize(
        ("key", "message"),
        [
            (None, "Missing X-API-Key header"),
            ("", "Missing X-API-Key header"),
            ("lhk_short", "Invalid API key"),
        ],
    )
    def test_missing_or_malformed_keys_are_401(self, accounts, key, message) -> None:
        with pytest.raises(Unauthorized, match=message):
            authenticate(key, accounts=accounts)

    def test_an_unknown_well_formed_key_is_401(self, accounts) -> None:
        with pytest.raises(Unauthorized, match="Invalid API key"):
            authenticate("lhk_" + "x" * 43, accounts=accounts)

    def test_scopes_are_enforced(self, accounts) -> None:
        created = new_account(accounts)
        owner = authenticate(created.api_key, accounts=accounts)
        _, reader_key = create_api_key(owner, "reader", ["leads:read"], accounts=accounts, now=NOW)
        reader = authenticate(reader_key, accounts=accounts)
        require_scope(reader, "leads:read")
        with pytest.raises(Forbidden, match="lacks the 'account:view' scope"):
            require_scope(reader, "account:view")

    def test_a_key_cannot_grant_more_than_it_has(self, accounts) -> None:
        owner = authenticate(new_account(accounts).api_key, accounts=accounts)
        _, reader_key = create_api_key(owner, "reader", ["leads:read"], accounts=accounts, now=NOW)
        reader = authenticate(reader_key, accounts=accounts)
        with pytest.raises(InvalidRequest) as caught:
            create_api_key(reader, "escalate", ["leads:read", "account:manage"], accounts=accounts, now=NOW)
        assert caught.value.details[0].message == "you cannot grant account:manage"

    def test_listing_is_masked_and_revocation_is_immediate(self, accounts) -> None:
        owner = authenticate(new_account(accounts).api_key, accounts=accounts)
        record, plaintext = create_api_key(owner, "ci", ["leads:read"], accounts=accounts, now=NOW)
        listed = [key.to_public() for key in list_api_keys(owner, accounts=accounts)]
        assert {k["name"] for k in listed} == {"default", "ci"}
        assert all(plaintext not in str(k) and k["maskedKey"].endswith("…") for k in listed)
        revoke_api_key(owner, record.key_id, accounts=accounts, now=NOW)
        with pytest.raises(Unauthorized):
            authenticate(plaintext, accounts=accounts)

    def test_another_accounts_key_cannot_be_revoked(self, accounts) -> None:
        mine = authenticate(new_account(accounts).api_key, accounts=accounts)
        theirs = authenticate(new_account(accounts).api_key, accounts=accounts)
        with pytest.raises(NotFound):
            revoke_api_key(mine, theirs.key_id, accounts=accounts, now=NOW)

    @pytest.mark.parametrize(
        ("configured", "presented"), [("s3cret", "wrong"), ("s3cret", None), (None, "s3cret"), (None, None)]
    )
    def test_the_admin_key_must_match_a_configured_key(self, configured, presented) -> None:
        with pytest.raises(Unauthorized):
            check_admin_key(presented, source=StaticSecret(configured))

    def test_the_right_admin_key_passes(self) -> None:
        check_admin_key("s3cret", source=StaticSecret("s3cret"))
