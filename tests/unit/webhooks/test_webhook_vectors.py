"""Each verifier against the example each provider publishes: fixed inputs with a fixed
signature computed by the provider, so a reading of the spec shared by our verifier and
our sender cannot pass them by agreeing with itself.

Where a vector's body carries no dedupe key, the order inside a verifier (signature, then
time window, then body) still proves the signature step: a correct signature with the
clock moved past the window is *stale*; a wrong key is a *mismatch*.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import pytest

from sekisho.webhooks.delivery import Delivery, Verified
from sekisho.webhooks.errors import MalformedDelivery, SignatureMismatch, StaleDelivery
from sekisho.webhooks.schemes import VERIFIERS

# --- GitHub -------------------------------------------------------------------------------
# https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
# ("Testing the webhook payload validation"; github/docs,
# content/webhooks/using-webhooks/validating-webhook-deliveries.md).
GITHUB_SECRET = {"secret": "It's a Secret to Everybody"}
GITHUB_BODY = b"Hello, World!"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def _github(signature: str) -> Delivery:
    # The doc gives only the body and the signature; the delivery headers are ours.
    return Delivery.build(
        GITHUB_BODY,
        {
            "X-Hub-Signature-256": signature,
            "X-GitHub-Event": "ping",
            "X-GitHub-Hook-ID": "1",
            "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        },
    )


def test_github_documented_example_verifies() -> None:
    verified = VERIFIERS["github"](_github(GITHUB_SIGNATURE), GITHUB_SECRET, now=0)

    digest = hashlib.sha256(GITHUB_BODY).hexdigest()
    assert verified == Verified(f"sha256:{digest}", "ping")


def test_github_documented_example_with_another_secret_is_a_mismatch() -> None:
    with pytest.raises(SignatureMismatch):
        VERIFIERS["github"](_github(GITHUB_SIGNATURE), {"secret": "It's a Secret to Nobody"}, now=0)


def test_github_documented_example_with_one_digit_changed_is_a_mismatch() -> None:
    with pytest.raises(SignatureMismatch):
        VERIFIERS["github"](_github(GITHUB_SIGNATURE[:-1] + "8"), GITHUB_SECRET, now=0)


# --- Slack --------------------------------------------------------------------------------
# https://api.slack.com/authentication/verifying-requests-from-slack (now
# docs.slack.dev/authentication/verifying-requests-from-slack), "Step-by-step walk-through":
# a slash command, form-encoded.
SLACK_SECRET = {"secret": "8f742231b10e8888abcd99yyyzzz85a5"}
SLACK_TIMESTAMP = 1531420618
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    b"%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
SLACK_DELIVERY = Delivery.build(
    SLACK_BODY,
    {"X-Slack-Request-Timestamp": str(SLACK_TIMESTAMP), "X-Slack-Signature": SLACK_SIGNATURE},
)


def test_slack_documented_example_verifies_with_a_timestamp_and_body_digest_key() -> None:
    verified = VERIFIERS["slack"](SLACK_DELIVERY, SLACK_SECRET, now=SLACK_TIMESTAMP + 30)

    # A slash command has no event_id: its key is the signed timestamp and the body's digest.
    assert verified.dedupe_key.startswith(f"ts:{SLACK_TIMESTAMP}:")
    assert len(verified.dedupe_key.rsplit(":", 1)[1]) == 64
    assert verified.event_type is None


def test_slack_documented_example_six_minutes_later_is_stale() -> None:
    with pytest.raises(StaleDelivery):
        VERIFIERS["slack"](SLACK_DELIVERY, SLACK_SECRET, now=SLACK_TIMESTAMP + 360)


def test_slack_documented_example_with_another_secret_is_a_mismatch() -> None:
    with pytest.raises(SignatureMismatch):
        VERIFIERS["slack"](SLACK_DELIVERY, {"secret": "8f742231b10e8888abcd99yyyzzz85a6"}, now=0)


# --- Standard Webhooks --------------------------------------------------------------------
# standard-webhooks/standard-webhooks, libraries/python/tests/test_webhooks.py
# (test_sign_function; the same vector is in svix/svix-webhooks' library tests).
STANDARD_SECRET = {"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
STANDARD_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
STANDARD_TIMESTAMP = 1614265330
STANDARD_BODY = b'{"test": 2432232314}'
STANDARD_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def _standard(signature: str) -> Delivery:
    return Delivery.build(
        STANDARD_BODY,
        {
            "webhook-id": STANDARD_ID,
            "webhook-timestamp": str(STANDARD_TIMESTAMP),
            "webhook-signature": signature,
        },
    )


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id="with-prefix"),
        # The library's tests use the secret with and without its prefix.
        pytest.param("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id="without-prefix"),
    ],
)
def test_standard_webhooks_reference_vector_verifies(secret: str) -> None:
    verified = VERIFIERS["standard"](
        _standard(STANDARD_SIGNATURE), {"secret": secret}, now=STANDARD_TIMESTAMP
    )

    assert verified == Verified(STANDARD_ID, None)


def test_standard_webhooks_reference_vector_among_other_entries_verifies() -> None:
    # As the library's test_multi_sig_payload_is_valid: other versions and wrong v1 entries
    # beside the right one.
    header = " ".join(
        [
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            STANDARD_SIGNATURE,
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
        ]
    )

    verified = VERIFIERS["standard"](_standard(header), STANDARD_SECRET, now=STANDARD_TIMESTAMP)

    assert verified.dedupe_key == STANDARD_ID


def test_standard_webhooks_reference_vector_with_last_byte_changed_is_a_mismatch() -> None:
    # The library's test_invalid_signature_raises_error changes the last base64 digit.
    with pytest.raises(SignatureMismatch):
        VERIFIERS["standard"](
            _standard("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="),
            STANDARD_SECRET,
            now=STANDARD_TIMESTAMP,
        )


@pytest.mark.parametrize("offset", [-301, 301], ids=["too-old", "too-new"])
def test_standard_webhooks_reference_vector_outside_five_minutes_is_stale(offset: int) -> None:
    with pytest.raises(StaleDelivery):
        VERIFIERS["standard"](
            _standard(STANDARD_SIGNATURE), STANDARD_SECRET, now=STANDARD_TIMESTAMP - offset
        )


# --- Box ----------------------------------------------------------------------------------
# box/box-python-sdk, test/unit/object/test_webhook.py (test_validate_message), signed with
# the keys 'SamplePrimaryKey' and 'SampleSecondaryKey' (also box-node-sdk's samples).
BOX_BODY = (
    b'{"type":"webhook_event","webhook":{"id":"1234567890"},"trigger":"FILE.UPLOADED",'
    b'"source":{"id":"1234567890","type":"file","name":"Test.txt"}}'
)
BOX_STAMP = "2020-01-01T00:00:00-07:00"
BOX_SENT_AT = datetime.fromisoformat(BOX_STAMP).timestamp()


def _box(version: str = "1", algorithm: str = "HmacSHA256") -> Delivery:
    return Delivery.build(
        BOX_BODY,
        {
            "box-delivery-id": "f96bb54b-ee16-4fc5-aa65-8c2d9e5b546f",
            "box-delivery-timestamp": BOX_STAMP,
            "box-signature-algorithm": algorithm,
            "box-signature-primary": "6TfeAW3A1PASkgboxxA5yqHNKOwFyMWuEXny/FPD5hI=",
            "box-signature-secondary": "v+1CD1Jdo3muIcbpv5lxxgPglOqMfsNHPV899xWYydo=",
            "box-signature-version": version,
        },
    )


# The SDK's table, row for row; "True" there means the signature step passes here.
BOX_SDK_ROWS = [
    ("1", "HmacSHA256", "SamplePrimaryKey", "SampleSecondaryKey", True),
    ("1", "HmacSHA256", "SamplePrimaryKey", None, True),
    ("1", "HmacSHA256", "WrongPrimaryKey", "SampleSecondaryKey", True),
    ("1", "HmacSHA256", "WrongPrimaryKey", "WrongSecondaryKey", False),
    ("2", "HmacSHA256", "SamplePrimaryKey", "SampleSecondaryKey", False),
    ("1", "WrongAlgorithm", "SamplePrimaryKey", "SampleSecondaryKey", False),
]


@pytest.mark.parametrize(("version", "algorithm", "primary", "secondary", "valid"), BOX_SDK_ROWS)
def test_box_sdk_vectors_pass_the_signature_step_exactly_where_the_sdk_says(
    version: str, algorithm: str, primary: str, secondary: str | None, valid: bool
) -> None:
    secret = {"primary": primary, "secondary": secondary}
    an_hour_late = BOX_SENT_AT + 3600

    with pytest.raises((StaleDelivery, SignatureMismatch, MalformedDelivery)) as refused:
        VERIFIERS["box"](_box(version, algorithm), secret, now=an_hour_late)

    # Stale is only ever decided after a signature matched.
    assert isinstance(refused.value, StaleDelivery) is valid


def test_box_sdk_vector_in_time_reaches_the_body_which_has_no_event_id() -> None:
    secret = {"primary": "SamplePrimaryKey", "secondary": "SampleSecondaryKey"}

    # The SDK's sample body has no top-level "id" to dedupe on: refused after the signature.
    with pytest.raises(MalformedDelivery):
        VERIFIERS["box"](_box(), secret, now=BOX_SENT_AT + 60)


def test_box_sdk_vector_with_no_matching_key_is_a_mismatch_in_time() -> None:
    with pytest.raises(SignatureMismatch):
        VERIFIERS["box"](_box(), {"primary": "WrongPrimaryKey"}, now=BOX_SENT_AT + 60)
