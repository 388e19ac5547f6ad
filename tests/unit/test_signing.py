"""Delivery signatures: our own vectors, and the official `standardwebhooks` package verifying them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from leadhub.outbound.signing import (
    checked_secret,
    leadhub_signature,
    new_endpoint_secret,
    signature_headers,
    verify_leadhub_signature,
)
from leadhub.platform.standard_webhooks import secret_key, standard_signature, verify_standard_signature

# The example of the Standard Webhooks specification (and of every reference library's tests).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

BODY = json.dumps(
    {"id": "evt_1", "event": "lead.created", "data": {"name": 'Zoë "Z" O\'Neil', "note": "a\\b\nc"}},
    ensure_ascii=False,
).encode()


def now() -> int:
    return int(time.time())


def headers_for(secrets: list[str], body: bytes = BODY, timestamp: int | None = None) -> dict[str, str]:
    return signature_headers(
        secrets, "dlv_01", now() if timestamp is None else timestamp, body, "lead.created"
    )


def whsec(key: bytes) -> str:
    return "whsec_" + base64.b64encode(key).decode()


# Keys that look like random bytes (each at most twice), of every size a client may choose.
RANDOM_LOOKING_KEYS = (
    st.lists(st.integers(0, 255), min_size=24, max_size=64)
    .map(bytes)
    .filter(lambda key: len(set(key)) >= len(key) // 2)
)


class TestOwnSecrets:
    """A client's own secret (create, rotate-secret) is outside input: accepted unchanged only when
    every Standard Webhooks library takes it and it looks random; otherwise a ValueError that says why."""

    @given(RANDOM_LOOKING_KEYS)
    def test_random_keys_of_24_to_64_bytes_are_taken_unchanged_and_interoperate(self, key: bytes) -> None:
        secret = whsec(key)
        assert checked_secret(secret) == secret
        headers = signature_headers([secret], "msg_1", now(), BODY, "lead.created")
        assert Webhook(secret).verify(BODY, headers) is not None

    @given(st.text(max_size=120))
    def test_any_text_is_either_a_usable_secret_or_a_value_error(self, text: str) -> None:
        for candidate in (text, "whsec_" + text):
            try:
                accepted = checked_secret(candidate)
            except ValueError as exc:
                assert str(exc).startswith(("a webhook secret", "the secret's bytes"))
            else:
                assert Webhook(accepted)._whsecret == secret_key(accepted)

    @given(st.binary(max_size=23) | st.binary(min_size=65, max_size=200))
    def test_too_short_or_too_long_keys_are_refused(self, key: bytes) -> None:
        with pytest.raises(ValueError, match="24-64 bytes"):
            checked_secret(whsec(key))

    @pytest.mark.parametrize(
        ("secret", "message"),
        [
            (base64.b64encode(bytes(range(32))).decode(), "starts with 'whsec_'"),
            (whsec(bytes(range(32))).rstrip("="), "padding"),
            (whsec(bytes(range(32))) + " ", "base64"),
            (whsec(b"\0" * 32), "repeat too much"),
            (whsec(b"password" * 4), "repeat too much"),
        ],
    )
    def test_prefixless_unpadded_and_patterned_secrets_are_refused(self, secret: str, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            checked_secret(secret)

    def test_generated_secrets_pass_the_same_check(self) -> None:
        assert all(checked_secret(s) == s for s in (new_endpoint_secret() for _ in range(200)))


class TestSecrets:
    def test_format_is_whsec_and_padded_base64_of_32_bytes(self) -> None:
        secret = new_endpoint_secret()
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
        assert secret_key(secret) == base64.b64decode(secret[6:])

    def test_every_secret_is_new(self) -> None:
        assert len({new_endpoint_secret() for _ in range(100)}) == 100

    def test_the_standardwebhooks_package_accepts_the_format(self) -> None:
        secret = new_endpoint_secret()
        # Its constructor decodes the key exactly as we do (it would raise on a malformed secret).
        assert Webhook(secret)._whsecret == secret_key(secret)

    @pytest.mark.parametrize(
        ("secret", "message"),
        [
            ("whsec_not base64!", "'whsec_' followed by base64"),
            ("whsec_" + base64.b64encode(b"x" * 16).decode(), "24-64 bytes, not 16"),
            ("whsec_" + base64.b64encode(b"x" * 65).decode(), "24-64 bytes, not 65"),
            ("whsec_", "24-64 bytes, not 0"),
        ],
    )
    def test_malformed_secrets_are_refused(self, secret: str, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            standard_signature(secret, "m", 1, b"")

    def test_unpadded_and_unprefixed_secrets_decode_like_the_reference_libraries(self) -> None:
        raw = bytes(range(32))
        padded = base64.b64encode(raw).decode()
        assert padded.endswith("=")
        assert secret_key("whsec_" + padded.rstrip("=")) == raw
        assert secret_key(padded) == raw


class TestStandardSignature:
    def test_matches_the_specification_example(self) -> None:
        assert standard_signature(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE

    def test_is_the_documented_hmac(self) -> None:
        secret = new_endpoint_secret()
        key = base64.b64decode(secret.removeprefix("whsec_"))
        digest = hmac.new(key, b"dlv_9.1700000000." + BODY, hashlib.sha256).digest()
        expected = "v1," + base64.b64encode(digest).decode()
        assert standard_signature(secret, "dlv_9", 1700000000, BODY) == expected

    def test_binds_id_timestamp_and_body(self) -> None:
        secret = new_endpoint_secret()
        base = standard_signature(secret, "dlv_1", 1700000000, BODY)
        assert standard_signature(secret, "dlv_2", 1700000000, BODY) != base
        assert standard_signature(secret, "dlv_1", 1700000001, BODY) != base
        assert standard_signature(secret, "dlv_1", 1700000000, BODY + b" ") != base


class TestLeadhubSignature:
    def test_is_hex_hmac_of_the_raw_body_keyed_by_the_secret_string(self) -> None:
        secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
        expected = hmac.new(secret.encode("utf-8"), BODY, hashlib.sha256).hexdigest()
        assert leadhub_signature(secret, BODY) == f"sha256={expected}"

    def test_known_vector(self) -> None:
        # Pinned: a change of the scheme would break every plain-HMAC receiver.
        assert leadhub_signature(SPEC_SECRET, SPEC_BODY) == (
            "sha256=80ec8a89ce3cd22133a1066caecb4d04fea7467657c8514d717ec42c38a5c94c"
        )

    def test_verifier_is_strict(self) -> None:
        secret = new_endpoint_secret()
        header = leadhub_signature(secret, BODY)
        assert verify_leadhub_signature(secret, BODY, header)
        assert verify_leadhub_signature(secret, BODY, f" {header} ")
        assert not verify_leadhub_signature(secret, BODY + b"x", header)
        assert not verify_leadhub_signature(new_endpoint_secret(), BODY, header)
        assert not verify_leadhub_signature(secret, BODY, None)
        assert not verify_leadhub_signature(secret, BODY, header.upper())


class TestHeaders:
    def test_one_secret(self) -> None:
        secret = new_endpoint_secret()
        headers = signature_headers([secret], "dlv_01", 1700000000, BODY, "lead.created")
        assert headers == {
            "webhook-id": "dlv_01",
            "webhook-timestamp": "1700000000",
            "webhook-signature": standard_signature(secret, "dlv_01", 1700000000, BODY),
            "X-Leadhub-Signature": leadhub_signature(secret, BODY),
            "X-Leadhub-Event": "lead.created",
            "X-Leadhub-Delivery-Id": "dlv_01",
        }

    def test_rotation_signs_with_each_secret_and_plain_hmac_with_the_newest(self) -> None:
        new, old = new_endpoint_secret(), new_endpoint_secret()
        headers = signature_headers([new, old], "dlv_01", 1700000000, BODY, "lead.updated")
        assert headers["webhook-signature"].split(" ") == [
            standard_signature(new, "dlv_01", 1700000000, BODY),
            standard_signature(old, "dlv_01", 1700000000, BODY),
        ]
        assert headers["X-Leadhub-Signature"] == leadhub_signature(new, BODY)
        assert headers["X-Leadhub-Event"] == "lead.updated"

    def test_a_repeated_secret_is_signed_once(self) -> None:
        secret = new_endpoint_secret()
        headers = signature_headers([secret, secret], "dlv_01", 1700000000, BODY, "lead.created")
        assert len(headers["webhook-signature"].split(" ")) == 1

    def test_no_secret_is_an_error(self) -> None:
        with pytest.raises(ValueError, match="at least one signing secret"):
            signature_headers([], "dlv_01", 1700000000, BODY, "lead.created")

    def test_header_values_are_ascii_single_line(self) -> None:
        headers = headers_for([new_endpoint_secret(), new_endpoint_secret()])
        for value in headers.values():
            assert value.isascii() and "\n" not in value and "\r" not in value


class TestOfficialStandardWebhooksPackage:
    """The receiver's view: `pip install standardwebhooks`, `Webhook(secret).verify(body, headers)`."""

    def test_verifies_a_delivery(self) -> None:
        secret = new_endpoint_secret()
        assert Webhook(secret).verify(BODY, headers_for([secret])) == json.loads(BODY)

    def test_verifies_a_str_body_and_title_cased_headers(self) -> None:
        secret = new_endpoint_secret()
        headers = {name.title(): value for name, value in headers_for([secret]).items()}
        assert Webhook(secret).verify(BODY.decode(), headers) == json.loads(BODY)

    def test_during_a_rotation_either_secret_verifies(self) -> None:
        new, old = new_endpoint_secret(), new_endpoint_secret()
        headers = headers_for([new, old])
        assert Webhook(new).verify(BODY, headers) == json.loads(BODY)
        assert Webhook(old).verify(BODY, headers) == json.loads(BODY)

    def test_after_the_overlap_only_the_new_secret_verifies(self) -> None:
        new, old = new_endpoint_secret(), new_endpoint_secret()
        headers = headers_for([new])
        Webhook(new).verify(BODY, headers)
        with pytest.raises(WebhookVerificationError, match="No matching signature"):
            Webhook(old).verify(BODY, headers)

    def test_a_tampered_body_fails(self) -> None:
        secret = new_endpoint_secret()
        headers = headers_for([secret])
        with pytest.raises(WebhookVerificationError, match="No matching signature"):
            Webhook(secret).verify(BODY.replace(b"lead.created", b"lead.updated"), headers)

    def test_a_wrong_secret_fails(self) -> None:
        headers = headers_for([new_endpoint_secret(), new_endpoint_secret()])
        with pytest.raises(WebhookVerificationError, match="No matching signature"):
            Webhook(new_endpoint_secret()).verify(BODY, headers)

    def test_a_changed_id_fails(self) -> None:
        secret = new_endpoint_secret()
        headers = {**headers_for([secret]), "webhook-id": "dlv_other"}
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(BODY, headers)

    def test_a_stale_attempt_timestamp_fails(self) -> None:
        # Why every attempt is signed with its own time: a retry signed with the first attempt's
        # timestamp hours later would be refused by every receiver.
        secret = new_endpoint_secret()
        with pytest.raises(WebhookVerificationError, match="too old"):
            Webhook(secret).verify(BODY, headers_for([secret], timestamp=now() - 3600))

    def test_a_non_ascii_body_verifies(self) -> None:
        secret = new_endpoint_secret()
        body = json.dumps({"name": "李小龍 🐉"}, ensure_ascii=False).encode()
        assert Webhook(secret).verify(body, headers_for([secret], body=body)) == {"name": "李小龍 🐉"}


