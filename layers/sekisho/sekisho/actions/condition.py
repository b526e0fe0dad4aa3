"""An action's condition on the verified event (``when``), checked before anything else.

``when`` maps JSON pointers to the value, or the values, the event must have there; every
entry must hold. An event that does not meet it is not an error: the sender did nothing
wrong (Stripe completes a konbini checkout before it is paid), so it is acknowledged,
never retried or dead-lettered, and audited as ``skipped_condition`` with the pointer
that failed and why, never the value the event has there (it may be personal data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .mapping import MISSING, value_at

if TYPE_CHECKING:
    from sekisho.policy import ActionPolicy

SKIPPED = "skipped_condition"
# Why an entry does not hold: its pointer names nothing, or a value it does not allow.
POINTER_MISSING = "pointer_missing"
VALUE_NOT_ALLOWED = "value_not_allowed"


@dataclass(frozen=True)
class Unmet:
    pointer: str
    reason: str


def unmet_condition(action: ActionPolicy, document: Any) -> Unmet | None:
    """The first entry of ``action``'s condition that ``document`` does not meet; None when
    every entry holds or there is no condition."""
    for pointer in action.when or ():
        value = value_at(document, pointer)
        if value is MISSING:
            return Unmet(pointer, POINTER_MISSING)
        if not action.allows(pointer, value):
            return Unmet(pointer, VALUE_NOT_ALLOWED)
    return None


def reads_record(action: ActionPolicy) -> bool:
    """Does the condition read the record of a kintone (refetch) event, ``/record/...``?

    Only then must an event queued while kintone was down wait for its record to be read
    before the condition can be decided; ``/type``, ``/id`` and the like are in the
    message itself.
    """
    return any(pointer.split("/")[1] == "record" for pointer in action.when or ())
