"""One check per form field type: a browser's JSON value in, kintone's value out.

Every text a browser sends is normalised first (Unicode NFC, then trimmed) so that what is
checked is what is stored: a name typed with a combining accent and the same name typed
precomposed are one value, and a trailing space never makes a length limit or an option
fail. kintone's record API takes every value as a string (NUMBER included) or, for
check boxes and multi-selects, a list of strings; these checks return exactly that.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .files import parse_files
from .problems import FieldProblem
from .uploads import parse_upload_refs

if TYPE_CHECKING:
    from sekisho.policy import FormField

Check = Callable[[Any], Any]

# Far beyond any form's need; a field that needs a range declares min and max.
MAX_NUMBER_DIGITS = 30
# ASCII digits only: \d would admit other scripts' digits, which Decimal reads as numbers.
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})"
)
_EMAIL_LOCAL_MAX = 64
_EMAIL_FORBIDDEN = frozenset('<>()[]\\,;:"')
_CONTROL = frozenset({"Cc", "Cs"})


def normalise(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip()


def is_blank(value: Any) -> bool:
    """Nothing was entered: absent, null, only spaces, or an empty list."""
    if value is None:
        return True
    if isinstance(value, str):
        return not normalise(value)
    return isinstance(value, list) and not value


def checker(field: FormField) -> Check:
    """The check for a non-blank value of ``field``; raises :class:`FieldProblem`."""
    build = _BUILDERS[field.type]
    return build(field)


# ------------------------------------------------------------------------------ text


def _string(value: Any) -> str:
    # Strict: a JSON number is not text (a form that wants one declares a number field).
    if not isinstance(value, str):
        raise FieldProblem("type", "must be a string")
    return normalise(value)


def _refuse_control_characters(text: str, allowed: str = "") -> None:
    if any(unicodedata.category(c) in _CONTROL and c not in allowed for c in text):
        raise FieldProblem("encoding", "must not contain control characters")


def _check_length(field: FormField, text: str) -> None:
    low, high = field.min_length or 1, field.length_limit
    if not low <= len(text) <= high:
        raise FieldProblem("length", f"must be {low} to {high} characters")


def _check_pattern(field: FormField, text: str) -> None:
    if field.pattern is not None and field.pattern.fullmatch(text) is None:
        raise FieldProblem("pattern", "is not in the expected format")


def _text(field: FormField) -> Check:
    def check(value: Any) -> str:
        text = _string(value)
        _refuse_control_characters(text)
        _check_length(field, text)
        _check_pattern(field, text)
        return text

    return check


def _textarea(field: FormField) -> Check:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise FieldProblem("type", "must be a string")
        # Line ends as a browser's form encoding sends them (CRLF), or old Mac's CR, are
        # one newline; CR would otherwise be a control character.
        text = normalise(value.replace("\r\n", "\n").replace("\r", "\n"))
        _refuse_control_characters(text, allowed="\n\t")
        _check_length(field, text)
        _check_pattern(field, text)
        return text

    return check


def looks_like_email(text: str) -> bool:
    """A pragmatic shape check: one @, a dotted domain, no spaces or quoting.

    Not RFC 5322: quoted local parts and address literals are refused, and dots in the
    local part are not policed, because Japanese mobile carriers long issued addresses
    such as ``taro..yamada.@docomo.ne.jp`` that people still use.
    """
    if text.count("@") != 1:
        return False
    local, domain = text.split("@")
    if not local or len(local) > _EMAIL_LOCAL_MAX:
        return False
    if any(not label for label in domain.split(".")) or "." not in domain:
        return False
    return not any(c.isspace() or c in _EMAIL_FORBIDDEN for c in text)


def _email(field: FormField) -> Check:
    def check(value: Any) -> str:
        text = _string(value)
        _refuse_control_characters(text)
        _check_length(field, text)
        if not looks_like_email(text):
            raise FieldProblem("email", "is not an email address")
        _check_pattern(field, text)
        return text

    return check


# ---------------------------------------------------------------------------- number


def _bound(value: float | None) -> Decimal | None:
    # str() first: Decimal(0.1) is 0.1000000000000000055..., Decimal("0.1") is 0.1.
    return None if value is None else Decimal(str(value))


def _as_decimal(value: Any) -> Decimal:
    # Python's bool is an int: JSON true must not count as 1.
    if isinstance(value, bool):
        raise FieldProblem("type", "must be a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FieldProblem("type", "must be a finite number")
        return Decimal(repr(value))
    if isinstance(value, str):
        text = normalise(value)
        # Refuses NaN, Infinity, exponents, "+1", ".5", spaces and other scripts' digits,
        # all of which Decimal() would accept.
        if not _NUMBER.fullmatch(text):
            raise FieldProblem("type", "must be a number written with digits 0-9")
        if len(text) > MAX_NUMBER_DIGITS + 2:  # sign and point
            raise FieldProblem("range", f"must have at most {MAX_NUMBER_DIGITS} digits")
        return Decimal(text)
    raise FieldProblem("type", "must be a number")


def _number(field: FormField) -> Check:
    low, high = _bound(field.min), _bound(field.max)

    def check(value: Any) -> str:
        number = _as_decimal(value)
        if number.is_zero():
            number = number.copy_abs()  # no "-0" in kintone
        # Plain notation: kintone refuses exponents ("1E+3").
        text = format(number, "f")
        if len(text.lstrip("-").replace(".", "")) > MAX_NUMBER_DIGITS:
            raise FieldProblem("range", f"must have at most {MAX_NUMBER_DIGITS} digits")
        # 5.0 is a whole number: only significant decimal places count.
        places = len(text.partition(".")[2].rstrip("0"))
        if field.decimals is not None and places > field.decimals:
            raise FieldProblem("type", f"must have at most {field.decimals} decimal places")
        if (low is not None and number < low) or (high is not None and number > high):
            raise FieldProblem("range", _range_detail(field))
        return text

    return check


def _range_detail(field: FormField) -> str:
    if field.min is not None and field.max is not None:
        return f"must be between {field.min:g} and {field.max:g}"
    if field.min is not None:
        return f"must be at least {field.min:g}"
    return f"must be at most {field.max:g}"


# ------------------------------------------------------------------------ dates, times


def _calendar_date(text: str) -> date | None:
    # The shape first: fromisoformat also takes 20250401 and week dates (2025-W14-2).
    if not _DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:  # 2025-02-30
        return None


def _instant(text: str) -> datetime | None:
    # An offset is required: a time without one is a different instant to every reader.
    if not _DATETIME.fullmatch(text):
        return None
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except (ValueError, OverflowError):  # 24:00, or 0001-01-01T00:00+09:00
        return None


def _date(field: FormField) -> Check:
    def check(value: Any) -> str:
        text = _string(value)
        if _calendar_date(text) is None:
            raise FieldProblem("date", "must be a date written YYYY-MM-DD")
        return text

    return check


def _datetime(field: FormField) -> Check:
    def check(value: Any) -> str:
        instant = _instant(_string(value))
        if instant is None:
            raise FieldProblem(
                "date", "must be a date and time with an offset (2025-04-01T09:30:00+09:00)"
            )
        return instant.replace(tzinfo=None, microsecond=0).isoformat() + "Z"

    return check


# --------------------------------------------------------------------------- options


def _option(field: FormField, value: Any) -> str:
    text = _string(value)
    if text not in (field.options or ()):
        raise FieldProblem("choice", "must be one of the form's options")
    return text


def _choice(field: FormField) -> Check:
    return lambda value: _option(field, value)


def _multi_choice(field: FormField) -> Check:
    def check(value: Any) -> list[str]:
        if not isinstance(value, list):
            raise FieldProblem("type", "must be a list of options")
        chosen = [_option(field, item) for item in value]
        if len(set(chosen)) != len(chosen):
            raise FieldProblem("choice", "lists an option twice")
        if field.max_items is not None and len(chosen) > field.max_items:
            raise FieldProblem("length", f"at most {field.max_items} options")
        return chosen

    return check


def _file(field: FormField) -> Check:
    if field.upload == "direct":
        return lambda value: parse_upload_refs(field, value)
    return lambda value: parse_files(field, value)


_BUILDERS: dict[str, Callable[[FormField], Check]] = {
    "text": _text,
    "textarea": _textarea,
    "email": _email,
    "number": _number,
    "date": _date,
    "datetime": _datetime,
    "choice": _choice,
    "multi_choice": _multi_choice,
    "file": _file,
}