class TestOwnVerifier:
    """Our loopback receivers' verifier agrees with the official package."""

    @pytest.mark.parametrize("which", ["new", "old"])
    def test_accepts_what_the_package_accepts(self, which: str) -> None:
        new, old = new_endpoint_secret(), new_endpoint_secret()
        headers = headers_for([new, old])
        secret = new if which == "new" else old
        Webhook(secret).verify(BODY, headers)
        assert verify_standard_signature(secret, headers, BODY, now=now())

    def test_refuses_what_the_package_refuses(self) -> None:
        secret = new_endpoint_secret()
        headers = headers_for([secret])
        assert not verify_standard_signature(secret, headers, BODY + b" ", now=now())
        assert not verify_standard_signature(new_endpoint_secret(), headers, BODY, now=now())
        assert not verify_standard_signature(secret, headers, BODY, now=now() + 301)
        assert not verify_standard_signature(secret, headers, BODY, now=now() - 301)
        assert not verify_standard_signature(secret, {**headers, "webhook-timestamp": "x"}, BODY, now=now())
        assert not verify_standard_signature(secret, {**headers, "webhook-timestamp": "²"}, BODY, now=now())
        assert not verify_standard_signature(secret, {"webhook-id": "dlv_01"}, BODY, now=now())
        assert not verify_standard_signature("whsec_!!", headers, BODY, now=now())

    def test_header_names_are_case_insensitive(self) -> None:
        secret = new_endpoint_secret()
        headers = {name.upper(): value for name, value in headers_for([secret]).items()}
        assert verify_standard_signature(secret, headers, BODY, now=now())
