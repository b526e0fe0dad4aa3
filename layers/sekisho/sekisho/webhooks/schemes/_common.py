"""Strict parsing shared by the verifiers: every helper either returns a clean value or
raises a :class:`SignatureInvalid` subclass (or :class:`ConfigurationError` for a bad
secret), so garbage from a sender can never surface as another exception (a 500)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from typing import Any

from sekisho.errors import ConfigurationError

from ..delivery import Delivery
from ..errors import MalformedDelivery, SignatureMismatch, StaleDelivery

SHA256_SIZE = 32
# Unix seconds: plain ASCII digits only (``int()`` would also take "+1", " 1", "1_0" and
# Unicode digits). Twelve digits reach the year 33658, far beyond any honest clock.
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def secret_text(secret: Mapping[str, Any], key: str) -> str:
    """The non-empty string ``secret[key]``: a missing one is the operator's mistake, not
    the sender's."""
    value = optional_secret_text(secret, key)
    if value is None:
        raise ConfigurationError(f"the webhook secret has no usable {key!r}")
    return value


def optional_secret_text(secret: Mapping[str, Any], key: str) -> str | None:
    """``secret[key]`` when it is a non-empty string, None when absent or empty."""
    value = secret.get(key) if isinstance(secret, Mapping) else None
    if isinstance(value, str) and value:
        return value
    if value in (None, ""):
        return None
    # Names the key, never the value.
    raise ConfigurationError(f"the webhook secret's {key!r} is not a string")


def required_header(delivery: Delivery, name: str) -> str:
    value = delivery.header(name)
    if not value:
        raise MalformedDelivery(f"the {name} header is missing")
    return value


def unix_seconds(value: str, what: str) -> int:
    if not _UNIX_SECONDS.fullmatch(value):
        raise MalformedDelivery(f"{what} is not a Unix time in seconds")
    return int(value)


def hex_digest(value: str, what: str) -> bytes:
    if not _HEX_SHA256.fullmatch(value):
        raise MalformedDelivery(f"{what} is not a hex SHA-256 digest")
    return bytes.fromhex(value)


def base64_digest(value: str) -> bytes | None:
    """A base64 SHA-256 digest, or None when ``value`` is not one."""
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        return None
    return raw if len(raw) == SHA256_SIZE else None


def utf8(text: str, what: str) -> bytes:
    """``text`` as UTF-8; a header holding lone surrogates cannot have been signed."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedDelivery(f"{what} is not valid text") from None


def hmac_sha256(key: bytes, *parts: bytes) -> bytes:
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for part in parts:
        mac.update(part)
    return mac.digest()


def any_matches(expected: bytes, received: Iterable[bytes]) -> bool:
    """Constant time per candidate, and every candidate is compared (no early exit)."""
    matched = False
    for candidate in received:
        matched |= hmac.compare_digest(expected, candidate)
    return matched


def within_window(timestamp: float, now: float, *, past: float, future: float) -> None:
    """Call only once the signature matched: a stale delivery is a replay to refuse, not a
    reason to try the previous key."""
    if timestamp < now - past:
        raise StaleDelivery("the delivery is too old")
    if timestamp > now + future:
        raise StaleDelivery("the delivery is dated in the future")


def signed_then_recent(
    key: bytes,
    signed: Iterable[bytes],
    received: Iterable[bytes],
    *,
    timestamp: int,
    now: float,
    tolerance: int,
    mismatch: str,
) -> None:
    """The check of a timestamped HMAC-SHA256 scheme (Slack, Stripe): one of ``received``
    is the HMAC of the ``signed`` parts under ``key``, then the timestamp is within
    ``tolerance`` seconds of ``now`` either way. The signature comes first: a forged
    delivery is refused as forged, never as merely old."""
    if not any_matches(hmac_sha256(key, *signed), received):
        raise SignatureMismatch(mismatch)
    within_window(timestamp, now, past=tolerance, future=tolerance)


def text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
