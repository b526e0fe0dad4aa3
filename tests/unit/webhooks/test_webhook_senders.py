"""The local senders and the verifiers agree, for every scheme: what ``sign`` makes with a
secret verifies with that secret and no other, over plain and base64 API Gateway events,
with Japanese payloads, and while a key rotates."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from sekisho.webhooks.delivery import Delivery, Verified
from sekisho.webhooks.errors import SignatureMismatch
from sekisho.webhooks.schemes import VERIFIERS
from tests.apigw import rest_event
from webhook_senders import SCHEMES, Signed, demo_secret, sign

NOW = 1_800_000_000
JAPANESE = json.dumps(
    {
        "id": "通知-0001",
        "event_id": "Ev日本",
        "type": "ADD_RECORD",
        "trigger": "FILE.UPLOADED",
        "record": {"顧客名": {"type": "SINGLE_LINE_TEXT", "value": "株式会社サンプル 🍣"}},
    },
    ensure_ascii=False,
).encode("utf-8")
EXPECTED_KEYS = {
    "standard": "msg_japanese",
    "stripe": "通知-0001",
    "github": f"sha256:{hashlib.sha256(JAPANESE).hexdigest()}",  # GitHub's headers are unsigned
    "box": "通知-0001",
    "slack": "Ev日本",
    "kintone": "通知-0001",
}


def _delivery(body: bytes, signed: Signed) -> Delivery:
    return Delivery.build(body, signed.headers, signed.query)


def _event(body: bytes, signed: Signed, *, base64_body: bool) -> dict[str, Any]:
    event = rest_event(
        "POST",
        "/webhooks/demo",
        resource="/webhooks/{source}",
        body=body,
        headers=signed.headers,
        base64_body=base64_body,
    )
    if signed.query:
        event["queryStringParameters"] = dict(signed.query)
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in signed.query.items()}
    return event


@pytest.mark.parametrize("scheme", SCHEMES)
def test_what_a_sender_signs_verifies_with_the_same_secret(scheme: str) -> None:
    secret = demo_secret(scheme)
    signed = sign(scheme, JAPANESE, secret, now=NOW, delivery_id="msg_japanese")

    verified = VERIFIERS[scheme](_delivery(JAPANESE, signed), secret, now=NOW)

    assert verified.dedupe_key == EXPECTED_KEYS[scheme]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_what_a_sender_signs_fails_with_another_secret(scheme: str) -> None:
    signed = sign(scheme, JAPANESE, demo_secret(scheme), now=NOW)

    with pytest.raises(SignatureMismatch):
        VERIFIERS[scheme](_delivery(JAPANESE, signed), demo_secret(scheme), now=NOW)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_base64_api_gateway_body_verifies_like_a_plain_one(scheme: str) -> None:
    secret = demo_secret(scheme)
    signed = sign(scheme, JAPANESE, secret, now=NOW, delivery_id="msg_japanese")

    plain = Delivery.from_event(_event(JAPANESE, signed, base64_body=False))
    encoded_event = _event(JAPANESE, signed, base64_body=True)
    encoded = Delivery.from_event(encoded_event)

    assert base64.b64decode(encoded_event["body"]) == JAPANESE
    assert encoded.body == plain.body == JAPANESE
    assert VERIFIERS[scheme](encoded, secret, now=NOW) == VERIFIERS[scheme](plain, secret, now=NOW)


@pytest.mark.parametrize(
    ("scheme", "event_type"),
    [
        ("standard", "ADD_RECORD"),
        ("stripe", "ADD_RECORD"),
        ("github", "push"),
        ("box", "FILE.UPLOADED"),
        ("slack", "ADD_RECORD"),
        ("kintone", "ADD_RECORD"),
    ],
)
def test_each_scheme_reports_its_event_type(scheme: str, event_type: str) -> None:
    secret = demo_secret(scheme)
    signed = sign(scheme, JAPANESE, secret, now=NOW)

    assert VERIFIERS[scheme](_delivery(JAPANESE, signed), secret, now=NOW).event_type == event_type


def test_a_slack_event_type_comes_from_the_inner_event_first() -> None:
    secret = demo_secret("slack")
    body = b'{"type": "event_callback", "event_id": "Ev1", "event": {"type": "app_mention"}}'
    signed = sign("slack", body, secret, now=NOW)

    assert VERIFIERS["slack"](_delivery(body, signed), secret, now=NOW) == Verified(
        "Ev1", "app_mention"
    )


def test_a_slack_url_verification_has_a_key_of_its_own_and_its_type() -> None:
    secret = demo_secret("slack")
    body = b'{"token": "x", "challenge": "abc", "type": "url_verification"}'
    signed = sign("slack", body, secret, now=NOW)

    verified = VERIFIERS["slack"](_delivery(body, signed), secret, now=NOW)

    assert verified.dedupe_key.startswith(f"ts:{NOW}:")
    assert verified.event_type == "url_verification"


@pytest.mark.parametrize(
    ("scheme", "retry_id"),
    [
        ("standard", "msg_1"),
        ("github", "msg_1"),
        # Box gives each attempt a new BOX-DELIVERY-ID; the body's id stays.
        ("box", "another-delivery"),
    ],
)
def test_a_redelivery_keeps_its_dedupe_key(scheme: str, retry_id: str) -> None:
    # A minute later; Standard Webhooks and Box sign each attempt afresh (GitHub signs no time).
    secret = demo_secret(scheme)
    first = sign(scheme, JAPANESE, secret, now=NOW, delivery_id="msg_1")
    retry = sign(scheme, JAPANESE, secret, now=NOW + 60, delivery_id=retry_id)

    keys = {
        VERIFIERS[scheme](_delivery(JAPANESE, signed), secret, now=NOW + 60).dedupe_key
        for signed in (first, retry)
    }

    assert len(keys) == 1


# -- rotation ------------------------------------------------------------------------------


def test_box_passes_when_only_the_secondary_key_matches() -> None:
    # Box has a new primary; the relay still holds the old one, and the shared secondary.
    at_box = {"primary": "new-primary", "secondary": "shared-secondary"}
    at_relay = {"primary": "old-primary", "secondary": "shared-secondary"}
    signed = sign("box", JAPANESE, at_box, now=NOW)

    assert (
        VERIFIERS["box"](_delivery(JAPANESE, signed), at_relay, now=NOW).dedupe_key == "通知-0001"
    )


def test_box_passes_with_only_the_secondary_key_configured() -> None:
    signed = sign("box", JAPANESE, {"primary": "p", "secondary": "s"}, now=NOW)

    assert VERIFIERS["box"](_delivery(JAPANESE, signed), {"secondary": "s"}, now=NOW)


def test_box_sender_without_a_secondary_key_sends_only_the_primary_signature() -> None:
    signed = sign("box", JAPANESE, {"primary": "p"}, now=NOW)

    assert "BOX-SIGNATURE-SECONDARY" not in signed.headers
    assert VERIFIERS["box"](
        _delivery(JAPANESE, signed), {"primary": "p", "secondary": "s"}, now=NOW
    )


def test_standard_sender_signing_with_two_keys_passes_with_either() -> None:
    # The spec's rotation: the sender lists a v1 signature per key it currently holds.
    old, new = demo_secret("standard"), demo_secret("standard")
    with_old = sign("standard", JAPANESE, old, now=NOW, delivery_id="msg_r")
    with_new = sign("standard", JAPANESE, new, now=NOW, delivery_id="msg_r")
    both = {
        **with_new.headers,
        "webhook-signature": f"{with_new.headers['webhook-signature']} "
        f"{with_old.headers['webhook-signature']}",
    }

    for secret in (old, new):
        assert VERIFIERS["standard"](Delivery.build(JAPANESE, both), secret, now=NOW)


# -- the senders themselves ----------------------------------------------------------------


@pytest.mark.parametrize("scheme", SCHEMES)
def test_demo_secrets_are_fresh_each_time(scheme: str) -> None:
    assert demo_secret(scheme) != demo_secret(scheme)


@pytest.mark.parametrize(
    ("scheme", "keys"),
    [
        ("standard", {"secret"}),
        ("stripe", {"secret"}),
        ("github", {"secret"}),
        ("box", {"primary", "secondary"}),
        ("slack", {"secret"}),
        ("kintone", {"secret"}),
    ],
)
def test_demo_secrets_have_the_shape_the_relay_reads(scheme: str, keys: set[str]) -> None:
    secret = demo_secret(scheme)

    assert set(secret) == keys
    assert all(isinstance(v, str) and len(v) >= 24 for v in secret.values())


@pytest.mark.parametrize("scheme", ["standard", "stripe"])
def test_standard_and_stripe_demo_secrets_look_like_the_providers(scheme: str) -> None:
    assert demo_secret(scheme)["secret"].startswith("whsec_")


def test_kintone_sender_puts_its_token_in_the_query_and_signs_nothing() -> None:
    secret = demo_secret("kintone")

    signed = sign("kintone", JAPANESE, secret, now=NOW)

    assert signed.query == {"token": secret["secret"]}
    assert set(signed.headers) == {"Content-Type"}


def test_an_unknown_scheme_is_refused_by_the_sender() -> None:
    with pytest.raises(ValueError, match="unknown webhook scheme"):
        sign("carrier-pigeon", b"{}", {"secret": "x"}, now=NOW)
    with pytest.raises(ValueError, match="unknown webhook scheme"):
        demo_secret("carrier-pigeon")
