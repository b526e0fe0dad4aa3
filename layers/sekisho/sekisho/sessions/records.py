"""A session view's predicates from the session's claims, its exact re-check, its guard scope."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sekisho.kintone import cells
from sekisho.kintone.query import Predicate

if TYPE_CHECKING:
    from sekisho.policy.routes import ViewPolicy

    from .tokens import Session


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
    """Does the record hold exactly the view's values (see kintone.cells.matches)?"""
    return cells.matches(record, {rule.code: values[name] for name, rule in view.match.items()})
