"""kintone (cybozu's webhook reference): kintone signs nothing.

The only proof a sender offers is the per-source secret it was configured with, in the
URL as ``?token=``. It is compared in constant time, and without leaking its length:
both sides are hashed first, so the comparison always runs over two 32-byte digests.
There is no timestamp, hence no window; the dedupe key is the notification's ``id``.
The stronger checks (source-IP allowlist, re-reading the record with a view token) are
the service's, not this verifier's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from ..delivery import Delivery, Verified, dedupe_key, json_field
from ..errors import MalformedDelivery, SignatureMismatch
from ._common import any_matches, secret_text, text_or_none, utf8

# kintone signs nothing and sends its secret as ?token=: no header is read.
HEADERS: tuple[tuple[str, bool], ...] = ()


def verify(delivery: Delivery, secret: Mapping[str, Any], *, now: float) -> Verified:
    expected = hashlib.sha256(secret_text(secret, "secret").encode("utf-8")).digest()
    token = delivery.query_value("token")
    if not token:
        raise MalformedDelivery("the token query parameter is missing")
    received = hashlib.sha256(utf8(token, "the token")).digest()

    if not any_matches(expected, [received]):
        raise SignatureMismatch("the token did not match")

    body = delivery.json_object()
    return Verified(
        dedupe_key(body.get("id"), "the notification id"), text_or_none(json_field(body, "type"))
    )
