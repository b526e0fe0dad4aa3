"""Per-field checks of a record add or update, with kintone's error paths and messages.

This module looks at one request only; checks that need the stored records (unique
values, uploaded files) are made by `records`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .schema import AppDef, FieldDef
from .store import empty_value, kintone_datetime

REQUIRED = "Required field."
INVALID = "Missing or invalid input."
NOT_A_NUMBER = "Only numbers are allowed."
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?")
_TEXT_TYPES = frozenset({"SINGLE_LINE_TEXT", "MULTI_LINE_TEXT", "LINK"})


@dataclass
class Checked:
    """User-field values ready to store; FILE values are still the uploaded file keys."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def fail(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)


def value_path(code: str) -> str:
    return f"record.{code}.value"


def check_record(app: AppDef, raw: Any, *, partial: bool) -> Checked:
    """Check the fields a request sets. `partial` is an update: absent fields stay as they are.

    Unknown field codes and system fields are ignored without an error, as kintone does.
    """
    checked = Checked()
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        checked.fail("record", INVALID)
        return checked
    for spec in app.fields.values():
        if spec.is_system:
            continue
        if spec.code not in raw:
            if not partial:
                _set(checked, spec, empty_value(spec.type))
            continue
        entry = raw[spec.code]
        if not isinstance(entry, dict):
            checked.fail(f"record.{spec.code}", INVALID)
            continue
        _set(checked, spec, entry.get("value"))
    return checked


def _set(checked: Checked, spec: FieldDef, value: Any) -> None:
    errors_before = len(checked.errors)
    normalized = _normalize(checked, spec, value)
    if len(checked.errors) != errors_before:
        return
    if spec.required and normalized in ("", []):
        checked.fail(value_path(spec.code), REQUIRED)
        return
    checked.values[spec.code] = normalized


def _normalize(checked: Checked, spec: FieldDef, value: Any) -> Any:
    path = value_path(spec.code)
    if value is None:
        return empty_value(spec.type)
    if spec.type in _TEXT_TYPES:
        return _text(checked, spec, value)
    if spec.type == "NUMBER":
        return _number(checked, spec, value)
    if spec.type == "DATE":
        return _date(checked, path, value)
    if spec.type == "DATETIME":
        return _datetime(checked, path, value)
    if spec.type in {"DROP_DOWN", "RADIO_BUTTON"}:
        if not isinstance(value, str):
            checked.fail(path, INVALID)
        elif value and value not in spec.options:
            checked.fail(path, _not_in_options(value))
        return value
    if spec.type == "CHECK_BOX":
        return _choices(checked, spec, value)
    if spec.type == "FILE":
        return _file_keys(checked, path, value)
    checked.fail(path, INVALID)
    return value


def _scalar_text(value: Any) -> str | None:
    # JSON numbers are accepted where kintone expects a string; booleans and objects are not.
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _text(checked: Checked, spec: FieldDef, value: Any) -> str:
    text = _scalar_text(value)
    if text is None:
        checked.fail(value_path(spec.code), INVALID)
        return ""
    if spec.max_length is not None and len(text) > spec.max_length:
        checked.fail(value_path(spec.code), f"Enter no more than {spec.max_length} characters.")
    return text


def _number(checked: Checked, spec: FieldDef, value: Any) -> str:
    text = _scalar_text(value)
    if text == "":
        return ""
    if text is None or not _NUMBER.fullmatch(text):
        # The one validation path kintone writes with brackets.
        checked.fail(f"record[{spec.code}].value", NOT_A_NUMBER)
        return ""
    number = Decimal(text)
    if spec.min_value is not None and number < _decimal(spec.min_value):
        checked.fail(value_path(spec.code), f"The value must be {spec.min_value} or more.")
    if spec.max_value is not None and number > _decimal(spec.max_value):
        checked.fail(value_path(spec.code), f"The value must be {spec.max_value} or less.")
    return text


def _decimal(bound: str) -> Decimal:
    try:
        return Decimal(bound)
    except InvalidOperation as exc:
        raise ValueError(f"the seed has a non-numeric bound {bound!r}") from exc


def _date(checked: Checked, path: str, value: Any) -> str:
    if value == "":
        return ""
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    checked.fail(path, "Enter the date in YYYY-MM-DD format.")
    return ""


def _datetime(checked: Checked, path: str, value: Any) -> str:
    if value == "":
        return ""
    if isinstance(value, str) and _DATETIME.fullmatch(value):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            # A time without an offset is taken as UTC; seconds are kept, fractions not.
            return kintone_datetime(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    checked.fail(path, "Enter the date and time in ISO 8601 format (YYYY-MM-DDThh:mm:ssZ).")
    return ""


def _not_in_options(value: str) -> str:
    return f'The value, "{value}", is not in options.'


def _choices(checked: Checked, spec: FieldDef, value: Any) -> list[str]:
    path = value_path(spec.code)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        checked.fail(path, INVALID)
        return []
    for item in value:
        if item not in spec.options:
            checked.fail(path, _not_in_options(item))
    return list(dict.fromkeys(value))


def _file_keys(checked: Checked, path: str, value: Any) -> list[str]:
    if not isinstance(value, list):
        checked.fail(path, INVALID)
        return []
    keys = []
    for item in value:
        key = item.get("fileKey") if isinstance(item, dict) else None
        if not isinstance(key, str) or not key:
            checked.fail(path, INVALID)
            return []
        keys.append(key)
    return keys
