"""What can go wrong with a form's seats and its receipts' states."""

from __future__ import annotations

from sekisho.errors import SekishoError, UpstreamUnavailable


class CapacityFull(SekishoError, code="capacity_full", status=409, title="No seats left"):
    """The form, or the chosen choice, has no seats left for this entry."""


class ReceiptTaken(SekishoError, code="receipt_taken"):
    """A freshly drawn receipt is already held by another entry: draw another."""


class EntryMoved(SekishoError, code="entry_moved", status=409, title="The entry changed"):
    """The entry's seats changed while this change was being made: read it again."""


class EntriesUnavailable(UpstreamUnavailable, code="entries_unavailable"):
    """The entries table could not be read or written; nothing was taken or given."""
