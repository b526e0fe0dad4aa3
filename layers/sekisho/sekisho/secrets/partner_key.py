"""A partner's shared HMAC key, as its ``partner-key`` secret holds it.

``{"kind": "partner-key", "secret": "<base64url of 32 random bytes>", "rotated_at": ...}``:
the template generates the first value (43 letters and digits, which read as base64url
are 32 bytes and 2 bits) and every rotation a fresh one. The verifier, ``sekisho sign``
and testSecret read the key through :func:`partner_key_bytes`, so a value one of them
would refuse is refused by all three, and for the same reason.

Standard library only: the verifier's cold start imports it.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Mapping
from typing import Any

from .errors import SecretMalformed

KIND = "partner-key"
FIELD = "secret"
# A shorter HMAC-SHA256 key than the hash's output would be the weak link of the signature.
MIN_KEY_BYTES = 32
KEY_BYTES = 32
# The URL-safe alphabet, with the padding a writer may have left on (the generated first
# value and every rotation's have none).
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


def new_partner_key() -> str:
    """A fresh key: :data:`KEY_BYTES` random bytes, base64url without the ``=`` padding
    (43 characters), what every rotation writes and the local stack seeds."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii").rstrip("=")


def decode_key(text: Any, *, name: str) -> bytes:
    """The bytes a base64url ``text`` (padding optional) stands for, at least
    :data:`MIN_KEY_BYTES` of them; otherwise :class:`SecretMalformed` naming ``name``.

    No message quotes the text or part of it: it is the key.
    """
    if not isinstance(text, str) or not _BASE64URL.fullmatch(text):
        raise SecretMalformed(f"secret {name!r}: its {FIELD!r} is not base64url text")
    bare = text.rstrip("=")
    try:
        key = base64.urlsafe_b64decode(bare + "=" * (-len(bare) % 4))
    except (binascii.Error, ValueError):
        raise SecretMalformed(f"secret {name!r}: its {FIELD!r} is not base64url text") from None
    if len(key) < MIN_KEY_BYTES:
        raise SecretMalformed(
            f"secret {name!r}: its {FIELD!r} decodes to {len(key)} bytes, "
            f"fewer than {MIN_KEY_BYTES}"
        )
    return key


def partner_key_bytes(value: Mapping[str, Any], *, name: str = "a partner key") -> bytes:
    """The HMAC key of a partner-key secret whose JSON value is ``value``.

    :class:`SecretMalformed` (naming the secret ``name``, never the value) when the value
    is not of kind ``partner-key`` or its ``secret`` does not decode to a key of at least
    :data:`MIN_KEY_BYTES` bytes.
    """
    if not isinstance(value, Mapping):
        raise SecretMalformed(f"secret {name!r} is not a JSON object")
    kind = value.get("kind")
    if kind != KIND:
        said = f"has kind {kind!r}" if isinstance(kind, str) else "says no kind"
        raise SecretMalformed(f"secret {name!r} is not a {KIND}: it {said}")
    text = value.get(FIELD)
    if not isinstance(text, str) or not text:
        raise SecretMalformed(f"secret {name!r} is a {KIND} without a non-empty {FIELD!r}")
    return decode_key(text, name=name)
