"""The intake's side of a form's entries: a fresh receipt and its seats, taken before
kintone is called or the submission is queued, marked recorded, or given back when the
submission never becomes a record (:mod:`sekisho.entries.ledger` keeps them)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from sekisho.entries.errors import CapacityFull, EntriesUnavailable, ReceiptTaken
from sekisho.entries.ledger import QUEUED, RECORDED, REFUSED
from sekisho.entries.seats import limits, seat_claim
from sekisho.errors import ConfigurationError

if TYPE_CHECKING:
    from sekisho.entries.ledger import EntryLedger
    from sekisho.policy import FormPolicy

logger = logging.getLogger(__name__)

# A receipt drawn twice is refused by the entries table; drawing again ends it.
RECEIPT_DRAWS = 3


class IntakeEntries:
    def __init__(self, entries: EntryLedger | None, draw: Callable[[], str]) -> None:
        self._entries = entries
        self._draw = draw

    def open(
        self,
        name: str,
        form: FormPolicy,
        record: Mapping[str, Any] | None,
        *,
        status: str = QUEUED,
        first: str | None = None,
    ) -> tuple[str, bool]:
        """A fresh receipt, its entry and its seats: (receipt, waitlisted); a ``record`` of
        None (a honeypot's) holds no seat.

        ``first`` is the receipt a retried submission derives (the same on every try):
        tried before any drawn one, and when an earlier try of the submission holds its
        entry (queued or recorded), that entry and its seats are the submission's.

        :class:`CapacityFull` when the form or the chosen choice is full and the form has
        no waitlist.
        """
        if self._entries is None:
            if form.capacity is not None:
                raise ConfigurationError(f"form {name!r} has seats but no entries table is set")
            return first or self._draw(), False
        claim = {} if record is None else seat_claim(form, record)
        bounds = limits(form)
        candidates = [first] if first else []
        for draw in range(RECEIPT_DRAWS + len(candidates)):
            receipt = candidates[draw] if draw < len(candidates) else self._draw()
            try:
                try:
                    self._entries.open(name, receipt, claim=claim, limits=bounds, status=status)
                    return receipt, False
                except CapacityFull:
                    if form.waitlist is None:
                        raise
                    self._entries.open(name, receipt, claim={}, limits={}, waitlisted=True)
                    return receipt, True
            except ReceiptTaken:
                earlier = self._entries.read(name, receipt) if receipt == first else None
                if earlier is None:
                    continue
                if earlier.status in (QUEUED, RECORDED):
                    return receipt, earlier.waitlisted
                if earlier.status == REFUSED and not claim and not earlier.holds:
                    # Given back after a failure that may still have queued it (a send
                    # whose answer was lost): no seat to take again, so the receipt is
                    # reused and kintone's unique field keeps it to one record.
                    self._entries.mark(name, receipt, status)
                    return receipt, earlier.waitlisted
                continue
        raise ConfigurationError("every receipt drawn was taken: is the generator broken?")

    def recorded(self, name: str, receipt: str) -> None:
        if self._entries is None:
            return
        try:
            self._entries.mark(name, receipt, RECORDED)
        except EntriesUnavailable as exc:
            # The record is in kintone: the answer stands; the state says queued until an
            # operator's reconcile, which is wrong only in the safe direction.
            logger.warning(
                "entry state not updated",
                extra={"form": name, "receipt": receipt, "error": type(exc).__name__},
            )

    def give_back(self, name: str, receipt: str, reason: str) -> None:
        if self._entries is None:
            return
        try:
            self._entries.release(name, receipt, status=REFUSED, reason=reason)
        except EntriesUnavailable as exc:
            # Held, not oversold: `sekisho seats reconcile` gives it back.
            logger.error(
                "seats of a refused entry not given back",
                extra={"form": name, "receipt": receipt, "error": type(exc).__name__},
            )

    @contextlib.contextmanager
    def given_back_on_failure(self, name: str, receipt: str, reason: str) -> Iterator[None]:
        try:
            yield
        except BaseException:
            self.give_back(name, receipt, reason)
            raise


def marked(form: FormPolicy, record: Mapping[str, Any], waitlisted: bool) -> Mapping[str, Any]:
    """The record as kintone gets it: a waitlisted entry carries the waitlist's marker."""
    if waitlisted and form.waitlist is not None:
        return {**record, form.waitlist.field: form.waitlist.value}
    return record
