"""Standard Webhooks (https://www.standardwebhooks.com, the spec Svix follows).

The sender signs ``{webhook-id}.{webhook-timestamp}.{body}`` with HMAC-SHA256 under the
base64-decoded part of a ``whsec_<base64>`` secret; ``webhook-signature`` is a
space-separated list of ``<version>,<base64>`` entries, of which only ``v1`` counts (more
than one lets the sender sign with two keys while it rotates). The timestamp must be
within five minutes either way. The rules follow the spec and the reference library
(standard-webhooks/standard-webhooks, libraries/python/standardwebhooks/webhooks.py).

Svix sends the same three headers as ``svix-id``, ``svix-timestamp`` and
``svix-signature`` unless its account is set to the ``webhook-*`` names, and its own
libraries accept either set: so does this verifier, one set per delivery (a mix of the
two is refused, since a sender never sends one).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from sekisho.errors import ConfigurationError

from ..delivery import Delivery, Verified, dedupe_key
from ..errors import MalformedDelivery, SignatureMismatch
from ._common import (
    any_matches,
    base64_digest,
    hmac_sha256,
    required_header,
    secret_text,
    unix_seconds,
    utf8,
    within_window,
)

TOLERANCE_SECONDS = 300
SECRET_PREFIX = "whsec_"  # noqa: S105 - a format marker, not a secret


# The headers this scheme reads, and whether a delivery must have each (the contract).
HEADERS: tuple[tuple[str, bool], ...] = (
    ("webhook-id", True),
    ("webhook-timestamp", True),
    ("webhook-signature", True),
)


def verify(delivery: Delivery, secret: Mapping[str, Any], *, now: float) -> Verified:
    key = signing_key(secret_text(secret, "secret"))
    prefix = _header_prefix(delivery)
    msg_id = required_header(delivery, f"{prefix}-id")
    timestamp_text = required_header(delivery, f"{prefix}-timestamp")
    timestamp = unix_seconds(timestamp_text, f"{prefix}-timestamp")
    signatures = _v1_signatures(required_header(delivery, f"{prefix}-signature"))

    expected = hmac_sha256(
        key, utf8(msg_id, f"{prefix}-id"), b".", timestamp_text.encode("ascii"), b".", delivery.body
    )
    if not any_matches(expected, signatures):
        raise SignatureMismatch("no v1 signature matched")
    within_window(timestamp, now, past=TOLERANCE_SECONDS, future=TOLERANCE_SECONDS)

    key_value = dedupe_key(msg_id, "webhook-id")
    return Verified(key_value, _event_type(delivery.text()))


_PARTS = ("id", "timestamp", "signature")


def _header_prefix(delivery: Delivery) -> str:
    """``webhook`` or ``svix``: whichever set the delivery carries, never both."""
    present = {
        prefix
        for prefix in ("webhook", "svix")
        if any(f"{prefix}-{part}" in delivery.headers for part in _PARTS)
    }
    if len(present) > 1:
        raise MalformedDelivery("both webhook-* and svix-* headers were sent")
    return present.pop() if present else "webhook"


def signing_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret; like the official libraries, the
    prefix is optional and missing base64 padding is tolerated."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError("the webhook secret is not whsec_<base64>") from None
    if not key:
        raise ConfigurationError("the webhook secret is empty")
    return key


def _v1_signatures(header: str) -> list[bytes]:
    versions = [entry.split(",", 1) for entry in header.split(" ") if "," in entry]
    v1 = [value for version, value in versions if version == "v1"]
    if not v1:
        raise MalformedDelivery("webhook-signature has no v1 entry")
    # An unreadable v1 entry is skipped (it cannot match); a readable one still may.
    return [digest for digest in map(base64_digest, v1) if digest is not None]


def _event_type(text: str) -> str | None:
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        return None
    kind = body.get("type") if isinstance(body, dict) else None
    return kind if isinstance(kind, str) and kind else None
