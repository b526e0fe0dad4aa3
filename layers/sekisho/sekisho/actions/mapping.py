"""The declared mapping applied to one event: kintone field code -> the value to write.

Each value comes from a JSON pointer (RFC 6901) into the event or is fixed by the policy,
and is checked against the field's declared type before anything is written. A pointer
that names nothing and a value that does not fit are refusals with their own reason;
neither says the value (it may be personal data), only the field and what was expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jsonpointer import EndOfList, JsonPointer, JsonPointerException

from sekisho.kintone.values import ValueMismatch, wire_value

from .errors import PointerMissing, ValueInvalid

if TYPE_CHECKING:
    from sekisho.policy import ActionPolicy

_MISSING = object()


@dataclass(frozen=True)
class Write:
    """What one event writes: every mapped field, and the key of the record it changes."""

    values: dict[str, Any] = field(repr=False)
    key: str | None = field(default=None, repr=False)


def resolve(document: Any, pointer: str, code: str) -> Any:
    try:
        value = JsonPointer(pointer).resolve(document, _MISSING)
    except JsonPointerException:
        # The message would quote the document; this one says only where.
        value = _MISSING
    if value is _MISSING or isinstance(value, EndOfList):
        raise PointerMissing(f"{pointer} is not in the event (for {code})", field=code)
    return value


def _fits(field_type: str, value: Any, code: str) -> Any:
    try:
        return wire_value(field_type, value)
    except ValueMismatch as exc:
        raise ValueInvalid(f"{code} is {field_type}: {exc}", field=code) from None


def map_event(action: ActionPolicy, types: Mapping[str, str], document: Any) -> Write:
    """The values ``action`` writes for the event ``document``, each checked by type."""
    values: dict[str, Any] = {}
    for code, source in action.fields.items():
        raw = source.fixed if source.pointer is None else resolve(document, source.pointer, code)
        values[code] = _fits(types[code], raw, code)
    key = None
    if action.key is not None:
        code = action.key.field
        key = _fits(types[code], resolve(document, action.key.pointer, code), code)
        if key == "":
            raise ValueInvalid(f"the key {code} is empty", field=code)
    return Write(values, key)
