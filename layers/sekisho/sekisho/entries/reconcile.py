"""The seats kintone says are taken, counted from the form's records, beside the
counters: what ``sekisho seats reconcile`` prints and, asked to, sets.

A record holds seats when it carries a receipt and is neither cancelled (the form's
``cancel``) nor waitlisted (its ``waitlist``); it holds them as an entry with its values
would (:func:`~sekisho.entries.seats.seat_claim`). Records are read a page at a time by
``$id``, with the capacity's own view-only token and only the fields that decide it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sekisho.kintone.cells import equals, plain

from .corrections import seat_codes
from .seats import limits, seat_claim

if TYPE_CHECKING:
    from sekisho.kintone.client import KintoneClient
    from sekisho.policy import FormPolicy

    from .ledger import EntryLedger

PAGE = 500  # kintone's largest page


@dataclass(frozen=True)
class CounterState:
    counter: str
    seats: int
    counted: int  # the entries table's counter
    kintone: int  # what the records hold

    @property
    def difference(self) -> int:
        return self.counted - self.kintone


def _codes(form: FormPolicy) -> list[str]:
    codes = ["$id", *seat_codes(form)]
    for marker in (form.cancel, form.waitlist):
        if marker is not None:
            codes.append(marker.field)
    return list(dict.fromkeys(codes))


def records_holding_seats(client: KintoneClient, form: FormPolicy) -> Iterator[dict[str, Any]]:
    last = 0
    while True:
        # $id paging: offset stops at 10,000 records, $id never does.
        query = f'$id > "{last}" order by $id asc limit {PAGE}'
        page = client.get_records(form.app, query, fields=_codes(form)).records
        for record in page:
            if not plain(record.get(form.receipt_field)):
                continue
            if form.cancel is not None and equals(record.get(form.cancel.field), form.cancel.value):
                continue
            if form.waitlist is not None and equals(
                record.get(form.waitlist.field), form.waitlist.value
            ):
                continue
            yield record
        if len(page) < PAGE:
            return
        last = int(str(plain(page[-1].get("$id"))))


def compare(
    name: str, form: FormPolicy, client: KintoneClient, entries: EntryLedger
) -> list[CounterState]:
    bounds = limits(form)
    held: Counter[str] = Counter()
    for record in records_holding_seats(client, form):
        values = {code: plain(record.get(code)) for code in seat_codes(form)}
        held.update(seat_claim(form, values))
    counted = entries.taken(name, list(bounds))
    return [CounterState(c, bounds[c], counted[c], held[c]) for c in bounds]
