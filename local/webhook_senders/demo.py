"""Fresh demo secrets, shaped as each provider issues them and as the relay stores them."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable


def _standard() -> dict[str, str]:
    # Standard Webhooks: "whsec_" and 24 to 64 random bytes in base64.
    return {"secret": "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")}


def _stripe() -> dict[str, str]:
    # Stripe uses the whole string, prefix included, as the key.
    return {"secret": "whsec_" + secrets.token_hex(24)}


def _box() -> dict[str, str]:
    return {"primary": secrets.token_hex(16), "secondary": secrets.token_hex(16)}


def _token() -> dict[str, str]:
    # github, slack and kintone: an opaque string (kintone's travels in a URL: url-safe).
    return {"secret": secrets.token_urlsafe(32)}


_MAKERS: dict[str, Callable[[], dict[str, str]]] = {
    "standard": _standard,
    "stripe": _stripe,
    "github": _token,
    "box": _box,
    "slack": _token,
    "kintone": _token,
}


def demo_secret(scheme: str) -> dict[str, str]:
    """A random secret for ``scheme``; never the same twice."""
    try:
        maker = _MAKERS[scheme]
    except KeyError:
        raise ValueError(f"unknown webhook scheme {scheme!r}") from None
    return maker()
