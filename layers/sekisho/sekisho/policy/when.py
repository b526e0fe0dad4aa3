"""A route's ``when:`` as the relay runs it: the period it is open, its hours in a time
zone, the networks it answers and the session claims it requires.

The times stay the text the review approved (ISO 8601 with an offset, ``HH:MM``), so a
snapshot holds them as written; each rule parses its own once, when it is built, into
derived slots (:mod:`sekisho.when` reads them).
"""

from __future__ import annotations

import datetime as dt
from ipaddress import IPv4Network, IPv6Network
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sekisho.errors import ConfigurationError

from .rule import Rule, fresh

Network = IPv4Network | IPv6Network

# Monday first, as datetime.weekday() counts.
DAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def clock_time(text: str) -> dt.time:
    """``HH:MM`` as a time of day (validation refuses any other shape first)."""
    hours, _, minutes = text.partition(":")
    return dt.time(int(hours), int(minutes))


class OpeningHours(Rule):
    """The hours a route is open on the listed days, on the wall clock of ``zone``.

    ``start`` after ``end`` is an overnight window: it opens on a listed day at
    ``start`` and closes at ``end`` the next morning (``from``/``to`` in YAML).
    """

    days: tuple[str, ...]
    start: str
    end: str
    zone: str
    _weekdays: frozenset[int]
    _start: dt.time
    _end: dt.time
    _zone: ZoneInfo

    def _derive(self) -> None:
        object.__setattr__(self, "_weekdays", frozenset(DAY_NAMES.index(d) for d in self.days))
        object.__setattr__(self, "_start", clock_time(self.start))
        object.__setattr__(self, "_end", clock_time(self.end))
        try:
            zone = ZoneInfo(self.zone)
        except (ZoneInfoNotFoundError, ValueError):
            # Reviewed where the zone was known: this runtime lacks the zone database
            # (the layer ships tzdata for that) or a zone it holds.
            raise ConfigurationError(f"time zone {self.zone} is not known here") from None
        object.__setattr__(self, "_zone", zone)

    @property
    def overnight(self) -> bool:
        return self._start > self._end

    def local(self, instant: dt.datetime) -> dt.datetime:
        """``instant`` on the zone's wall clock."""
        return instant.astimezone(self._zone)

    def is_open(self, now: dt.datetime) -> bool:
        """Is ``now`` (aware) inside the hours, on the zone's wall clock?"""
        local = self.local(now)
        at = local.time().replace(tzinfo=None)
        if not self.overnight:
            return local.weekday() in self._weekdays and self._start <= at < self._end
        if local.weekday() in self._weekdays and at >= self._start:
            return True
        return (local.weekday() - 1) % 7 in self._weekdays and at < self._end

    def next_start(self, after: dt.datetime) -> dt.datetime:
        """The first opening at or after ``after``, in the zone (every week has one)."""
        local = self.local(after)
        for offset in range(8):
            day = local.date() + dt.timedelta(days=offset)
            if day.weekday() not in self._weekdays:
                continue
            # A start that falls in a DST gap is read with the offset before the gap, as
            # zoneinfo does (fold=0): a 02:30 that never happens opens at 03:30.
            start = dt.datetime.combine(day, self._start, tzinfo=self._zone)
            if start.astimezone(dt.UTC) >= after.astimezone(dt.UTC):
                return start
        raise AssertionError("a week always holds a listed day")  # pragma: no cover


class WhenPolicy(Rule):
    """When, from where and to whom a route answers; anything else is a 403 before the
    route reads a secret or calls kintone."""

    # ISO 8601 with an offset: open from ``opens`` (included) until ``closes`` (excluded).
    opens: str | None = None
    closes: str | None = None
    hours: OpeningHours | None = None
    networks: tuple[Network, ...] | None = None
    # Session claim -> the value it must have (only on routes a signed-in visitor calls).
    claims: dict[str, str] = fresh(dict)
    _opens: dt.datetime | None
    _closes: dt.datetime | None

    def _derive(self) -> None:
        for name in ("opens", "closes"):
            text = getattr(self, name)
            object.__setattr__(self, f"_{name}", None if text is None else _instant(text))

    @property
    def opens_at(self) -> dt.datetime | None:
        return self._opens

    @property
    def closes_at(self) -> dt.datetime | None:
        return self._closes


def _instant(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        # Validation refuses a naive time; a snapshot is never written with one.
        raise ValueError(f"{text} has no UTC offset")
    return value


WHEN_RULES: tuple[type[Rule], ...] = (WhenPolicy, OpeningHours)
