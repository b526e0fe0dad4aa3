"""A partner-key secret gives its HMAC key only when its shape is right: the template's
first value, a rotation's, or one with its padding left on; anything else is refused
naming the secret, never the value."""

from __future__ import annotations

import base64
import secrets
import string

import pytest

from sekisho.errors import ConfigurationError
from sekisho.partners.sign import SigningRefused, partner_key
from sekisho.secrets.errors import SecretMalformed
from sekisho.secrets.partner_key import MIN_KEY_BYTES, partner_key_bytes

NAME = "sekisho/partner/demo-erp"
KEY = bytes(range(1, 33))
ENCODED = base64.urlsafe_b64encode(KEY).decode()
# Distinctive, so any echo of it in a message is found.
LEAKY = "Zq7PartnerKeyBodyXk42Zq7PartnerKeyBodyXk42"


def generated_like_the_template() -> str:
    """What GenerateSecretString makes with PasswordLength 43 and ExcludePunctuation."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(43))


def test_a_rotations_value_gives_back_its_32_bytes():
    text = ENCODED.rstrip("=")
    assert partner_key_bytes({"kind": "partner-key", "secret": text, "rotated_at": 1}) == KEY


def test_a_value_with_its_padding_left_on_gives_the_same_key():
    assert ENCODED.endswith("=")
    assert partner_key_bytes({"kind": "partner-key", "secret": ENCODED}) == KEY


@pytest.mark.parametrize("attempt", range(20))
def test_the_templates_43_letters_and_digits_read_as_a_32_byte_key(attempt):
    key = partner_key_bytes({"kind": "partner-key", "secret": generated_like_the_template()})
    assert len(key) == MIN_KEY_BYTES


def test_a_longer_key_is_taken_whole():
    text = base64.urlsafe_b64encode(KEY * 2).decode().rstrip("=")
    assert partner_key_bytes({"kind": "partner-key", "secret": text}) == KEY * 2


@pytest.mark.parametrize(
    ("value", "said"),
    [
        pytest.param({"kind": "hmac", "secret": LEAKY}, "is not a partner-key: it has kind 'hmac'",
                     id="another-kind"),
        pytest.param({"secret": LEAKY}, "is not a partner-key: it says no kind", id="no-kind"),
        pytest.param({"kind": ["partner-key"], "secret": LEAKY}, "it says no kind",
                     id="kind-not-a-string"),
        pytest.param({"kind": "partner-key"}, "without a non-empty 'secret'", id="no-secret"),
        pytest.param({"kind": "partner-key", "secret": ""}, "without a non-empty 'secret'",
                     id="empty-secret"),
        pytest.param({"kind": "partner-key", "secret": 12345}, "without a non-empty 'secret'",
                     id="secret-not-a-string"),
        pytest.param({"kind": "partner-key", "secret": LEAKY + "+/"}, "is not base64url text",
                     id="standard-alphabet"),
        pytest.param({"kind": "partner-key", "secret": LEAKY + " "}, "is not base64url text",
                     id="trailing-space"),
        pytest.param({"kind": "partner-key", "secret": LEAKY + "\n"}, "is not base64url text",
                     id="trailing-newline"),
        pytest.param({"kind": "partner-key", "secret": LEAKY[:20] + "=" + LEAKY[20:]},
                     "is not base64url text", id="padding-inside"),
        pytest.param({"kind": "partner-key", "secret": LEAKY + "==="}, "is not base64url text",
                     id="too-much-padding"),
        pytest.param({"kind": "partner-key", "secret": LEAKY + "AAA"}, "is not base64url text",
                     id="impossible-length"),
        pytest.param({"kind": "partner-key", "secret": "キー" * 22}, "is not base64url text",
                     id="non-ascii"),
        pytest.param(
            {"kind": "partner-key", "secret": base64.urlsafe_b64encode(b"k" * 31).decode()},
            "decodes to 31 bytes, fewer than 32",
            id="one-byte-short",
        ),
        pytest.param({"kind": "partner-key", "secret": LEAKY[:42]},
                     "decodes to 31 bytes, fewer than 32", id="42-characters"),
    ],
)  # fmt: skip
def test_a_value_of_another_shape_is_refused_naming_the_secret_never_the_value(value, said):
    with pytest.raises(SecretMalformed) as refused:
        partner_key_bytes(value, name=NAME)
    error = refused.value
    assert isinstance(error, ConfigurationError)
    message = str(error)
    assert said in message
    assert NAME in message
    assert LEAKY not in message
    assert LEAKY[:12] not in message


def test_a_value_that_is_no_json_object_is_refused():
    with pytest.raises(SecretMalformed, match="is not a JSON object"):
        partner_key_bytes(["partner-key", LEAKY], name=NAME)  # type: ignore[arg-type]


def test_sekisho_sign_reads_the_key_with_the_same_decoder():
    value = {"kind": "partner-key", "secret": generated_like_the_template()}
    assert partner_key(value, NAME) == partner_key_bytes(value, name=NAME)
    short = {"kind": "partner-key", "secret": LEAKY[:42]}
    with pytest.raises(SigningRefused) as refused:
        partner_key(short, NAME)
    with pytest.raises(SecretMalformed) as malformed:
        partner_key_bytes(short, name=NAME)
    assert refused.value.detail == malformed.value.detail
