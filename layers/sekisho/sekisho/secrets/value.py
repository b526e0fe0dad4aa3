"""A secret's value: the JSON object its SecretString holds."""

from __future__ import annotations

import json
from typing import Any


def json_object(raw: Any) -> dict[str, Any]:
    """``raw``, the JSON text of an object, parsed; otherwise a ValueError saying what it is
    instead ("holds no JSON text", "is not valid JSON", "is not a JSON object").

    The error is never chained to json's own, which keeps the whole text (the secret) in
    its ``doc`` attribute, where a traceback formatter could reach it; a caller that wraps
    this error raises ``from None`` for the same reason.
    """
    if not isinstance(raw, str):
        raise ValueError("holds no JSON text")
    try:
        value = json.loads(raw)
    except ValueError:
        raise ValueError("is not valid JSON") from None
    if not isinstance(value, dict):
        raise ValueError("is not a JSON object")
    return value
