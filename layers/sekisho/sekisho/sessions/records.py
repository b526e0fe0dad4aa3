"""What the session routes read of a kintone record, and the guard scope of a view."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sekisho.kintone.query import Predicate

if TYPE_CHECKING:
    from sekisho.policy.routes import ViewPolicy

    from .tokens import Session


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


def claim_predicates(view: ViewPolicy, session: Session) -> tuple[dict[str, str], list[Predicate]]:
    """A session view's values, every one from the session's claims, and its predicates."""
    values = {name: session.claims[rule.claim or ""] for name, rule in view.match.items()}
    predicates = [
        Predicate(rule.code, view.field_type(rule.code), values[name], rule.max_length)
        for name, rule in view.match.items()
    ]
    return values, predicates


def matches(view: ViewPolicy, record: Mapping[str, Any], values: Mapping[str, str]) -> bool:
    """kintone's comparison may fold case or width: the relay keeps exact matches only."""
    return all(equals(record.get(rule.code), values[name]) for name, rule in view.match.items())
