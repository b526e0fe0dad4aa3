"""The test-only keys events/webhook_*.json are signed with, and the time they were sent.

Every key here is derived from a public label and the source's name: anyone can compute
it, so it protects nothing and must never be stored anywhere but a test's own Secrets
Manager (moto). Event files hold signatures made with these keys, never a key, with one
exception that kintone forces: kintone signs nothing, so its "signature" is the URL token
itself, and the kintone events carry this module's test token in their query string.

Each source has two versions: ``current`` (AWSCURRENT, rotated in eight days before the
events were sent, longer ago than any grace period, at most seven days) and ``previous``
(AWSPREVIOUS, the rotated-away key that GitHub's and kintone's "stale" events use).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Literal

# When the events were sent: 2026-11-22T02:00:00Z (11:00 in Tokyo).
EVENT_TIME = 1_795_312_800
DAY = 86_400
# When the current keys replaced the previous ones: outside any grace period (at most 7 days).
ROTATED_AT = EVENT_TIME - 8 * DAY

# The demo sources of policy.yaml and their schemes.
SOURCES = {
    "demo-standard": "standard",
    "demo-stripe": "stripe",
    "demo-github": "github",
    "demo-box": "box",
    "demo-slack": "slack",
    "demo-kintone": "kintone",
}

Version = Literal["current", "previous"]
VERSIONS: tuple[Version, ...] = ("current", "previous")
_LABEL = b"sekisho events/ test key: public by construction, never a real secret"


def _material(source: str, version: Version, part: str = "") -> bytes:
    return hmac.new(_LABEL, f"{source}/{version}/{part}".encode(), hashlib.sha256).digest()


def signing_secret(source: str, version: Version = "current") -> dict[str, str]:
    """The secret of ``source`` as Secrets Manager holds it, shaped like its sender's."""
    scheme = SOURCES[source]
    raw = _material(source, version)
    if scheme == "standard":
        # whsec_ and base64 of the key bytes.
        return {"secret": "whsec_" + base64.b64encode(raw).decode("ascii")}
    if scheme == "stripe":
        # The whole string is the key; Stripe's are whsec_ and 32 letters and digits.
        return {"secret": "whsec_" + raw.hex()[:32]}
    if scheme == "box":
        return {
            "primary": _material(source, version, "primary").hex()[:32],
            "secondary": _material(source, version, "secondary").hex()[:32],
        }
    if scheme == "kintone":
        # Letters and digits like the template's generated token: it travels in a URL.
        return {"secret": (raw + _material(source, version, "more")).hex()[:48]}
    # github: any text; slack: 32 hex digits.
    return {"secret": raw.hex()[:32]}


def stored_versions(source: str) -> list[dict[str, object]]:
    """The values to put, oldest first: putting them in order leaves the first as
    AWSPREVIOUS and the last as AWSCURRENT, which says when it was rotated in."""
    return [
        signing_secret(source, "previous"),
        {**signing_secret(source, "current"), "rotated_at": ROTATED_AT},
    ]


def key_values(source: str) -> set[str]:
    """Every key value of ``source``, both versions: what no event file may contain (but
    the kintone token, which kintone's URL carries)."""
    return {value for version in VERSIONS for value in signing_secret(source, version).values()}
