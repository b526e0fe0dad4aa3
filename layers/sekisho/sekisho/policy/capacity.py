"""The seats of a form as the relay runs them: how many entries (or people) it takes, in
total and per choice of one choice field, and where a full form puts the rest."""

from __future__ import annotations

from .rule import Rule, fresh


class CapacityPolicy(Rule):
    """Seats taken atomically at intake, before a submission is written or queued.

    ``seats`` bounds the form as a whole, ``choices`` each value of the browser field
    ``by``; an entry takes the value of the number field ``count`` (1 when it names none
    or is left empty), or 1. ``token_secret`` (record VIEW only) is the operator's, for
    ``sekisho seats reconcile``: no function reads it.
    """

    seats: int | None = None
    by: str | None = None
    choices: dict[str, int] = fresh(dict)
    count: str | None = None
    token_secret: str | None = None


class WaitlistPolicy(Rule):
    """A full form still takes the entry, recorded with ``field`` set to ``value`` and no
    seat held."""

    field: str
    value: str


CAPACITY_RULES: tuple[type[Rule], ...] = (CapacityPolicy, WaitlistPolicy)
