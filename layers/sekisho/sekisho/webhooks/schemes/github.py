"""GitHub (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).

``X-Hub-Signature-256: sha256=<hex>`` is HMAC-SHA256 of the body under the webhook secret
as UTF-8. GitHub signs no timestamp, so there is no window: replays are stopped by the
dedupe key alone. That key is the SHA-256 of the body, not the hook id with
``X-GitHub-Delivery`` (the relay's choice): those headers are not signed, so whoever
captured one delivery could resend it under a fresh GUID, again and again. A redelivery
carries the same body, and GitHub's payloads name their own objects and times, so two
distinct events do not share a body. ``X-GitHub-Event`` is unsigned too: the event type
handed on is a hint (the body says what happened). The legacy SHA-1 ``X-Hub-Signature``
header is never consulted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from ..delivery import Delivery, Verified, dedupe_key
from ..errors import MalformedDelivery, SignatureMismatch
from ._common import any_matches, hex_digest, hmac_sha256, required_header, secret_text

PREFIX = "sha256="


# The headers this scheme reads, and whether a delivery must have each (the contract).
HEADERS: tuple[tuple[str, bool], ...] = (
    ("X-Hub-Signature-256", True),
    ("X-GitHub-Hook-ID", True),
    ("X-GitHub-Delivery", True),
    ("X-GitHub-Event", False),
)


def verify(delivery: Delivery, secret: Mapping[str, Any], *, now: float) -> Verified:
    key = secret_text(secret, "secret").encode("utf-8")
    header = required_header(delivery, "x-hub-signature-256")
    if not header.startswith(PREFIX):
        raise MalformedDelivery("X-Hub-Signature-256 does not start with sha256=")
    signature = hex_digest(header.removeprefix(PREFIX), "X-Hub-Signature-256")
    # Required as GitHub always sends them (and for the audit trail), though unsigned.
    required_header(delivery, "x-github-hook-id")
    required_header(delivery, "x-github-delivery")
    event = delivery.header("x-github-event") or None

    if not any_matches(hmac_sha256(key, delivery.body), [signature]):
        raise SignatureMismatch("X-Hub-Signature-256 did not match")

    delivery.text()  # the event is handed on as text: a body that is not UTF-8 stops here
    digest = hashlib.sha256(delivery.body).hexdigest()
    return Verified(dedupe_key(f"sha256:{digest}", "the GitHub body digest"), event)
