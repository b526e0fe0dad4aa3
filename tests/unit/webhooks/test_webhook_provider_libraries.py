"""The verifiers against the providers' own Python libraries: what ``standardwebhooks`` and
``stripe`` sign passes, and over the same inputs we refuse what they refuse. Where we are
stricter than a library, the difference is listed here on purpose, row by row."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import standardwebhooks
import stripe
from hypothesis import given, settings
from hypothesis import strategies as st

from sekisho.webhooks.delivery import Delivery
from sekisho.webhooks.errors import SignatureInvalid
from sekisho.webhooks.schemes import VERIFIERS

NOW = 1_800_000_000
JAPANESE = json.dumps(
    {"id": "evt_日本", "type": "申込.受付", "data": {"氏名": "山田 太郎", "備考": "①②③ 🍣"}},
    ensure_ascii=False,
)
STANDARD_SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
STRIPE_SECRET = "whsec_test_secret"


def _accepts(scheme: str, delivery: Delivery, secret: str, now: float) -> bool:
    try:
        VERIFIERS[scheme](delivery, {"secret": secret}, now=now)
    except SignatureInvalid:
        return False
    return True


# --- standardwebhooks ---------------------------------------------------------------------


def _standard_headers(secret: str, msg_id: str, timestamp: int, body: str) -> dict[str, str]:
    signature = standardwebhooks.Webhook(secret).sign(
        msg_id=msg_id, timestamp=datetime.fromtimestamp(timestamp, UTC), data=body
    )
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


@pytest.mark.parametrize(
    "body",
    [
        pytest.param('{"type": "invoice.paid", "data": {}}', id="ascii-json"),
        pytest.param(JAPANESE, id="japanese-json"),
        pytest.param("not json at all", id="plain-text"),
    ],
)
@pytest.mark.parametrize(
    "secret",
    [
        pytest.param(STANDARD_SECRET, id="whsec"),
        pytest.param(STANDARD_SECRET.removeprefix("whsec_"), id="no-prefix"),
        pytest.param("whsec_" + base64.b64encode(b"k" * 31).decode().rstrip("="), id="unpadded"),
    ],
)
def test_what_standardwebhooks_signs_verifies(secret: str, body: str) -> None:
    headers = _standard_headers(secret, "msg_1", NOW, body)

    verified = VERIFIERS["standard"](
        Delivery.build(body.encode("utf-8"), headers), {"secret": secret}, now=NOW
    )

    assert verified.dedupe_key == "msg_1"


def test_standard_event_type_is_the_json_type_when_there_is_one() -> None:
    body = JAPANESE
    headers = _standard_headers(STANDARD_SECRET, "msg_2", NOW, body)

    verified = VERIFIERS["standard"](
        Delivery.build(body.encode(), headers), {"secret": STANDARD_SECRET}, now=NOW
    )

    assert verified.event_type == "申込.受付"


# Inputs on which standardwebhooks 1.1.0 raises something other than its own
# WebhookVerificationError (its quirks); ours answers every one with a 401.
STANDARD_LIBRARY_QUIRKS = [
    pytest.param(b"{}", "v1", ValueError, id="entry-without-comma"),
    pytest.param(b"{}", "v1,a,b", ValueError, id="entry-with-two-commas"),
    pytest.param(b"{}", "v1,not*base64", binascii.Error, id="v1-not-base64"),
    pytest.param(b"\xff\xfe{}", None, UnicodeDecodeError, id="body-not-utf8"),
]


@pytest.mark.parametrize(("body", "signature", "library_raises"), STANDARD_LIBRARY_QUIRKS)
def test_where_standardwebhooks_crashes_we_refuse_with_a_401(
    body: bytes, signature: str | None, library_raises: type[Exception]
) -> None:
    now = int(time.time())
    key = base64.b64decode(STANDARD_SECRET.removeprefix("whsec_"))
    good = base64.b64encode(hmac.new(key, f"msg_q.{now}.".encode() + body, "sha256").digest())
    headers = {
        "webhook-id": "msg_q",
        "webhook-timestamp": str(now),
        "webhook-signature": signature or f"v1,{good.decode()}",
    }

    with pytest.raises(library_raises):
        standardwebhooks.Webhook(STANDARD_SECRET).verify(body, headers)
    with pytest.raises(SignatureInvalid) as refused:
        VERIFIERS["standard"](Delivery.build(body, headers), {"secret": STANDARD_SECRET}, now=now)
    assert refused.value.status == 401


# Mutations of a good delivery that both implementations must judge alike.
MUTATIONS: dict[str, Callable[[dict[str, str], str], tuple[dict[str, str], str]]] = {
    "none": lambda h, b: (h, b),
    "body-appended": lambda h, b: (h, b + " "),
    "body-changed": lambda h, b: (h, b.replace("a", "b", 1) if "a" in b else "a" + b),
    "other-id": lambda h, b: ({**h, "webhook-id": h["webhook-id"] + "x"}, b),
    "other-timestamp": lambda h, b: (
        {**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) + 1)},
        b,
    ),
    "signature-of-other-key": lambda h, b: (
        {**h, "webhook-signature": "v1," + base64.b64encode(b"\0" * 32).decode()},
        b,
    ),
    "v2-only": lambda h, b: ({**h, "webhook-signature": "v2" + h["webhook-signature"][2:]}, b),
    "extra-wrong-v1-first": lambda h, b: (
        {**h, "webhook-signature": "v1,AAAA " + h["webhook-signature"]},
        b,
    ),
    "no-id": lambda h, b: ({k: v for k, v in h.items() if k != "webhook-id"}, b),
    "no-timestamp": lambda h, b: ({k: v for k, v in h.items() if k != "webhook-timestamp"}, b),
    "no-signature": lambda h, b: ({k: v for k, v in h.items() if k != "webhook-signature"}, b),
}
# Away from the window's edges, so the two clocks (read a moment apart) cannot disagree.
OFFSETS = st.one_of(st.integers(-900, -305), st.integers(-295, 295), st.integers(305, 900))


@settings(max_examples=150, deadline=None)
@given(
    key=st.binary(min_size=1, max_size=64),
    msg_id=st.from_regex(r"msg_[A-Za-z0-9]{1,24}", fullmatch=True),
    body=st.text(max_size=200),
    offset=OFFSETS,
    mutation=st.sampled_from(sorted(MUTATIONS)),
)
def test_standard_verifier_agrees_with_standardwebhooks(
    key: bytes, msg_id: str, body: str, offset: int, mutation: str
) -> None:
    secret = "whsec_" + base64.b64encode(key).decode()
    signed_at = int(time.time()) + offset
    headers, sent_body = MUTATIONS[mutation](
        _standard_headers(secret, msg_id, signed_at, body), body
    )

    try:
        standardwebhooks.Webhook(secret).verify(sent_body, headers, json_parse=False)
    except standardwebhooks.WebhookVerificationError:
        library_accepts = False
    else:
        library_accepts = True
    delivery = Delivery.build(sent_body.encode("utf-8"), headers)

    assert _accepts("standard", delivery, secret, time.time()) is library_accepts


# --- stripe -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param('{"id": "evt_1", "type": "payment_intent.succeeded"}', id="ascii-json"),
        pytest.param(JAPANESE, id="japanese-json"),
    ],
)
def test_what_stripe_signs_verifies(body: str) -> None:
    header = stripe.WebhookSignature.generate_signature_header(body, STRIPE_SECRET, NOW)

    verified = VERIFIERS["stripe"](
        Delivery.build(body.encode("utf-8"), {"Stripe-Signature": header}),
        {"secret": STRIPE_SECRET},
        now=NOW,
    )

    assert verified.dedupe_key == json.loads(body)["id"]
    assert verified.event_type == json.loads(body)["type"]


STRIPE_BODY = '{"id": "evt_1", "type": "charge.succeeded", "note": "日本語"}'


def _v1(timestamp: int, body: str = STRIPE_BODY, secret: str = STRIPE_SECRET) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()


# (header made from the current time, body sent) -> the same verdict from stripe and us.
STRIPE_AGREES: list[tuple[str, Callable[[int], str], str, bool]] = [
    ("valid", lambda t: f"t={t},v1={_v1(t)}", STRIPE_BODY, True),
    ("second-v1-right", lambda t: f"t={t},v1={'0' * 64},v1={_v1(t)}", STRIPE_BODY, True),
    ("v0-beside-v1", lambda t: f"t={t},v1={_v1(t)},v0={'0' * 64}", STRIPE_BODY, True),
    ("v0-only", lambda t: f"t={t},v0={_v1(t)}", STRIPE_BODY, False),
    ("v1-wrong-v0-right", lambda t: f"t={t},v1={'0' * 64},v0={_v1(t)}", STRIPE_BODY, False),
    ("tampered-body", lambda t: f"t={t},v1={_v1(t)}", STRIPE_BODY + " ", False),
    ("wrong-secret", lambda t: f"t={t},v1={_v1(t, secret='whsec_other')}", STRIPE_BODY, False),
    ("other-timestamp", lambda t: f"t={t + 1},v1={_v1(t)}", STRIPE_BODY, False),
    ("stale", lambda t: f"t={t - 400},v1={_v1(t - 400)}", STRIPE_BODY, False),
    ("no-timestamp", lambda t: f"v1={_v1(t)}", STRIPE_BODY, False),
    ("no-v1", lambda t: f"t={t}", STRIPE_BODY, False),
    ("timestamp-not-a-number", lambda t: f"t=soon,v1={_v1(t)}", STRIPE_BODY, False),
    ("garbage", lambda t: "garbage", STRIPE_BODY, False),
    ("empty", lambda t: "", STRIPE_BODY, False),
    ("short-v1", lambda t: f"t={t},v1={_v1(t)[:-1]}", STRIPE_BODY, False),
]


def _stripe_accepts(header: str, body: str) -> bool:
    try:
        stripe.WebhookSignature.verify_header(body, header, STRIPE_SECRET, tolerance=300)
    except stripe.SignatureVerificationError:
        return False
    return True


@pytest.mark.parametrize(
    ("header", "body", "accepted"),
    [pytest.param(h, b, a, id=name) for name, h, b, a in STRIPE_AGREES],
)
def test_stripe_verifier_agrees_with_stripe_python(
    header: Callable[[int], str], body: str, accepted: bool
) -> None:
    now = int(time.time())
    value = header(now)
    delivery = Delivery.build(body.encode(), {"Stripe-Signature": value} if value else {})

    assert _stripe_accepts(value, body) is accepted
    assert _accepts("stripe", delivery, STRIPE_SECRET, now) is accepted


# Where stripe-python is lenient and we are not (or, for upper-case hex, the reverse).
STRIPE_DIFFERS: list[tuple[str, Callable[[int], str], bool]] = [
    # Its library only looks at the past; a forward-dated delivery is refused here.
    ("future-timestamp", lambda t: f"t={t + 400},v1={_v1(t + 400)}", False),
    # int() reads these; they are not what Stripe sends.
    ("timestamp-with-plus", lambda t: f"t=+{t},v1={_v1(t)}", False),
    ("timestamp-with-space", lambda t: f"t= {t},v1={_v1(t)}", False),
    ("timestamp-twice", lambda t: f"t={t},t={t + 9},v1={_v1(t)}", False),
    ("item-without-equals", lambda t: f"t={t},v1={_v1(t)},junk", False),
    # The same digest in upper-case hex: harmless, so we read hex case-insensitively.
    ("upper-case-hex", lambda t: f"t={t},v1={_v1(t).upper()}", True),
]


@pytest.mark.parametrize(
    ("header", "we_accept"),
    [pytest.param(h, a, id=name) for name, h, a in STRIPE_DIFFERS],
)
def test_stripe_verifier_differs_from_stripe_python_only_as_listed(
    header: Callable[[int], str], we_accept: bool
) -> None:
    now = int(time.time())
    value = header(now)
    delivery = Delivery.build(STRIPE_BODY.encode(), {"Stripe-Signature": value})

    assert _stripe_accepts(value, STRIPE_BODY) is not we_accept
    assert _accepts("stripe", delivery, STRIPE_SECRET, now) is we_accept


def _as_svix(headers: dict[str, str]) -> dict[str, str]:
    return {name.replace("webhook-", "svix-"): value for name, value in headers.items()}


def test_svixs_default_header_names_verify_too() -> None:
    headers = _as_svix(_standard_headers(STANDARD_SECRET, "msg_svix", NOW, JAPANESE))

    verified = VERIFIERS["standard"](
        Delivery.build(JAPANESE.encode(), headers), {"secret": STANDARD_SECRET}, now=NOW
    )

    assert verified.dedupe_key == "msg_svix"


def test_a_delivery_mixing_webhook_and_svix_headers_is_refused() -> None:
    headers = _standard_headers(STANDARD_SECRET, "msg_mix", NOW, JAPANESE)
    headers["svix-id"] = headers.pop("webhook-id")

    with pytest.raises(SignatureInvalid):
        VERIFIERS["standard"](
            Delivery.build(JAPANESE.encode(), headers), {"secret": STANDARD_SECRET}, now=NOW
        )
