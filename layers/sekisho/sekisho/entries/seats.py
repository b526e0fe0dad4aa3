"""Which seat counters an entry takes, and how many, from its values as kintone holds them.

A counter is named ``form`` (the form as a whole) or ``choice:<option>`` (one option of
the capacity's choice field); an entry holds the same number of seats on each counter it
takes: its count (the number field's value, 1 when the form counts entries or the field
is empty).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from sekisho.errors import ConfigurationError

if TYPE_CHECKING:
    from sekisho.policy import FormPolicy

FORM_COUNTER = "form"
CHOICE_PREFIX = "choice:"

Holds = Mapping[str, int]


def choice_counter(option: str) -> str:
    return f"{CHOICE_PREFIX}{option}"


def limits(form: FormPolicy) -> dict[str, int]:
    """Every counter of the form and its seats."""
    capacity = form.capacity
    if capacity is None:
        return {}
    bounds = {choice_counter(option): seats for option, seats in capacity.choices.items()}
    if capacity.seats is not None:
        bounds[FORM_COUNTER] = capacity.seats
    return bounds


def seat_count(form: FormPolicy, record: Mapping[str, Any]) -> int:
    """The seats one entry takes, read from its kintone values (``record``)."""
    capacity = form.capacity
    if capacity is None or capacity.count is None:
        return 1
    raw = record.get(form.fields[capacity.count].code)
    if raw in (None, ""):
        return 1
    try:
        # "2", and "2.0" (a number sent as 2.0 has no digits after the point either).
        value = Decimal(str(raw))
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value != value.to_integral_value():
        # The submission was validated (decimals: 0): a value that is no whole number
        # here is a policy or a code error, never the browser's.
        raise ConfigurationError(f"capacity.count {capacity.count} is not a whole number")
    count = int(value)
    if count < 1:
        raise ConfigurationError(f"capacity.count {capacity.count} is below one")
    return count


def seat_claim(form: FormPolicy, record: Mapping[str, Any]) -> dict[str, int]:
    """The counters (and seats on each) an entry with these values holds."""
    capacity = form.capacity
    if capacity is None:
        return {}
    count = seat_count(form, record)
    claim: dict[str, int] = {}
    if capacity.seats is not None:
        claim[FORM_COUNTER] = count
    if capacity.by is not None:
        option = record.get(form.fields[capacity.by].code)
        if isinstance(option, str) and option in capacity.choices:
            claim[choice_counter(option)] = count
    return claim
