"""Sign a body the way each provider documents it, independently of the verifiers:
this module shares no code with ``sekisho.webhooks.schemes``, so a test that round-trips
the two checks one reading of the spec against another."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# A GitHub hook's id is fixed for the webhook's life; the demo sources have one hook each.
DEMO_GITHUB_HOOK_ID = "424242"


@dataclass(frozen=True)
class Signed:
    headers: dict[str, str]
    query: dict[str, str] = field(default_factory=dict)


def _mac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _content_type(body: bytes) -> str:
    try:
        json.loads(body)
    except ValueError:
        return "application/x-www-form-urlencoded"
    return "application/json"


def _standard(body: bytes, secret: Mapping[str, Any], now: int, delivery_id: str) -> Signed:
    encoded = str(secret["secret"]).removeprefix("whsec_")
    key = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    signature = base64.b64encode(_mac(key, f"{delivery_id}.{now}.".encode() + body)).decode()
    return Signed(
        {
            "webhook-id": delivery_id,
            "webhook-timestamp": str(now),
            "webhook-signature": f"v1,{signature}",
        }
    )


def _stripe(body: bytes, secret: Mapping[str, Any], now: int, delivery_id: str) -> Signed:
    # Stripe's event id lives in the body (``id``); the caller puts it there.
    signature = _mac(str(secret["secret"]).encode(), f"{now}.".encode() + body).hex()
    return Signed({"Stripe-Signature": f"t={now},v1={signature}"})


def _github(body: bytes, secret: Mapping[str, Any], now: int, delivery_id: str) -> Signed:
    signature = _mac(str(secret["secret"]).encode(), body).hex()
    return Signed(
        {
            "X-Hub-Signature-256": f"sha256={signature}",
            "X-GitHub-Event": "push",
            "X-GitHub-Hook-ID": DEMO_GITHUB_HOOK_ID,
            "X-GitHub-Delivery": delivery_id,
        }
    )


def _box(body: bytes, secret: Mapping[str, Any], now: int, delivery_id: str) -> Signed:
    stamp = datetime.fromtimestamp(now, UTC).isoformat()
    headers = {
        "BOX-DELIVERY-ID": delivery_id,
        "BOX-DELIVERY-TIMESTAMP": stamp,
        "BOX-SIGNATURE-VERSION": "1",
        "BOX-SIGNATURE-ALGORITHM": "HmacSHA256",
    }
    for name in ("primary", "secondary"):
        if secret.get(name):
            digest = _mac(str(secret[name]).encode(), body + stamp.encode())
            headers[f"BOX-SIGNATURE-{name.upper()}"] = base64.b64encode(digest).decode()
    return Signed(headers)


def _slack(body: bytes, secret: Mapping[str, Any], now: int, delivery_id: str) -> Signed:
    signature = _mac(str(secret["secret"]).encode(), f"v0:{now}:".encode() + body).hex()
    return Signed({"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": f"v0={signature}"})


def _kintone(body: bytes, secret: Mapping[str, Any], now: int, delivery_id: str) -> Signed:
    # kintone signs nothing: the URL it was configured with carries the token.
    return Signed({}, {"token": str(secret["secret"])})


_SIGNERS: dict[str, Callable[[bytes, Mapping[str, Any], int, str], Signed]] = {
    "standard": _standard,
    "stripe": _stripe,
    "github": _github,
    "box": _box,
    "slack": _slack,
    "kintone": _kintone,
}
SCHEMES = tuple(_SIGNERS)


def sign(
    scheme: str,
    body: bytes,
    secret: Mapping[str, Any],
    *,
    now: int,
    delivery_id: str | None = None,
) -> Signed:
    """The headers and query a ``scheme`` sender attaches to ``body`` at ``now`` (Unix
    seconds). ``delivery_id`` is the sender's id for this delivery where it has one
    (Standard Webhooks' ``webhook-id``, GitHub's ``X-GitHub-Delivery``, Box's
    ``BOX-DELIVERY-ID``); keep it to model a redelivery. Fresh when omitted."""
    try:
        signer = _SIGNERS[scheme]
    except KeyError:
        raise ValueError(f"unknown webhook scheme {scheme!r}") from None
    signed = signer(body, secret, now, delivery_id or _fresh_id(scheme))
    signed.headers.setdefault("Content-Type", _content_type(body))
    return signed


def _fresh_id(scheme: str) -> str:
    return f"msg_{uuid.uuid4().hex}" if scheme == "standard" else str(uuid.uuid4())
