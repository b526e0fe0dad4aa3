"""What every verifier refuses, and how: each attack is a row, each refusal a 401 of the
expected kind (malformed, mismatch: the only one after which the previous key is tried,
or stale), and nothing a sender sends can raise anything else."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sekisho.errors import ConfigurationError
from sekisho.webhooks.delivery import Delivery
from sekisho.webhooks.errors import (
    MalformedDelivery,
    SignatureInvalid,
    SignatureMismatch,
    StaleDelivery,
)
from sekisho.webhooks.schemes import VERIFIERS, _never_500, box, github, kintone, slack, standard
from sekisho.webhooks.schemes import stripe as stripe_scheme
from webhook_senders import sign

NOW = 1_800_000_000
BODY = json.dumps(
    {"id": "evt_1", "event_id": "Ev1", "type": "t", "trigger": "FILE.UPLOADED"}
).encode()
SECRETS: dict[str, dict[str, str]] = {
    "standard": {"secret": "whsec_" + base64.b64encode(b"s" * 32).decode()},
    "stripe": {"secret": "whsec_stripe-demo"},
    "github": {"secret": "github-demo"},
    "box": {"primary": "box-primary", "secondary": "box-secondary"},
    "slack": {"secret": "slack-demo"},
    "kintone": {"secret": "kintone-demo-token"},
}
OTHER_SECRETS: dict[str, dict[str, str]] = {
    "standard": {"secret": "whsec_" + base64.b64encode(b"o" * 32).decode()},
    "stripe": {"secret": "whsec_other"},
    "github": {"secret": "other"},
    "box": {"primary": "other-primary", "secondary": "other-secondary"},
    "slack": {"secret": "other"},
    "kintone": {"secret": "other-token"},
}
RAW = {
    "standard": standard.verify,
    "stripe": stripe_scheme.verify,
    "github": github.verify,
    "box": box.verify,
    "slack": slack.verify,
    "kintone": kintone.verify,
}


def signed(
    scheme: str,
    body: bytes = BODY,
    *,
    now: int = NOW,
    secret: Mapping[str, str] | None = None,
    sent_body: bytes | None = None,
    headers: Mapping[str, str | None] | None = None,
    query: Mapping[str, str | None] | None = None,
    repeat: str | None = None,
) -> Delivery:
    """A delivery signed as the sender would, then altered: ``headers``/``query`` replace
    values (None drops one), ``repeat`` sends a header (or kintone's token) twice."""
    made = sign(scheme, body, secret or SECRETS[scheme], now=now, delivery_id="d-1")
    header_pairs = _altered(made.headers, headers)
    query_pairs = _altered(made.query, query)
    if repeat:
        for pairs in (header_pairs, query_pairs):
            pairs += [(n, v) for n, v in pairs if n.lower() == repeat.lower()]
    return Delivery.build(body if sent_body is None else sent_body, header_pairs, query_pairs)


def _altered(
    values: Mapping[str, str], changes: Mapping[str, str | None] | None
) -> list[tuple[str, str]]:
    merged: dict[str, str | None] = {k.lower(): v for k, v in values.items()}
    merged.update({k.lower(): v for k, v in (changes or {}).items()})
    return [(k, v) for k, v in merged.items() if v is not None]


def _box_stamp(at: int) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat()


def drop(*names: str) -> dict[str, Any]:
    where = "query" if names == ("token",) else "headers"
    return {where: dict.fromkeys(names)}


def put(name: str, value: str) -> dict[str, Any]:
    return {"query": {name: value}} if name == "token" else {"headers": {name: value}}


def twice(name: str) -> dict[str, Any]:
    return {"repeat": name}


def _stripe_v0(template: str) -> Delivery:
    # The right digest, but labelled v0: a downgrade must not be honoured.
    right = sign("stripe", BODY, SECRETS["stripe"], now=NOW).headers["Stripe-Signature"]
    return Delivery.build(BODY, {"Stripe-Signature": template.format(right.split("v1=", 1)[1])})


def _box_signed_at(stamp: str) -> Delivery:
    key = SECRETS["box"]["primary"].encode()
    digest = hmac.new(key, BODY + stamp.encode(), hashlib.sha256).digest()
    headers = {
        "BOX-DELIVERY-TIMESTAMP": stamp,
        "BOX-SIGNATURE-PRIMARY": base64.b64encode(digest).decode(),
        "BOX-SIGNATURE-VERSION": "1",
        "BOX-SIGNATURE-ALGORITHM": "HmacSHA256",
    }
    return Delivery.build(BODY, headers)


def _box_swapped() -> Delivery:
    # Each signature under the other key: primary must be checked with primary, only.
    made = sign("box", BODY, SECRETS["box"], now=NOW).headers
    headers = {
        **made,
        "BOX-SIGNATURE-PRIMARY": made["BOX-SIGNATURE-SECONDARY"],
        "BOX-SIGNATURE-SECONDARY": made["BOX-SIGNATURE-PRIMARY"],
    }
    return Delivery.build(BODY, headers)


# Where the body is parsed for the event id (JSON arrays and non-objects are refused).
JSON_BODIED = ["stripe", "box", "slack", "kintone"]
ID_IN_BODY = ["stripe", "box", "kintone"]  # slack falls back to a key of its own
SIGNED_BODIES = ["standard", "stripe", "github", "box", "slack"]
WINDOWS = {"standard": (300, 300), "stripe": (300, 300), "box": (600, 300), "slack": (300, 300)}
ZEROS = "0" * 64
SLACK_TS = "x-slack-request-timestamp"
MALFORMED, MISMATCH, STALE = MalformedDelivery, SignatureMismatch, StaleDelivery

# (scheme, attack, how: keyword arguments for ``signed`` or a builder, refusal)
Attack = tuple[str, str, Mapping[str, Any] | Callable[[], Delivery], type[SignatureInvalid]]
ATTACKS: list[Attack] = [
    *[(s, "tampered-body", {"sent_body": BODY + b" "}, MISMATCH) for s in SIGNED_BODIES],
    *[(s, "wrong-secret", {"secret": OTHER_SECRETS[s]}, MISMATCH) for s in VERIFIERS],
    *[(s, "body-not-utf8", {"body": b'{"id": "\xff"}'}, MALFORMED) for s in VERIFIERS],
    *[(s, "json-array", {"body": b'[{"id": "evt_1"}]'}, MALFORMED) for s in JSON_BODIED],
    *[(s, "json-string", {"body": b'"evt_1"'}, MALFORMED) for s in JSON_BODIED],
    *[(s, "no-event-id", {"body": b'{"type": "t"}'}, MALFORMED) for s in ID_IN_BODY],
    *[(s, "id-not-text", {"body": b'{"id": {}, "event_id": [1]}'}, MALFORMED) for s in JSON_BODIED],
    *[(s, "stale", {"now": NOW - past - 1}, STALE) for s, (past, _) in WINDOWS.items()],
    *[(s, "future", {"now": NOW + future + 1}, STALE) for s, (_, future) in WINDOWS.items()],
    ("standard", "no-id", drop("webhook-id"), MALFORMED),
    ("standard", "no-timestamp", drop("webhook-timestamp"), MALFORMED),
    ("standard", "no-signature", drop("webhook-signature"), MALFORMED),
    ("standard", "id-twice", twice("webhook-id"), MALFORMED),
    ("standard", "signature-twice", twice("webhook-signature"), MALFORMED),
    ("standard", "garbage-signature", put("webhook-signature", "garbage"), MALFORMED),
    ("standard", "v2-only", put("webhook-signature", "v2,AAAA"), MALFORMED),
    ("standard", "v1a-only", put("webhook-signature", "v1a,AAAA"), MALFORMED),
    ("standard", "v1-bad-base64", put("webhook-signature", "v1,not*b64"), MISMATCH),
    ("standard", "v1-short", put("webhook-signature", "v1,AAAA"), MISMATCH),
    ("standard", "id-changed", put("webhook-id", "d-2"), MISMATCH),
    ("standard", "timestamp-changed", put("webhook-timestamp", str(NOW + 1)), MISMATCH),
    ("stripe", "no-header", drop("stripe-signature"), MALFORMED),
    ("stripe", "header-twice", twice("stripe-signature"), MALFORMED),
    ("stripe", "garbage", put("stripe-signature", "garbage"), MALFORMED),
    ("stripe", "no-v1", put("stripe-signature", f"t={NOW}"), MALFORMED),
    ("stripe", "no-t", put("stripe-signature", f"v1={ZEROS}"), MALFORMED),
    ("stripe", "two-t", put("stripe-signature", f"t={NOW},t={NOW},v1={ZEROS}"), MALFORMED),
    ("stripe", "v1-bad-hex", put("stripe-signature", f"t={NOW},v1={'z' * 64}"), MALFORMED),
    ("stripe", "v1-short", put("stripe-signature", f"t={NOW},v1={'0' * 63}"), MALFORMED),
    ("stripe", "v0-only", lambda: _stripe_v0(f"t={NOW},v0={{}}"), MALFORMED),
    ("stripe", "v1-wrong-v0-right", lambda: _stripe_v0(f"t={NOW},v1={ZEROS},v0={{}}"), MISMATCH),
    ("github", "no-signature", drop("x-hub-signature-256"), MALFORMED),
    ("github", "no-delivery", drop("x-github-delivery"), MALFORMED),
    ("github", "no-hook-id", drop("x-github-hook-id"), MALFORMED),
    ("github", "signature-twice", twice("x-hub-signature-256"), MALFORMED),
    ("github", "delivery-twice", twice("x-github-delivery"), MALFORMED),
    ("github", "sha1", put("x-hub-signature-256", "sha1=" + "0" * 40), MALFORMED),
    ("github", "bad-hex", put("x-hub-signature-256", "sha256=" + "g" * 64), MALFORMED),
    ("github", "long-hex", put("x-hub-signature-256", "sha256=" + "0" * 66), MALFORMED),
    ("github", "no-prefix", put("x-hub-signature-256", ZEROS), MALFORMED),
    ("box", "wrong-keys", {"secret": OTHER_SECRETS["box"]}, MISMATCH),
    ("box", "primary-only-wrong", {"secret": {"primary": "other"}}, MISMATCH),
    ("box", "signatures-swapped", _box_swapped, MISMATCH),
    ("box", "no-signatures", drop("box-signature-primary", "box-signature-secondary"), MALFORMED),
    ("box", "no-version", drop("box-signature-version"), MALFORMED),
    ("box", "version-2", put("box-signature-version", "2"), MALFORMED),
    ("box", "no-algorithm", drop("box-signature-algorithm"), MALFORMED),
    ("box", "algorithm-sha1", put("box-signature-algorithm", "HmacSHA1"), MALFORMED),
    ("box", "no-timestamp", drop("box-delivery-timestamp"), MALFORMED),
    ("box", "timestamp-twice", twice("box-delivery-timestamp"), MALFORMED),
    ("box", "primary-twice", twice("box-signature-primary"), MALFORMED),
    ("box", "primary-bad-base64", put("box-signature-primary", "not*b64"), MALFORMED),
    ("box", "primary-short", put("box-signature-primary", "AAAA"), MALFORMED),
    ("box", "timestamp-changed", put("box-delivery-timestamp", _box_stamp(NOW + 1)), MISMATCH),
    ("slack", "no-signature", drop("x-slack-signature"), MALFORMED),
    ("slack", "no-timestamp", drop("x-slack-request-timestamp"), MALFORMED),
    ("slack", "signature-twice", twice("x-slack-signature"), MALFORMED),
    ("slack", "v1", put("x-slack-signature", "v1=" + ZEROS), MALFORMED),
    ("slack", "bad-hex", put("x-slack-signature", "v0=" + "x" * 64), MALFORMED),
    ("slack", "timestamp-changed", put("x-slack-request-timestamp", str(NOW - 1)), MISMATCH),
    ("kintone", "no-token", drop("token"), MALFORMED),
    ("kintone", "empty-token", put("token", ""), MALFORMED),
    ("kintone", "token-twice", twice("token"), MALFORMED),
    ("kintone", "token-prefix", put("token", "kintone-demo"), MISMATCH),
    ("kintone", "token-longer", put("token", "kintone-demo-token!"), MISMATCH),
    ("kintone", "token-other-case", put("token", "KINTONE-DEMO-TOKEN"), MISMATCH),
    ("kintone", "token-lone-surrogate", put("token", "\ud800"), MALFORMED),
]  # fmt: skip

# Timestamps a lenient parser would read (int(), float(), fromisoformat()) and we refuse.
BAD_SECONDS = [
    "",
    "abc",
    "-1",
    "+1800000000",
    " 1800000000",
    "1800000000 ",
    "1800000000\n",
    "1_800_000_000",
    "1800000000.0",
    "1.8e9",
    "NaN",
    "inf",
    "0x6b49d200",
    "１８００００００００",  # full-width digits
    "9" * 13,
    "9" * 5000,
]
BAD_BOX_STAMPS = [
    "yesterday",
    "1800000000",
    "2027-01-15 08:00:00+00:00",
    "2027-01-15T08:00:00",  # no offset: whose clock?
    "2027-01-15t08:00:00z",
    "2027-13-01T00:00:00Z",
    "2027-02-30T00:00:00Z",
    "2027-01-15T25:00:00Z",
    "2027-01-15T08:00:00+24:00",
    "0000-01-01T00:00:00Z",
    "2027-01-15T08:00:00.1234567Z",
    "NaN",
]
# Real times, correctly signed, far from now: stale, not a crash.
EXTREME_BOX_STAMPS = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"]
ATTACKS += [
    *[("standard", f"ts-{t[:16]!r}", put("webhook-timestamp", t), MALFORMED) for t in BAD_SECONDS],
    *[("slack", f"ts-{t[:16]!r}", put(SLACK_TS, t), MALFORMED) for t in BAD_SECONDS],
    *[
        ("stripe", f"ts-{t[:16]!r}", put("stripe-signature", f"t={t},v1={ZEROS}"), MALFORMED)
        for t in BAD_SECONDS
    ],
    *[("box", f"ts-{t!r}", put("box-delivery-timestamp", t), MALFORMED) for t in BAD_BOX_STAMPS],
    *[("box", f"signed-at-{t}", partial(_box_signed_at, t), STALE) for t in EXTREME_BOX_STAMPS],
]  # fmt: skip


def _delivery(scheme: str, how: Mapping[str, Any] | Callable[[], Delivery]) -> Delivery:
    return how() if callable(how) else signed(scheme, **how)


@pytest.mark.parametrize(
    ("scheme", "how", "refusal"),
    [
        pytest.param(scheme, how, refusal, id=f"{scheme}-{name}")
        for scheme, name, how, refusal in ATTACKS
    ],
)
def test_verifier_refuses_with_a_401_of_the_expected_kind(
    scheme: str, how: Mapping[str, Any] | Callable[[], Delivery], refusal: type[SignatureInvalid]
) -> None:
    with pytest.raises(SignatureInvalid) as refused:
        RAW[scheme](_delivery(scheme, how), SECRETS[scheme], now=NOW)

    assert type(refused.value) is refusal
    assert refused.value.status == 401
    assert refused.value.code == "signature_invalid"


@pytest.mark.parametrize("scheme", sorted(WINDOWS))
@pytest.mark.parametrize("edge", ["past", "future"])
def test_a_delivery_exactly_at_the_edge_of_the_window_is_accepted(scheme: str, edge: str) -> None:
    past, future = WINDOWS[scheme]
    signed_at = NOW - past if edge == "past" else NOW + future

    assert VERIFIERS[scheme](signed(scheme, now=signed_at), SECRETS[scheme], now=NOW)


def test_github_has_no_window_and_relies_on_the_dedupe_key() -> None:
    a_year_later = NOW + 365 * 86400

    verified = VERIFIERS["github"](signed("github"), SECRETS["github"], now=a_year_later)

    assert verified.dedupe_key.startswith("sha256:")  # the unsigned GUID is not the key


def test_refusals_all_say_the_same_thing_to_the_sender() -> None:
    problems = set()
    for scheme, _, how, _ in ATTACKS:
        with pytest.raises(SignatureInvalid) as refused:
            RAW[scheme](_delivery(scheme, how), SECRETS[scheme], now=NOW)
        problems.add(json.dumps(refused.value.problem(), sort_keys=True))

    assert len(problems) == 1


# -- the operator's mistakes are not the sender's -----------------------------------------

BAD_SECRETS = [
    *[(s, {}) for s in VERIFIERS],
    *[(s, {"secret": ""}) for s in ["standard", "stripe", "github", "slack", "kintone"]],
    *[(s, {"secret": 12345}) for s in ["standard", "stripe", "github", "slack", "kintone"]],
    ("standard", {"secret": "whsec_not*base64"}),
    ("standard", {"secret": "whsec_"}),
    ("box", {"primary": "", "secondary": ""}),
    ("box", {"primary": None, "secondary": None}),
    ("box", {"primary": ["x"]}),
]


@pytest.mark.parametrize(("scheme", "secret"), BAD_SECRETS)
def test_a_secret_of_the_wrong_shape_is_a_configuration_error(
    scheme: str, secret: dict[str, Any]
) -> None:
    with pytest.raises(ConfigurationError) as failed:
        VERIFIERS[scheme](signed(scheme), secret, now=NOW)

    assert failed.value.status == 500
    # The detail names the key at most, never a value.
    assert all(str(v) not in str(failed.value) for v in secret.values() if v)


def test_extra_keys_in_the_secret_are_ignored() -> None:
    secret = {**SECRETS["slack"], "kind": "webhook", "rotated_at": 1_700_000_000}

    assert VERIFIERS["slack"](signed("slack"), secret, now=NOW).dedupe_key == "Ev1"


# -- nothing else escapes ------------------------------------------------------------------

HEADER_NAMES = sorted(
    {
        "webhook-id", "webhook-timestamp", "webhook-signature", "stripe-signature",
        "x-hub-signature-256", "x-github-delivery", "x-github-hook-id", "x-github-event",
        "box-delivery-timestamp", "box-signature-primary", "box-signature-secondary",
        "box-signature-version", "box-signature-algorithm",
        "x-slack-signature", "x-slack-request-timestamp",
    }
)  # fmt: skip
# Text near the formats the verifiers parse, so the fuzz reaches past the first check.
NEAR_MISS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["v1,", "v0=", "sha256=", "t=1800000000,v1=", "1", "HmacSHA256", "2027-"]
    ).flatmap(lambda prefix: st.text(max_size=70).map(lambda tail: prefix + tail)),
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(BAD_SECONDS + BAD_BOX_STAMPS),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scheme=st.sampled_from(sorted(RAW)),
    headers=st.lists(st.tuples(st.sampled_from(HEADER_NAMES), NEAR_MISS), max_size=8),
    token=st.lists(NEAR_MISS, max_size=2),
    body=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)),
)
def test_random_headers_and_bodies_only_ever_raise_signature_invalid(
    scheme: str, headers: list[tuple[str, str]], token: list[str], body: bytes
) -> None:
    delivery = Delivery.build(body, headers, [("token", t) for t in token])

    with contextlib.suppress(SignatureInvalid):
        RAW[scheme](delivery, SECRETS[scheme], now=NOW)


