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

# What a pointer that names nothing in the event reads as.
MISSING: Any = object()


@dataclass(frozen=True)
class Write:
    """What one event writes: every mapped field, and the key of the record it changes."""

    values: dict[str, Any] = field(repr=False)
    key: str | None = field(default=None, repr=False)


def value_at(document: Any, pointer: str) -> Any:
    """The value ``pointer`` names in ``document``, or :data:`MISSING`."""
    try:
        value = JsonPointer(pointer).resolve(document, MISSING)
    except JsonPointerException:
        # The message would quote the document; the caller says only where.
        return MISSING
    # "/-" names the element after the last: nothing that is there.
    return MISSING if isinstance(value, EndOfList) else value


def resolve(document: Any, pointer: str, code: str) -> Any:
    value = value_at(document, pointer)
    if value is MISSING:
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
