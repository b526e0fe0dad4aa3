"""What can go wrong when a verified event is applied, in the relay's one hierarchy.

:class:`ActionRefused` and its kinds are **permanent**: the same event would fail the
same way forever (a pointer that is not in it, a value that does not fit its field, no
record with its key). Such an event is sent to the dead-letter queue at once with its
``reason``, never retried in a loop. Everything that may pass later (kintone busy or
down, a concurrent edit, the ledger unavailable) is an
:class:`~sekisho.errors.UpstreamUnavailable`, retried with the queue's backoff.
"""

from __future__ import annotations

from typing import ClassVar

from sekisho.errors import SekishoError, UpstreamUnavailable


class ActionRefused(
    SekishoError, code="action_refused", status=422, title="The event cannot be applied"
):
    """The event cannot be applied as the policy declares it."""

    reason: ClassVar[str] = "action_refused"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field  # the kintone field code concerned, when there is one


class MalformedEvent(ActionRefused):
    """The queued message is not an event WebhookFunction queues."""

    reason = "malformed_message"


class PointerMissing(ActionRefused):
    """A mapping's JSON pointer names nothing in this event."""

    reason = "pointer_missing"


class ValueInvalid(ActionRefused):
    """The value a pointer names does not fit its kintone field."""

    reason = "value_invalid"


class TargetMissing(ActionRefused):
    """An update's key names no record."""

    reason = "target_missing"


class TargetAmbiguous(ActionRefused):
    """An update's key names more than one record (the key field is not unique)."""

    reason = "target_ambiguous"


class RecordGone(ActionRefused):
    """A kintone event's record no longer exists when the action reads it."""

    reason = "record_gone"


class WriteRefused(ActionRefused):
    """kintone refused the values (CB_VA01 other than the receipt's unique violation)."""

    reason = "kintone_refused"


class RevisionConflict(UpstreamUnavailable):
    """The record kept changing between its read and the write: tried again later."""


class LedgerUnavailable(UpstreamUnavailable):
    """The table that remembers applied events could not be read or written."""


class ActionInProgress(UpstreamUnavailable):
    """The same event is being applied by another invocation right now."""


class DeadLetterUnavailable(UpstreamUnavailable):
    """A refused event could not be put on the dead-letter queue: it stays on the queue."""
