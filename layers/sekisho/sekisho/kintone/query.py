"""Compile kintone queries from declarations; never concatenate them from input.

Field codes, operators and the fixed server condition come from the policy (reviewed
configuration). Only values come from callers, and a value only ever reaches kintone as a
string literal made by :func:`quote`. The known injection bugs of public query builders
are each closed here: backslash is escaped before the double quote (so a value ending in
``\\`` cannot eat the closing quote), control characters are refused (a raw newline in a
literal is a syntax error in kintone, others have no place in a lookup value), and a
value that looks like a function (``TODAY()``) is still a quoted string.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from sekisho.errors import ValidationFailed

from .condition import parse_condition
from .syntax import _FIELD_CODE, QueryDeclarationError

DEFAULT_MAX_LENGTH = 256
MAX_LIMIT = 500
MAX_OFFSET = 10_000

# Types whose stored value can be compared for exact equality with `=`.
EQUALITY_TYPES = frozenset(
    {"SINGLE_LINE_TEXT", "LINK", "NUMBER", "RECORD_NUMBER", "__ID__", "DATE"}
)
# Types kintone lets us compare only with `in` / `not in` (`=` is GAIA_IQ03).
MEMBERSHIP_TYPES = frozenset({"DROP_DOWN", "RADIO_BUTTON", "CHECK_BOX", "MULTI_SELECT", "STATUS"})
MATCHABLE_TYPES = EQUALITY_TYPES | MEMBERSHIP_TYPES

# kintone field codes: no spaces or query punctuation; `$id` and `$revision` are built in.
_NUMBER = re.compile(r"[+-]?\d{1,20}(?:\.\d{1,20})?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class QueryValueError(ValidationFailed):
    """A caller-supplied value cannot be used in a query."""


def quote(value: str, *, max_length: int = DEFAULT_MAX_LENGTH) -> str:
    """Return ``value`` as a kintone query string literal.

    The backslash is escaped first, then the double quote, and the result is wrapped in
    double quotes, so kintone reads back exactly ``value`` whatever it contains.

    Raises :class:`QueryValueError` (HTTP 400) for a value kintone cannot take back
    intact or that has no business in a lookup: empty, longer than ``max_length`` code
    points, containing control characters (Unicode category Cc: a raw tab, newline or
    carriage return inside a literal is a kintone syntax error) or lone surrogates.
    """
    if not isinstance(value, str):
        raise QueryValueError("the value must be a string")
    if not value:
        raise QueryValueError("the value must not be empty")
    if len(value) > max_length:
        raise QueryValueError(f"the value must be at most {max_length} characters")
    for char in value:
        category = unicodedata.category(char)
        if category == "Cc":
            raise QueryValueError("the value must not contain control characters")
        if category == "Cs":
            raise QueryValueError("the value is not valid Unicode text")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check_field_code(code: str) -> str:
    if not isinstance(code, str) or not _FIELD_CODE.fullmatch(code):
        raise QueryDeclarationError(f"{code!r} is not a usable kintone field code")
    return code


@dataclass(frozen=True)
class Predicate:
    """``field`` must equal ``value`` (or be one of ``values``), as declared in the policy.

    ``field`` and ``type`` come from the declaration; ``value`` from the caller.
    """

    field: str
    type: str
    value: str | Sequence[str]
    max_length: int = DEFAULT_MAX_LENGTH

    def compile(self) -> str:
        code = _check_field_code(self.field)
        if self.type not in MATCHABLE_TYPES:
            raise QueryDeclarationError(
                f"field {code!r} of type {self.type} cannot be matched exactly"
            )
        values = [self.value] if isinstance(self.value, str) else list(self.value)
        if not values:
            raise QueryValueError("at least one value is required")
        literals = [self._literal(v) for v in values]
        # `like` is a word search on an asynchronous index: never used for identifiers.
        if self.type in MEMBERSHIP_TYPES or len(literals) > 1:
            return f"{code} in ({', '.join(literals)})"
        return f"{code} = {literals[0]}"

    def _literal(self, value: str) -> str:
        literal = quote(value, max_length=self.max_length)
        if self.type in {"NUMBER", "RECORD_NUMBER", "__ID__"} and not _NUMBER.fullmatch(value):
            raise QueryValueError("the value must be a number")
        if self.type == "DATE" and not _DATE.fullmatch(value):
            raise QueryValueError("the value must be a date (YYYY-MM-DD)")
        return literal


def check_condition(condition: str) -> str:
    """Vet a fixed server condition before it is wrapped in parentheses.

    Wrapping is only a boundary if the condition cannot close it, so the condition is
    parsed as one complete kintone expression (:mod:`sekisho.kintone.condition`): balanced
    parentheses, terminated literals free of raw control characters, known operators and
    functions, and no ``order by`` / ``limit`` / ``offset`` of its own.
    """
    parse_condition(condition)
    return condition.strip()


def compile_query(
    predicates: Sequence[Predicate],
    *,
    where: str | None = None,
    order_by: Sequence[tuple[str, str]] = (),
    limit: int | None = None,
    offset: int | None = None,
) -> str:
    """Build ``(where) and (p1) and (p2) ... order by ... limit n offset m``."""
    parts = []
    if where is not None:
        parts.append(f"({check_condition(where)})")
    parts.extend(f"({p.compile()})" for p in predicates)
    query = " and ".join(parts)
    if order_by:
        clauses = []
        for code, direction in order_by:
            if direction not in ("asc", "desc"):
                raise QueryDeclarationError(f"order direction {direction!r} must be asc or desc")
            clauses.append(f"{_check_field_code(code)} {direction}")
        query += " order by " + ", ".join(clauses)
    if limit is not None:
        if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise QueryDeclarationError(f"limit must be between 1 and {MAX_LIMIT}")
        query += f" limit {limit}"
    if offset is not None:
        if not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
            raise QueryDeclarationError(f"offset must be between 0 and {MAX_OFFSET}")
        query += f" offset {offset}"
    return query.strip()
