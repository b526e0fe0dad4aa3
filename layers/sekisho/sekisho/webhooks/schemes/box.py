"""Box (https://developer.box.com/guides/webhooks/v2/signatures-v2/).

Box signs the body followed by the ``BOX-DELIVERY-TIMESTAMP`` header (RFC 3339, no
separator) with HMAC-SHA256, base64, once per configured key: ``BOX-SIGNATURE-PRIMARY``
under the primary key and ``BOX-SIGNATURE-SECONDARY`` under the secondary, and either
may pass, which is how Box rotates keys. ``BOX-SIGNATURE-VERSION: 1`` and
``BOX-SIGNATURE-ALGORITHM: HmacSHA256`` name the scheme; Box always sends them, so they
are required. The rules follow the guide and the box-python-sdk's
``Webhook.validate_message``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sekisho.errors import ConfigurationError

from ..delivery import Delivery, Verified, dedupe_key, json_field
from ..errors import MalformedDelivery, SignatureMismatch
from ._common import (
    any_matches,
    base64_digest,
    hmac_sha256,
    optional_secret_text,
    required_header,
    text_or_none,
    within_window,
)

MAX_AGE_SECONDS = 600
# Box's guide bounds only the age; up to five minutes ahead is clock skew, beyond is refused.
MAX_SKEW_SECONDS = 300
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})"
)
_KEYS = (("primary", "box-signature-primary"), ("secondary", "box-signature-secondary"))


# The headers this scheme reads, and whether a delivery must have each (the contract).
HEADERS: tuple[tuple[str, bool], ...] = (
    ("BOX-SIGNATURE-VERSION", True),
    ("BOX-SIGNATURE-ALGORITHM", True),
    ("BOX-DELIVERY-TIMESTAMP", True),
    ("BOX-SIGNATURE-PRIMARY", False),
    ("BOX-SIGNATURE-SECONDARY", False),
)


def verify(delivery: Delivery, secret: Mapping[str, Any], *, now: float) -> Verified:
    keys = {name: optional_secret_text(secret, name) for name, _ in _KEYS}
    if not any(keys.values()):
        raise ConfigurationError("the Box webhook secret has neither 'primary' nor 'secondary'")
    if required_header(delivery, "box-signature-version") != "1":
        raise MalformedDelivery("BOX-SIGNATURE-VERSION is not 1")
    if required_header(delivery, "box-signature-algorithm") != "HmacSHA256":
        raise MalformedDelivery("BOX-SIGNATURE-ALGORITHM is not HmacSHA256")
    stamp = required_header(delivery, "box-delivery-timestamp")
    timestamp = _rfc3339_seconds(stamp)
    received = _signatures(delivery)

    matched = False
    for name, header in _KEYS:
        key, signature = keys[name], received.get(header)
        if key is not None and signature is not None:
            expected = hmac_sha256(key.encode("utf-8"), delivery.body, stamp.encode("ascii"))
            matched |= any_matches(expected, [signature])
    if not matched:
        raise SignatureMismatch("neither Box signature matched its key")
    within_window(timestamp, now, past=MAX_AGE_SECONDS, future=MAX_SKEW_SECONDS)

    body = delivery.json_object()
    return Verified(
        dedupe_key(body.get("id"), "the event id"), text_or_none(json_field(body, "trigger"))
    )


def _rfc3339_seconds(stamp: str) -> float:
    if not _RFC3339.fullmatch(stamp):
        raise MalformedDelivery("BOX-DELIVERY-TIMESTAMP is not an RFC 3339 time")
    try:
        return datetime.fromisoformat(stamp).timestamp()
    except (ValueError, OverflowError):
        raise MalformedDelivery("BOX-DELIVERY-TIMESTAMP is not a real time") from None


def _signatures(delivery: Delivery) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for _, header in _KEYS:
        # An empty header is what a sender with that key unset would send: not a signature.
        value = delivery.header(header)
        if not value:
            continue
        digest = base64_digest(value)
        if digest is None:
            raise MalformedDelivery(f"{header} is not a base64 SHA-256 digest")
        found[header] = digest
    if not found:
        raise MalformedDelivery("the delivery carries no Box signature")
    return found