@settings(max_examples=300, deadline=None)
@given(
    scheme=st.sampled_from(sorted(RAW)),
    replaced=st.data(),
    body=st.one_of(st.just(BODY), st.binary(max_size=120)),
)
def test_a_signed_delivery_with_one_value_replaced_by_junk_only_raises_signature_invalid(
    scheme: str, replaced: st.DataObject, body: bytes
) -> None:
    made = sign(scheme, BODY, SECRETS[scheme], now=NOW)
    values = {**made.headers, **{f"?{k}": v for k, v in made.query.items()}}
    name = replaced.draw(st.sampled_from(sorted(values)))
    values[name] = replaced.draw(NEAR_MISS)
    delivery = Delivery.build(
        body,
        [(k, v) for k, v in values.items() if not k.startswith("?")],
        [(k[1:], v) for k, v in values.items() if k.startswith("?")],
    )

    with contextlib.suppress(SignatureInvalid):
        RAW[scheme](delivery, SECRETS[scheme], now=NOW)


def test_a_verifier_bug_still_answers_401_not_500() -> None:
    def broken(delivery: Delivery, secret: Mapping[str, Any], *, now: float) -> Any:
        return int("not a number")

    with pytest.raises(MalformedDelivery) as refused:
        _never_500(broken)(signed("github"), SECRETS["github"], now=NOW)

    assert isinstance(refused.value.__cause__, ValueError)


def test_a_configuration_error_passes_the_guard_unchanged() -> None:
    with pytest.raises(ConfigurationError):
        VERIFIERS["github"](signed("github"), {}, now=NOW)


def test_every_scheme_has_a_verifier() -> None:
    assert sorted(VERIFIERS) == ["box", "github", "kintone", "slack", "standard", "stripe"]
