"""Reading a kintone record's cells: ``{"type": ..., "value": ...}`` per field code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def plain(cell: Any) -> Any:
    """kintone's ``{"type": ..., "value": ...}`` as its bare value."""
    return cell.get("value") if isinstance(cell, dict) else None


def equals(cell: Any, expected: str) -> bool:
    value = plain(cell)
    if isinstance(value, list):  # check boxes and multi-selects hold lists
        return expected in value
    return isinstance(value, str) and value == expected


def matches(record: Mapping[str, Any], expected: Mapping[str, str]) -> bool:
    """Does every field code hold exactly its expected value? kintone's own comparison
    may fold case, width or trailing spaces; the relay keeps exact matches only."""
    return all(equals(record.get(code), value) for code, value in expected.items())
