"""A JSON value as kintone's record API takes it for a field type, or a clear refusal.

kintone takes every value as a string (NUMBER, DATE and DATETIME included) or, for check
boxes and multi-selects, a list of strings. A value taken from someone else's event is
checked here against the declared type before it is written: a number where text was
declared, a date that is not one, a newline in a single-line field are refused rather
than coerced, so a mapping that reads the wrong place fails loudly instead of storing
nonsense.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

TEXT_MAX_LENGTH = 64_000  # kintone's limit on a text field
MAX_NUMBER_DIGITS = 30
# kintone reads epoch seconds past this as nonsense; so does a person.
_MAX_EPOCH = 253_402_300_799  # 9999-12-31T23:59:59Z

_ONE_LINE = frozenset({"SINGLE_LINE_TEXT", "LINK", "DROP_DOWN", "RADIO_BUTTON"})
_MANY_LINES = frozenset({"MULTI_LINE_TEXT", "RICH_TEXT"})
LIST_TYPES = frozenset({"CHECK_BOX", "MULTI_SELECT"})
WRITABLE_TYPES = frozenset(
    {*_ONE_LINE, *_MANY_LINES, *LIST_TYPES, "NUMBER", "DATE", "TIME", "DATETIME"}
)
# Types kintone can keep unique ("値の重複を禁止する") and that a key can name exactly.
KEY_TYPES = frozenset({"SINGLE_LINE_TEXT", "NUMBER"})

_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})"
)


class ValueMismatch(ValueError):
    """The value does not fit the field; the message says what was expected, never the
    value itself (it may be personal data)."""


def wire_value(field_type: str, value: Any) -> str | list[str]:
    """``value`` as kintone takes it for a ``field_type`` field; :class:`ValueMismatch`
    when it does not fit. JSON null is the empty value."""
    if field_type not in WRITABLE_TYPES:
        raise ValueMismatch(f"a {field_type} field cannot be written")
    if value is None:
        return [] if field_type in LIST_TYPES else ""
    if field_type in LIST_TYPES:
        if not isinstance(value, list | tuple):
            raise ValueMismatch("expected a list of strings")
        return [_text(item, one_line=True) for item in value]
    if field_type in _ONE_LINE or field_type in _MANY_LINES:
        return _text(value, one_line=field_type in _ONE_LINE)
    if isinstance(value, str) and value == "":
        return ""
    return _CONVERTERS[field_type](value)


def _text(value: Any, *, one_line: bool) -> str:
    if not isinstance(value, str):
        raise ValueMismatch("expected a string")
    if len(value) > TEXT_MAX_LENGTH:
        raise ValueMismatch(f"expected at most {TEXT_MAX_LENGTH} characters")
    allowed = "" if one_line else "\t\n\r"
    if any(unicodedata.category(c) in ("Cc", "Cs") and c not in allowed for c in value):
        raise ValueMismatch(
            "expected one line of text" if one_line else "expected text without control characters"
        )
    return value


def _number(value: Any) -> str:
    if isinstance(value, bool):
        raise ValueMismatch("expected a number")
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueMismatch("expected a finite number")
        text = format(Decimal(repr(value)), "f")
    elif isinstance(value, str) and _NUMBER.fullmatch(value):
        text = value
    else:
        raise ValueMismatch("expected a number")
    if sum(c.isdigit() for c in text) > MAX_NUMBER_DIGITS:
        raise ValueMismatch(f"expected at most {MAX_NUMBER_DIGITS} digits")
    try:
        Decimal(text)
    except InvalidOperation:
        raise ValueMismatch("expected a number") from None
    return text


def _matching(value: Any, pattern: re.Pattern[str], expected: str) -> str:
    """``value`` when it is a string ``pattern`` matches in full; else "expected ..."."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueMismatch(f"expected {expected}")
    return value


def _date(value: Any) -> str:
    text = _matching(value, _DATE, "a date (YYYY-MM-DD)")
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise ValueMismatch("expected a date that exists") from None
    return text


def _time(value: Any) -> str:
    return _matching(value, _TIME, "a time (HH:MM)")[:5]


def _datetime(value: Any) -> str:
    """RFC 3339 text or epoch seconds (Stripe, Slack), written as UTC to the second."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= _MAX_EPOCH:
            raise ValueMismatch("expected epoch seconds between 1970 and 9999")
        moment = dt.datetime.fromtimestamp(value, dt.UTC)
    elif isinstance(value, str) and _DATETIME.fullmatch(value):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueMismatch("expected a date and time that exist") from None
    else:
        raise ValueMismatch("expected an RFC 3339 date and time or epoch seconds")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_CONVERTERS = {"NUMBER": _number, "DATE": _date, "TIME": _time, "DATETIME": _datetime}
