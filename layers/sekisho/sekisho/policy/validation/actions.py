"""Webhook actions in the policy: a verified event becomes one declared kintone write.

An action names the event types it takes, the app it writes, its own token (which may do
only what the operation needs), the unique field its receipt goes to, and a mapping from
kintone field codes to JSON pointers (RFC 6901) into the verified event or fixed values;
optionally a condition (``when``) the event must meet before anything is read or
written. What needs the app's declared field types (a value that fits its field, a key
field kintone can keep unique) is checked by :mod:`~sekisho.policy.references` once the
whole policy is known.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, PlainValidator, model_validator

from ..constants import OPERATION_PERMISSIONS
from .base import StrictModel, no_duplicates
from .names import AppId, FieldCode, SecretName

Operation = Literal["add", "update", "upsert"]
MAX_EVENT_TYPE_LENGTH = 128


def _pointer_syntax(value: str) -> str:
    """An RFC 6901 JSON pointer: empty (the whole event) or ``/`` segments, where ``~`` is
    only ever ``~0`` or ``~1``."""
    if value and not value.startswith("/"):
        raise ValueError("a JSON pointer starts with /")
    for token in value.split("/")[1:]:
        rest = token.replace("~0", "").replace("~1", "")
        if "~" in rest:
            raise ValueError("in a JSON pointer ~ is written ~0 and / is written ~1")
    return value


def _pointer(value: str) -> str:
    if not _pointer_syntax(value):
        raise ValueError("a mapping takes one value, not the whole event")
    return value


def _condition_pointer(value: str) -> str:
    if not _pointer_syntax(value):
        raise ValueError("a condition compares one value, not the whole event")
    return value


def _event_type(value: str) -> str:
    if not value or len(value) > MAX_EVENT_TYPE_LENGTH or not value.isprintable() or " " in value:
        raise ValueError("an event type is a non-empty name without spaces")
    return value


Pointer = Annotated[str, AfterValidator(_pointer)]
ConditionPointer = Annotated[str, AfterValidator(_condition_pointer)]
EventType = Annotated[str, AfterValidator(_event_type)]


def _fixed_value(value: Any) -> str | int | tuple[str, ...]:
    # One message for every shape, rather than pydantic's one per member of a union.
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError("a fixed value is a string, an integer or a list of strings")


FixedValue = Annotated[str | int | tuple[str, ...], PlainValidator(_fixed_value)]

Scalar = str | int | bool


def _is_scalar(value: Any) -> bool:
    # No floats: a condition compares exactly, and 0.1 + 0.2 is not 0.3. No null either:
    # "the pointer names nothing" and "it names null" would read alike to a reviewer.
    return isinstance(value, str | int)


def _allowed_values(value: Any) -> tuple[Scalar, ...]:
    """One required value, or a list of allowed ones; always held as a tuple."""
    if _is_scalar(value):
        return (value,)
    if isinstance(value, list | tuple) and not value:
        raise ValueError("an empty list allows no value: the action could never run")
    if isinstance(value, list | tuple) and all(_is_scalar(v) for v in value):
        # By type and value: 1 and true (equal in Python) are two different JSON values.
        seen: set[tuple[type, Scalar]] = set()
        for member in value:
            if (type(member), member) in seen:
                raise ValueError(f"{member!r} is listed twice")
            seen.add((type(member), member))
        return tuple(value)
    raise ValueError("a condition's value is a string, an integer, a boolean or a list of them")


def _a_mapping(value: Any) -> Any:
    if not isinstance(value, dict):
        raise ValueError("when maps JSON pointers to the value the event must have there")
    return value


def _some_condition(value: dict[str, tuple[Scalar, ...]]) -> dict[str, tuple[Scalar, ...]]:
    if not value:
        raise ValueError("when needs at least one pointer; leave it out for no condition")
    return value


AllowedValues = Annotated[tuple[Scalar, ...], PlainValidator(_allowed_values)]
# JSON pointer -> the values the event may have there; every entry must hold.
Condition = Annotated[
    dict[ConditionPointer, AllowedValues],
    BeforeValidator(_a_mapping),
    AfterValidator(_some_condition),
]


class FieldSource(StrictModel):
    """Where one written field's value comes from: a pointer into the event, or fixed."""

    pointer: Pointer | None = Field(None, alias="from")
    fixed: FixedValue | None = Field(None, alias="set")

    @model_validator(mode="after")
    def _exactly_one(self) -> FieldSource:
        if (self.pointer is None) == (self.fixed is None):
            raise ValueError("a field takes its value either from: a pointer or set: a value")
        return self


class ActionKey(StrictModel):
    """The record an update changes: the one whose unique ``field`` equals the event's
    value at ``pointer``."""

    field: FieldCode
    pointer: Pointer = Field(alias="from")


class ActionPolicy(StrictModel):
    events: Annotated[tuple[EventType, ...], Field(strict=False, min_length=1)]
    # Checked before the action reads or writes anything (and before its ledger): an event
    # that does not meet it is acknowledged and audited as skipped_condition, never
    # written, retried or dead-lettered. Exact, with JSON types: 1 is not "1".
    when: Condition | None = None
    app: AppId
    operation: Operation
    # The write token: add only for add, edit only for update, both for upsert.
    token_secret: SecretName
    # update and upsert: a view-only token that finds the record by its key and reads its
    # $id, $revision and receipt field, nothing else.
    read_secret: SecretName | None = None
    # Spelled out for upsert, whose token both adds and edits: a reviewer must see it.
    permissions: Annotated[tuple[Literal["add", "edit"], ...], Field(strict=False)] | None = None
    key: ActionKey | None = None
    receipt_field: FieldCode
    fields: dict[FieldCode, FieldSource] = Field(min_length=1)

    @model_validator(mode="after")
    def _operation_fits(self) -> ActionPolicy:
        no_duplicates(self.events)
        needed = OPERATION_PERMISSIONS[self.operation]
        if self.permissions is not None and frozenset(no_duplicates(self.permissions)) != needed:
            wanted = ", ".join(sorted(needed))
            raise ValueError(f"a {self.operation} action's token has exactly: {wanted}")
        if self.operation == "upsert" and self.permissions is None:
            raise ValueError(
                "an upsert token both adds and edits: declare permissions: [add, edit]"
            )
        if self.operation == "add":
            if self.key is not None or self.read_secret is not None:
                raise ValueError("an add action has no key and no read_secret")
        elif self.key is None or self.read_secret is None:
            raise ValueError(f"an {self.operation} action needs a key and a read_secret")
        if self.read_secret is not None and self.read_secret == self.token_secret:
            raise ValueError("read_secret and token_secret must be two tokens")
        written = set(self.fields)
        if self.receipt_field in written:
            raise ValueError("the receipt field is written by the relay, not by a mapping")
        if self.key is not None and self.key.field in written:
            raise ValueError("the key field finds the record; a mapping cannot change it")
        if self.key is not None and self.key.field == self.receipt_field:
            raise ValueError("the key field and the receipt field must differ")
        return self
