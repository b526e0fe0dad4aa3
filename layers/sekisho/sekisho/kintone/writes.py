"""Writing a record exactly once: kintone's unique receipt field is the ledger.

Shared by the deliverer (a queued form submission) and the action function (a verified
webhook event). Each write carries its receipt in a field kintone keeps unique, so "was
this already written?" is kintone's own answer: a unique violation on the receipt means
an earlier attempt (a timed-out add, a message received twice) wrote it — done, not an
error. An update is made against the revision that was read; a concurrent change
(GAIA_CO02) or a vanished record answers False so the caller reads again. Every other
kintone error propagates unchanged, so both callers map the same GAIA codes alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .client import KintoneClient, Timeouts
from .errors import KintoneNotFound, KintoneRevisionConflict, KintoneUniqueViolation
from .retry import RetryPolicy

# A few quick attempts per call: the queue's backoff (sekisho.redelivery) is the rest.
WRITE_RETRY = RetryPolicy(max_attempts=3, base_delay=0.2, max_delay=1.0, budget=3.0)
WRITE_TIMEOUTS = Timeouts(connect=3.05, read=10.0)


class Added(Enum):
    WRITTEN = "written"  # the record was added now
    DUPLICATE = "duplicate"  # the receipt was already recorded: an earlier attempt wrote it
    KEY_TAKEN = "key_taken"  # another writer added a record with this key first


@dataclass(frozen=True)
class AddResult:
    added: Added
    record_id: str | None = None  # the new record's id, when it was written now


def add_with_receipt(
    client: KintoneClient,
    app: int,
    values: Mapping[str, Any],
    *,
    receipt_field: str,
    key_field: str | None = None,
) -> AddResult:
    """Add the record (``values`` hold the receipt); a unique violation on the receipt is
    :attr:`Added.DUPLICATE`, on ``key_field`` :attr:`Added.KEY_TAKEN`; any other
    violation propagates."""
    try:
        written = client.add_record(app, values)
    except KintoneUniqueViolation as exc:
        duplicates = exc.duplicate_fields()
        if receipt_field in duplicates:
            return AddResult(Added.DUPLICATE)
        if key_field is not None and key_field in duplicates:
            return AddResult(Added.KEY_TAKEN)
        raise
    return AddResult(Added.WRITTEN, getattr(written, "id", None))


def update_at_revision(
    client: KintoneClient, app: int, record_id: int, values: Mapping[str, Any], revision: str
) -> bool:
    """Update the record as it was at ``revision``; False when it changed or vanished
    since (read it again), True when written."""
    try:
        client.update_record(app, record_id, values, revision=revision)
    except (KintoneRevisionConflict, KintoneNotFound):
        return False
    return True
