"""Stripe (https://docs.stripe.com/webhooks#verify-manually).

``Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...][,v0=<hex>]``: HMAC-SHA256 in hex of
``{t}.{body}`` keyed by the whole endpoint secret as UTF-8 (``whsec_`` prefix included).
Only ``v1`` counts: ``v0`` is a test-mode scheme, and trusting it would let a forger
downgrade. Several ``v1`` entries appear while a secret rolls over. The rules follow
stripe-python's ``WebhookSignature.verify_header``, made stricter where it is lenient.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..delivery import Delivery, Verified, dedupe_key, json_field
from ..errors import MalformedDelivery
from ._common import (
    hex_digest,
    required_header,
    secret_text,
    signed_then_recent,
    text_or_none,
    unix_seconds,
)

TOLERANCE_SECONDS = 300


# The headers this scheme reads, and whether a delivery must have each (the contract).
HEADERS: tuple[tuple[str, bool], ...] = (("Stripe-Signature", True),)


def verify(delivery: Delivery, secret: Mapping[str, Any], *, now: float) -> Verified:
    key = secret_text(secret, "secret").encode("utf-8")
    timestamp_text, signatures = _parse(required_header(delivery, "stripe-signature"))
    timestamp = unix_seconds(timestamp_text, "the Stripe-Signature timestamp")

    # Stripe's library only refuses old timestamps; one from the future is refused too,
    # or a delivery captured with a forward-dated clock could be replayed for longer.
    signed_then_recent(
        key,
        (timestamp_text.encode("ascii"), b".", delivery.body),
        signatures,
        timestamp=timestamp,
        now=now,
        tolerance=TOLERANCE_SECONDS,
        mismatch="no v1 signature matched",
    )

    body = delivery.json_object()
    return Verified(
        dedupe_key(body.get("id"), "the event id"), text_or_none(json_field(body, "type"))
    )


def _parse(header: str) -> tuple[str, list[bytes]]:
    timestamps: list[str] = []
    signatures: list[bytes] = []
    for item in header.split(","):
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise MalformedDelivery("Stripe-Signature is not a list of key=value items")
        if name == "t":
            timestamps.append(value)
        elif name == "v1":
            signatures.append(hex_digest(value, "a Stripe v1 signature"))
        # Any other scheme (v0, or one Stripe adds later) is ignored, never trusted.
    if len(timestamps) != 1:
        raise MalformedDelivery("Stripe-Signature needs exactly one t=")
    if not signatures:
        raise MalformedDelivery("Stripe-Signature has no v1 signature")
    return timestamps[0], signatures
