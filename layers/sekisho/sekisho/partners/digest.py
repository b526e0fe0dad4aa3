"""Content-Digest (RFC 9530) as a partner's body must carry it: a ``sha-256`` member
equal to the SHA-256 of the raw body bytes, compared in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac

import http_sf

from .errors import DigestMismatch


def content_digest(body: bytes) -> str:
    """The header value a signer sends for ``body``."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def check_digest(header: str | None, body: bytes) -> None:
    """401 digest_mismatch unless ``header`` has a sha-256 member that is ``body``'s.

    Other algorithms in the header are ignored (RFC 9530 lets a sender offer several);
    sha-256 is the one the relay requires. A request without a body needs no header,
    but one that sends it must send the empty body's digest.
    """
    if header is None:
        if body:
            raise DigestMismatch()
        return
    try:
        members = http_sf.parse(header.encode("ascii"), tltype="dictionary")
    except Exception:
        raise DigestMismatch() from None
    member = members.get("sha-256") if isinstance(members, dict) else None
    value = member[0] if isinstance(member, tuple) else None
    if not isinstance(value, bytes):
        raise DigestMismatch()
    if not hmac.compare_digest(value, hashlib.sha256(body).digest()):
        raise DigestMismatch()
