"""Slack (https://api.slack.com/authentication/verifying-requests-from-slack).

``X-Slack-Signature: v0=<hex>`` is HMAC-SHA256 of ``v0:{X-Slack-Request-Timestamp}:{body}``
under the app's signing secret as UTF-8; the timestamp must be within five minutes. Events
API deliveries are JSON with an ``event_id`` that Slack keeps on retries; slash commands
and interactions are form-encoded and carry none, so their key is the signed timestamp
and a digest of the body (a retry of those is signed afresh and treated as new).
"""

from __future__ import annotations

import hashlib
import json
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
PREFIX = "v0="


# The headers this scheme reads, and whether a delivery must have each (the contract).
HEADERS: tuple[tuple[str, bool], ...] = (
    ("X-Slack-Request-Timestamp", True),
    ("X-Slack-Signature", True),
)


def verify(delivery: Delivery, secret: Mapping[str, Any], *, now: float) -> Verified:
    key = secret_text(secret, "secret").encode("utf-8")
    timestamp_text = required_header(delivery, "x-slack-request-timestamp")
    timestamp = unix_seconds(timestamp_text, "X-Slack-Request-Timestamp")
    header = required_header(delivery, "x-slack-signature")
    if not header.startswith(PREFIX):
        raise MalformedDelivery("X-Slack-Signature does not start with v0=")
    signature = hex_digest(header.removeprefix(PREFIX), "X-Slack-Signature")

    signed_then_recent(
        key,
        (b"v0:", timestamp_text.encode("ascii"), b":", delivery.body),
        [signature],
        timestamp=timestamp,
        now=now,
        tolerance=TOLERANCE_SECONDS,
        mismatch="X-Slack-Signature did not match",
    )

    body = _json_object_or_none(delivery.text())
    if body is not None and "event_id" in body:
        return Verified(dedupe_key(body["event_id"], "event_id"), _event_type(body))
    digest = hashlib.sha256(delivery.body).hexdigest()
    return Verified(
        dedupe_key(f"ts:{timestamp_text}:{digest}", "the Slack request"), _event_type(body)
    )


def _json_object_or_none(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None  # form-encoded: a slash command or an interaction
    if not isinstance(value, dict):
        raise MalformedDelivery("the body is JSON but not an object")
    return value


def _event_type(body: Mapping[str, Any] | None) -> str | None:
    if body is None:
        return None
    return text_or_none(json_field(body, "event", "type")) or text_or_none(body.get("type"))
