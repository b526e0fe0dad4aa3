"""A route's ``when:``, evaluated: open or not, now, for this client, this session.

Every route checks it right after its kill switch and before its guard (which hashes
the client's address with a key from Secrets Manager), before any secret is read or
kintone called: a closed route costs nothing and spends no budget.

The order of the refusals is deliberate. The network comes first, so a client outside
it learns nothing else about the route (not even its period); then the period
(``opens`` included, ``closes`` excluded), then the hours. Claims are checked apart
(:func:`check_claims`), after the session is verified, since only a verified session
has them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from sekisho.policy.when import Network, WhenPolicy

from .errors import ClaimsNotMet, Closed, NetworkNotAllowed, NotOpenYet, OutsideHours

State = Literal["open", "not_open_yet", "closed", "outside_hours"]


def wall_now(wall: Callable[[], float]) -> dt.datetime:
    """The instant a wall clock (``time.time`` or a test's) says, in UTC."""
    return dt.datetime.fromtimestamp(wall(), dt.UTC)


def check_when(
    when: WhenPolicy | None,
    *,
    now: dt.datetime,
    source_ip: str | None,
    claims: Mapping[str, str] | None = None,
) -> None:
    """Raise the route's 403 unless ``when`` admits this request; None admits all.

    ``claims`` are the verified session's (None before the session is verified, or on a
    route without one: validation allows ``claims:`` only where a session exists).
    """
    if when is None:
        return
    if when.networks is not None and not admitted(source_ip, when.networks):
        raise NetworkNotAllowed("the route does not answer requests from this address")
    state, times = _state(when, now)
    if state == "not_open_yet":
        raise NotOpenYet("the route is not open yet", times=times)
    if state == "closed":
        raise Closed("the route has closed", times=times)
    if state == "outside_hours":
        raise OutsideHours("the route is closed at this hour", times=times)
    if claims is not None:
        check_claims(when, claims)


def check_claims(when: WhenPolicy | None, claims: Mapping[str, str]) -> None:
    """Raise 403 ``claims_not_met`` unless every claim ``when`` requires has its value."""
    if when is None:
        return
    for name, value in when.claims.items():
        if claims.get(name) != value:
            raise ClaimsNotMet("the session does not have what this route requires")


def when_facts(when: WhenPolicy | None, now: dt.datetime) -> dict[str, Any]:
    """What anyone may know of the route's period and hours now (for a page): ``open``,
    ``state``, ``opens``, ``closes``, ``next_open`` (ISO 8601 or None) and ``hours``.
    Networks and claims are left out: they are about a caller, not the route."""
    if when is None:
        return {
            "open": True,
            "state": "open",
            "opens": None,
            "closes": None,
            "next_open": None,
            "hours": None,
        }
    state, times = _state(when, now)
    hours = when.hours
    return {
        "open": state == "open",
        "state": state,
        "opens": when.opens,
        "closes": when.closes,
        "next_open": times.get("next_open"),
        "hours": None
        if hours is None
        else {"days": list(hours.days), "from": hours.start, "to": hours.end, "zone": hours.zone},
    }


def admitted(source_ip: str | None, networks: Iterable[Network]) -> bool:
    """Is ``source_ip`` (API Gateway's ``sourceIp``) inside one of ``networks``? An
    IPv4-mapped IPv6 address (``::ffff:10.1.2.3``) is its IPv4 address; an address that
    does not parse is in none."""
    try:
        address = ipaddress.ip_address(source_ip or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


# ------------------------------------------------------------------------------ state


def _state(when: WhenPolicy, now: dt.datetime) -> tuple[State, dict[str, str]]:
    """The route's state at ``now`` and the times its problem (or facts) name."""
    opens, closes = when.opens_at, when.closes_at
    if opens is not None and now < opens:
        times = {"opens": _text(opens, when)}
        upcoming = _next_open(when, opens)
        if upcoming is not None:
            times["next_open"] = _text(upcoming, when)
        return "not_open_yet", times
    if closes is not None and now >= closes:
        return "closed", {"closes": _text(closes, when)}
    if when.hours is not None and not when.hours.is_open(now):
        upcoming = _next_open(when, now)
        return "outside_hours", {} if upcoming is None else {"next_open": _text(upcoming, when)}
    return "open", {}


def _next_open(when: WhenPolicy, after: dt.datetime) -> dt.datetime | None:
    """The first instant at or after ``after`` at which the period and the hours are
    both open; None when the route closes for good first."""
    upcoming = after
    hours = when.hours
    if hours is not None and not hours.is_open(upcoming):
        upcoming = hours.next_start(upcoming)
    closes = when.closes_at
    if closes is not None and upcoming >= closes:
        return None
    return upcoming


def _text(instant: dt.datetime, when: WhenPolicy) -> str:
    # In the hours' zone when there are hours (what a visitor there reads), otherwise
    # with the offset the policy wrote.
    hours = when.hours
    if hours is not None:
        return hours.local(instant).isoformat()
    return instant.isoformat()
