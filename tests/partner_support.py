"""A partner's key as its ``partner-key`` secret holds it, for the tests that store one."""

from __future__ import annotations

import base64
import json
from typing import Any

from sekisho.secrets.partner_key import FIELD, KIND


def partner_key_secret(key: bytes, rotated_at: float | None = None) -> str:
    """The SecretString of ``key`` (base64url without padding, as rotations write it)."""
    value: dict[str, Any] = {
        "kind": KIND,
        FIELD: base64.urlsafe_b64encode(key).rstrip(b"=").decode(),
    }
    if rotated_at is not None:
        value["rotated_at"] = rotated_at
    return json.dumps(value)
