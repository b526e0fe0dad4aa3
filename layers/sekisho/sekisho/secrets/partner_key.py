"""The key of a partner's secret: {"kind": "partner-key", "secret": "<base64url>"}."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from .errors import SecretMalformed

MIN_KEY_BYTES = 32


def partner_key_bytes(value: dict[str, Any], *, name: str = "partner key") -> bytes:
    """The shared HMAC key a partner secret holds (``secret``, base64url with or without
    padding, at least 32 bytes); :class:`SecretMalformed` naming the secret otherwise."""
    text = value.get("secret")
    if not isinstance(text, str) or not text.isascii():
        raise SecretMalformed(f"secret {name!r} holds no 'secret' text")
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise SecretMalformed(f"secret {name!r}: 'secret' is not base64url") from None
    if len(key) < MIN_KEY_BYTES:
        raise SecretMalformed(f"secret {name!r}: 'secret' is shorter than {MIN_KEY_BYTES} bytes")
    return key
