"""Validation of a form's seats (``capacity:``) and of where a full form puts the rest
(``waitlist:``).

What the form alone decides (a choice field to count by, its options, a whole number
field to count with) is checked by :func:`check_capacity` with the form; the waitlist's
kintone field needs the app's declared types and is checked by :func:`capacity_issues`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, model_validator

from .base import StrictModel
from .names import FieldCode, FormFieldName, SecretName

if TYPE_CHECKING:
    from ..model import Policy

Location = tuple[str | int, ...]
Issue = tuple[Location, str]

# A DynamoDB number holds far more; a seat count past this is a typo, not a venue.
MAX_SEATS = 1_000_000
Seats = Annotated[int, Field(ge=1, le=MAX_SEATS, strict=True)]
# Types a waitlisted entry's marker can be written to as one string.
WAITLIST_TYPES = frozenset({"SINGLE_LINE_TEXT", "DROP_DOWN", "RADIO_BUTTON"})


class CapacityPolicy(StrictModel):
    seats: Seats | None = None
    by: FormFieldName | None = None
    choices: dict[str, Seats] = Field(default_factory=dict)
    count: FormFieldName | None = None
    token_secret: SecretName | None = None  # record VIEW only: `sekisho seats reconcile`

    @model_validator(mode="after")
    def _bounded(self) -> CapacityPolicy:
        if self.seats is None and not self.choices:
            raise ValueError("a capacity needs seats, choices, or both")
        if bool(self.choices) != (self.by is not None):
            raise ValueError("choices and by go together: by names the field they are of")
        if self.seats is not None and self.choices and sum(self.choices.values()) < self.seats:
            # Not an error in kind, but the form total could never be reached.
            raise ValueError("the choices together have fewer seats than the form")
        return self


class WaitlistPolicy(StrictModel):
    field: FieldCode
    value: str = Field(min_length=1, max_length=256)


def check_capacity(
    capacity: CapacityPolicy | None, waitlist: WaitlistPolicy | None, fields: Mapping[str, Any]
) -> None:
    """Refuse a capacity the form's own fields cannot count (``fields``: the form's)."""
    if capacity is None:
        if waitlist is not None:
            raise ValueError("waitlist needs capacity: without seats nothing is ever full")
        return
    if capacity.by is not None:
        field = fields.get(capacity.by)
        if field is None or field.type != "choice":
            raise ValueError(f"capacity.by {capacity.by} is not a choice field of the form")
        unknown = sorted(set(capacity.choices) - set(field.options or ()))
        if unknown:
            raise ValueError(f"capacity.choices {unknown} are not options of {capacity.by}")
    if capacity.count is not None:
        field = fields.get(capacity.count)
        if field is None or field.type != "number":
            raise ValueError(f"capacity.count {capacity.count} is not a number field of the form")
        if field.decimals != 0 or field.min is None or field.min < 1 or field.max is None:
            # A seat is a whole person: 0.5, 0, -3 or an unbounded number would be a way
            # round the count.
            raise ValueError(
                f"capacity.count {capacity.count} needs decimals: 0, min of at least 1 and a max"
            )


def capacity_issues(policy: Policy) -> list[Issue]:
    issues: list[Issue] = []
    for name, form in policy.forms.items():
        if form.waitlist is None:
            continue
        loc: Location = ("forms", name, "waitlist", "field")
        app = policy.apps.get(form.app)
        ftype = app.field_types.get(form.waitlist.field) if app is not None else None
        if ftype is None:
            issues.append((loc, f"field {form.waitlist.field} is not declared in app {form.app}"))
        elif ftype not in WAITLIST_TYPES:
            issues.append((loc, f"field {form.waitlist.field} is {ftype}"))
        elif form.waitlist.field == form.receipt_field:
            issues.append((loc, "the receipt field cannot mark a waitlisted entry"))
        if form.waitlist.field in {f.code for f in form.fields.values()}:
            # A browser could write the marker itself (or clear it).
            issues.append((loc, "a field the browser sends cannot mark a waitlisted entry"))
    return issues
