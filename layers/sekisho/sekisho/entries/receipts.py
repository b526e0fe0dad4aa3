"""A receipt as a person types it back, in the one form the relay stores it in."""

from __future__ import annotations

import uuid


def normalize_receipt(text: str) -> str | None:
    """The canonical receipt ``text`` spells, or None when it spells none."""
    try:
        parsed = uuid.UUID(text.strip())
    except ValueError:
        return None
    return str(parsed)
