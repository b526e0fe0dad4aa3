"""An in-memory entries table: the twin of :class:`~sekisho.entries.ledger.EntryLedger`
for unit tests (production's entries must be shared by every container: DynamoDB)."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from .errors import CapacityFull, EntryMoved, ReceiptTaken
from .ledger import QUEUED, Entry
from .seats import Holds


class InMemoryEntryLedger:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], Entry] = {}
        self._taken: dict[tuple[str, str], int] = {}

    def open(
        self,
        form: str,
        receipt: str,
        *,
        claim: Holds,
        limits: Mapping[str, int],
        status: str = QUEUED,
        waitlisted: bool = False,
    ) -> Entry:
        with self._lock:
            if (form, receipt) in self._entries:
                raise ReceiptTaken("the receipt is taken")
            self._grow(form, {}, claim, limits)
            entry = Entry(form, receipt, status, dict(claim), 0, waitlisted)
            self._entries[form, receipt] = entry
            return entry

    def read(self, form: str, receipt: str) -> Entry | None:
        with self._lock:
            return self._entries.get((form, receipt))

    def mark(self, form: str, receipt: str, status: str, *, reason: str | None = None) -> None:
        with self._lock:
            entry = self._entries.get((form, receipt))
            if entry is not None:
                self._entries[form, receipt] = _with(entry, status=status, reason=reason)

    def move(
        self,
        entry: Entry,
        to: Holds,
        *,
        limits: Mapping[str, int],
        status: str | None = None,
        reason: str | None = None,
    ) -> Entry:
        with self._lock:
            key = (entry.form, entry.receipt)
            if self._entries.get(key, None) is None or self._entries[key].version != entry.version:
                raise EntryMoved("the entry changed since it was read")
            self._grow(entry.form, entry.holds, to, limits)
            moved = _with(entry, status=status, reason=reason, holds=dict(to))
            self._entries[key] = moved
            return moved

    def release(self, form: str, receipt: str, *, status: str, reason: str | None = None) -> bool:
        entry = self.read(form, receipt)
        if entry is None:
            return False
        self.move(entry, {}, limits={}, status=status, reason=reason)
        return True

    def taken(self, form: str, counters: list[str]) -> dict[str, int]:
        with self._lock:
            return {c: self._taken.get((form, c), 0) for c in counters}

    def set_taken(self, form: str, counter: str, *, expected: int, value: int) -> bool:
        with self._lock:
            if self._taken.get((form, counter), 0) != expected:
                return False
            self._taken[form, counter] = value
            return True

    def _grow(self, form: str, old: Holds, new: Holds, limits: Mapping[str, int]) -> None:
        for counter, seats in new.items():
            extra = seats - old.get(counter, 0)
            taken = self._taken.get((form, counter), 0)
            if extra > 0 and counter in limits and taken + extra > limits[counter]:
                raise CapacityFull("no seats left")
        for counter in {*old, *new}:
            change = new.get(counter, 0) - old.get(counter, 0)
            self._taken[form, counter] = self._taken.get((form, counter), 0) + change


def _with(
    entry: Entry, *, status: str | None, reason: str | None, holds: Holds | None = None
) -> Entry:
    changed = holds is not None
    return Entry(
        entry.form,
        entry.receipt,
        status or entry.status,
        dict(holds) if holds is not None else dict(entry.holds),
        entry.version + 1 if changed else entry.version,
        entry.waitlisted,
        reason or entry.reason,
    )
