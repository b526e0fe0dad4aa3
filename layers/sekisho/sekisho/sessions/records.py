"""What the session routes read of a kintone record, and the guard scope of a view."""

from __future__ import annotations

from typing import Any


def plain(cell: Any) -> Any:
    """kintone's ``{"type": ..., "value": ...}`` as its bare value."""
    return cell.get("value") if isinstance(cell, dict) else None


def equals(cell: Any, expected: str) -> bool:
    value = plain(cell)
    if isinstance(value, list):
        return expected in value
    return isinstance(value, str) and value == expected


def view_scope(realm: str, view: str) -> str:
    return f"session:{realm}#view:{view}"
