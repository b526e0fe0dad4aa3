"""Seats through an entry's later life: a correction that changes its count or its
choice, and a cancel, each against the seats the entry holds in the entries table.

A correction takes what it adds *before* kintone is written (so two corrections cannot
both take the last seat) and gives back what it drops only *after* kintone took the
write (so a failed write leaves the entry holding what its record says); a write that
fails gives back what was taken for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from sekisho.kintone.cells import plain

from .ledger import CANCELLED
from .seats import limits, seat_claim

if TYPE_CHECKING:
    from sekisho.policy import FormPolicy

    from .ledger import EntryLedger


def seat_codes(form: FormPolicy) -> list[str]:
    """The kintone fields an entry's seats are read from (its receipt, count and choice)."""
    capacity = form.capacity
    if capacity is None:
        return []
    codes = [form.receipt_field]
    for name in (capacity.count, capacity.by):
        if name is not None:
            codes.append(form.fields[name].code)
    return codes


class EntrySeats:
    def __init__(self, entries: EntryLedger | None) -> None:
        # None: no entries table, so no form may have seats (the route checks it).
        self._entries = entries

    @contextlib.contextmanager
    def correcting(
        self,
        name: str,
        form: FormPolicy,
        record: Mapping[str, Any],
        values: Mapping[str, Any],
    ) -> Iterator[None]:
        """Hold the seats ``values`` (a correction of ``record``) need while the block
        writes kintone; :class:`~sekisho.entries.errors.CapacityFull` before it when they
        are not there."""
        ledger = self._entries
        receipt = plain(record.get(form.receipt_field)) if form.capacity is not None else None
        entry = ledger.read(name, str(receipt)) if receipt and ledger is not None else None
        if entry is None or ledger is None or entry.waitlisted or form.capacity is None:
            # No seats to move: a form without capacity, an entry of before the table, a
            # waitlisted entry (which holds none).
            yield
            return
        current = {code: plain(record.get(code)) for code in seat_codes(form)}
        wanted = seat_claim(form, {**current, **values})
        bounds = limits(form)
        widest = {c: max(entry.holds.get(c, 0), wanted.get(c, 0)) for c in {*entry.holds, *wanted}}
        widest = {c: n for c, n in widest.items() if n > 0}
        held = ledger.move(entry, widest, limits=bounds) if widest != entry.holds else entry
        try:
            yield
        except BaseException:
            if held is not entry:
                ledger.move(held, entry.holds, limits=bounds)
            raise
        if wanted != held.holds:
            ledger.move(held, wanted, limits=bounds)

    def cancelled(self, name: str, form: FormPolicy, record: Mapping[str, Any]) -> None:
        """Give back the seats of a cancelled entry (once, however often it is asked)."""
        if form.capacity is None or self._entries is None:
            return
        receipt = plain(record.get(form.receipt_field))
        if receipt:
            self._entries.release(name, str(receipt), status=CANCELLED)
