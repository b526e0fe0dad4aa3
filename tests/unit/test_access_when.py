"""A route's when:, evaluated: the period (opens included, closes excluded), the hours on
a zone's wall clock (DST and overnight windows too), the networks (IPv6, mapped IPv4),
the claims, and the facts a page may show."""

from __future__ import annotations

import datetime as dt
import ipaddress
import typing

import pytest

from sekisho.access.errors import (
    ClaimsNotMet,
    Closed,
    NetworkNotAllowed,
    NotOpenYet,
    OutsideHours,
    RouteNotOpen,
)
from sekisho.access.when import admitted, check_claims, check_when, wall_now, when_facts
from sekisho.policy.validation.when import Day
from sekisho.policy.when import DAY_NAMES, OpeningHours, WhenPolicy, clock_time

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
TOKYO_HOURS = OpeningHours(days=WEEKDAYS, start="09:00", end="18:00", zone="Asia/Tokyo")
BERLIN_HOURS = OpeningHours(days=WEEKDAYS, start="09:00", end="17:00", zone="Europe/Berlin")
# Friday 22:00 to Saturday 02:00, Tokyo.
LATE_HOURS = OpeningHours(days=("fri",), start="22:00", end="02:00", zone="Asia/Tokyo")
PERIOD = WhenPolicy(opens="2026-12-01T09:00:00+09:00", closes="2027-01-31T18:00:00+09:00")


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def state(when: WhenPolicy | None, now: str) -> str:
    return when_facts(when, at(now))["state"]


# ------------------------------------------------------------------------ the period


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-12-01T08:59:59+09:00", "not_open_yet"),
        ("2026-12-01T09:00:00+09:00", "open"),  # exactly at opens: open
        ("2026-12-01T00:00:00+00:00", "open"),  # the same instant, another offset
        ("2027-01-31T17:59:59.999999+09:00", "open"),
        ("2027-01-31T18:00:00+09:00", "closed"),  # exactly at closes: closed
        ("2027-01-31T09:00:00+00:00", "closed"),
        ("2030-01-01T00:00:00+00:00", "closed"),
    ],
)
def test_the_period_opens_at_opens_and_closes_at_closes(now, expected):
    assert state(PERIOD, now) == expected


def test_before_opens_the_route_answers_not_open_yet_with_the_opening_time():
    with pytest.raises(NotOpenYet) as caught:
        check_when(PERIOD, now=at("2026-11-30T12:00:00+09:00"), source_ip="203.0.113.9")
    problem = caught.value.problem()
    assert (problem["status"], problem["code"]) == (403, "not_open_yet")
    assert problem["type"] == "urn:sekisho:problem:not_open_yet"
    assert problem["opens"] == "2026-12-01T09:00:00+09:00"
    assert problem["next_open"] == "2026-12-01T09:00:00+09:00"
    assert "closes" not in problem


def test_from_closes_on_the_route_answers_closed_with_the_closing_time():
    with pytest.raises(Closed) as caught:
        check_when(PERIOD, now=at("2027-02-01T00:00:00+09:00"), source_ip="203.0.113.9")
    problem = caught.value.problem()
    assert (problem["status"], problem["code"]) == (403, "closed")
    assert problem["closes"] == "2027-01-31T18:00:00+09:00"
    assert "next_open" not in problem


def test_a_route_without_when_is_always_open():
    check_when(None, now=at("2000-01-01T00:00:00+00:00"), source_ip=None)
    assert when_facts(None, at("2000-01-01T00:00:00+00:00")) == {
        "open": True,
        "state": "open",
        "opens": None,
        "closes": None,
        "next_open": None,
        "hours": None,
    }


def test_only_opens_or_only_closes_bounds_one_side():
    since = WhenPolicy(opens="2026-12-01T09:00:00+09:00")
    until = WhenPolicy(closes="2026-12-01T09:00:00+09:00")
    assert state(since, "2099-01-01T00:00:00+00:00") == "open"
    assert state(until, "2000-01-01T00:00:00+00:00") == "open"
    assert state(until, "2026-12-01T09:00:00+09:00") == "closed"


# ------------------------------------------------------------------------- the hours


@pytest.mark.parametrize(
    ("hours", "now", "expected", "next_open"),
    [
        # Tokyo has no DST. 2026-12-07 is a Monday.
        (TOKYO_HOURS, "2026-12-07T08:59:59+09:00", "outside_hours", "2026-12-07T09:00:00+09:00"),
        (TOKYO_HOURS, "2026-12-07T09:00:00+09:00", "open", None),
        (TOKYO_HOURS, "2026-12-07T00:00:00+00:00", "open", None),  # 09:00 in Tokyo
        (TOKYO_HOURS, "2026-12-07T17:59:59+09:00", "open", None),
        (TOKYO_HOURS, "2026-12-07T18:00:00+09:00", "outside_hours", "2026-12-08T09:00:00+09:00"),
        (TOKYO_HOURS, "2026-12-11T18:00:00+09:00", "outside_hours", "2026-12-14T09:00:00+09:00"),
        (TOKYO_HOURS, "2026-12-12T12:00:00+09:00", "outside_hours", "2026-12-14T09:00:00+09:00"),
        # Sunday 23:30 UTC is already Monday 08:30 in Tokyo.
        (TOKYO_HOURS, "2026-12-06T23:30:00+00:00", "outside_hours", "2026-12-07T09:00:00+09:00"),
        # Berlin moves to summer time on Sunday 2026-03-29: 09:00 is 08:00 UTC on the
        # Friday before and 07:00 UTC on the Monday after.
        (BERLIN_HOURS, "2026-03-27T08:00:00+00:00", "open", None),
        (BERLIN_HOURS, "2026-03-27T07:59:59+00:00", "outside_hours", "2026-03-27T09:00:00+01:00"),
        (BERLIN_HOURS, "2026-03-27T16:00:00+00:00", "outside_hours", "2026-03-30T09:00:00+02:00"),
        (BERLIN_HOURS, "2026-03-30T07:00:00+00:00", "open", None),
        (BERLIN_HOURS, "2026-03-30T06:59:59+00:00", "outside_hours", "2026-03-30T09:00:00+02:00"),
        (BERLIN_HOURS, "2026-03-30T14:59:59+00:00", "open", None),  # 16:59:59 CEST
        (BERLIN_HOURS, "2026-03-30T15:00:00+00:00", "outside_hours", "2026-03-31T09:00:00+02:00"),
        # Overnight: Friday 22:00 until Saturday 02:00 (2026-12-11 is a Friday).
        (LATE_HOURS, "2026-12-11T21:59:59+09:00", "outside_hours", "2026-12-11T22:00:00+09:00"),
        (LATE_HOURS, "2026-12-11T22:00:00+09:00", "open", None),
        (LATE_HOURS, "2026-12-12T01:59:59+09:00", "open", None),
        (LATE_HOURS, "2026-12-12T02:00:00+09:00", "outside_hours", "2026-12-18T22:00:00+09:00"),
        # Thursday night is not Friday night.
        (LATE_HOURS, "2026-12-10T23:00:00+09:00", "outside_hours", "2026-12-11T22:00:00+09:00"),
        (LATE_HOURS, "2026-12-11T01:00:00+09:00", "outside_hours", "2026-12-11T22:00:00+09:00"),
    ],
)
def test_the_hours_are_read_on_the_zone_s_wall_clock(hours, now, expected, next_open):
    facts = when_facts(WhenPolicy(hours=hours), at(now))
    assert (facts["state"], facts["next_open"]) == (expected, next_open)
    assert facts["open"] is (expected == "open")


def test_outside_the_hours_the_route_answers_outside_hours_with_the_next_opening():
    when = WhenPolicy(hours=TOKYO_HOURS)
    with pytest.raises(OutsideHours) as caught:
        check_when(when, now=at("2026-12-12T10:00:00+09:00"), source_ip="203.0.113.9")
    problem = caught.value.problem()
    assert (problem["status"], problem["code"]) == (403, "outside_hours")
    assert problem["next_open"] == "2026-12-14T09:00:00+09:00"


def test_before_the_period_the_next_opening_is_the_first_hour_inside_it():
    # Opens on a Saturday: the first weekday morning after it is the first chance.
    when = WhenPolicy(opens="2026-12-12T00:00:00+09:00", hours=TOKYO_HOURS)
    with pytest.raises(NotOpenYet) as caught:
        check_when(when, now=at("2026-12-01T10:00:00+09:00"), source_ip=None)
    assert caught.value.problem()["opens"] == "2026-12-12T00:00:00+09:00"
    assert caught.value.problem()["next_open"] == "2026-12-14T09:00:00+09:00"


def test_hours_that_would_open_only_after_closes_name_no_next_opening():
    when = WhenPolicy(closes="2026-12-12T12:00:00+09:00", hours=TOKYO_HOURS)
    facts = when_facts(when, at("2026-12-11T19:00:00+09:00"))
    assert (facts["state"], facts["next_open"]) == ("outside_hours", None)
    with pytest.raises(OutsideHours) as caught:
        check_when(when, now=at("2026-12-11T19:00:00+09:00"), source_ip=None)
    assert "next_open" not in caught.value.problem()


def test_the_facts_name_the_period_and_the_hours_but_neither_networks_nor_claims():
    when = WhenPolicy(
        opens="2026-12-01T09:00:00+09:00",
        closes="2027-01-31T18:00:00+09:00",
        hours=TOKYO_HOURS,
        networks=(ipaddress.ip_network("10.0.0.0/8"),),
        claims={"role": "member"},
    )
    assert when_facts(when, at("2026-12-12T10:00:00+09:00")) == {
        "open": False,
        "state": "outside_hours",
        "opens": "2026-12-01T09:00:00+09:00",
        "closes": "2027-01-31T18:00:00+09:00",
        "next_open": "2026-12-14T09:00:00+09:00",
        "hours": {"days": list(WEEKDAYS), "from": "09:00", "to": "18:00", "zone": "Asia/Tokyo"},
    }


# ---------------------------------------------------------------------- the networks


@pytest.mark.parametrize(
    ("networks", "source_ip", "expected"),
    [
        (["10.0.0.0/8"], "10.1.2.3", True),
        (["10.0.0.0/8"], "127.0.0.1", False),
        (["10.0.0.0/8"], "11.0.0.1", False),
        (["10.0.0.0/8"], "::ffff:10.1.2.3", True),  # IPv4-mapped: its IPv4 address
        (["10.0.0.0/8"], "::ffff:127.0.0.1", False),
        (["10.0.0.0/8"], "2001:db8::1", False),
        (["2001:db8::/32"], "2001:db8:ffff::1", True),
        (["2001:db8::/32"], "2001:db9::1", False),
        (["2001:db8::/32"], "10.1.2.3", False),
        (["10.0.0.0/8", "2001:db8::/32"], "2001:db8::1", True),
        (["203.0.113.7/32"], "203.0.113.7", True),
        (["203.0.113.7/32"], "203.0.113.8", False),
        (["10.0.0.0/8"], "", False),
        (["10.0.0.0/8"], None, False),
        (["10.0.0.0/8"], "10.1.2.3, 127.0.0.1", False),  # never a forwarded list
        (["10.0.0.0/8"], "not-an-address", False),
    ],
)
def test_a_network_admits_exactly_its_addresses(networks, source_ip, expected):
    parsed = tuple(ipaddress.ip_network(n) for n in networks)
    assert admitted(source_ip, parsed) is expected
    when = WhenPolicy(networks=parsed)
    now = at("2026-12-07T12:00:00+09:00")
    if expected:
        check_when(when, now=now, source_ip=source_ip)
    else:
        with pytest.raises(NetworkNotAllowed) as caught:
            check_when(when, now=now, source_ip=source_ip)
        assert (caught.value.status, caught.value.code) == (403, "network_not_allowed")


def test_a_client_outside_the_networks_learns_nothing_of_the_period():
    when = PERIOD.replace(networks=(ipaddress.ip_network("10.0.0.0/8"),))
    with pytest.raises(NetworkNotAllowed) as caught:
        check_when(when, now=at("2030-01-01T00:00:00+00:00"), source_ip="127.0.0.1")
    problem = caught.value.problem()
    assert not {"opens", "closes", "next_open"} & set(problem)


# ------------------------------------------------------------------------ the claims


@pytest.mark.parametrize(
    ("required", "claims", "met"),
    [
        ({"role": "member"}, {"role": "member", "email": "a@example.com"}, True),
        ({"role": "member"}, {"role": "guest"}, False),
        ({"role": "member"}, {"role": "Member"}, False),  # exact, not case-folded
        ({"role": "member"}, {"email": "a@example.com"}, False),
        ({"role": "member"}, {}, False),
        ({"role": "member", "plan": "paid"}, {"role": "member"}, False),
        ({"role": "member", "plan": "paid"}, {"role": "member", "plan": "paid"}, True),
        ({}, {}, True),
    ],
)
def test_every_required_claim_must_have_its_exact_value(required, claims, met):
    when = WhenPolicy(claims=required) if required else WhenPolicy(opens="2000-01-01T00:00:00Z")
    now = at("2026-12-07T12:00:00+09:00")
    if met:
        check_claims(when, claims)
        check_when(when, now=now, source_ip=None, claims=claims)
    else:
        with pytest.raises(ClaimsNotMet) as caught:
            check_claims(when, claims)
        assert (caught.value.status, caught.value.code) == (403, "claims_not_met")
        with pytest.raises(ClaimsNotMet):
            check_when(when, now=now, source_ip=None, claims=claims)


def test_claims_wait_for_a_session_check_when_names_none():
    # Before the session is verified the route checks its period, hours and networks only.
    check_when(WhenPolicy(claims={"role": "member"}), now=wall_now(lambda: 0.0), source_ip=None)


# -------------------------------------------------------------------------- pieces


@pytest.mark.parametrize(
    "error", [NotOpenYet, Closed, OutsideHours, NetworkNotAllowed, ClaimsNotMet]
)
def test_every_refusal_is_a_403_route_not_open_whose_audit_outcome_is_its_code(error):
    refusal = error()
    assert isinstance(refusal, RouteNotOpen)
    assert refusal.status == 403
    assert refusal.outcome == refusal.code == refusal.problem()["code"]


def test_the_wall_clock_is_read_as_utc():
    assert wall_now(lambda: 0.0) == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def test_the_runtime_and_the_validation_name_the_same_days_in_the_same_order():
    assert typing.get_args(Day) == DAY_NAMES


def test_a_time_of_day_is_read_from_hh_mm():
    assert clock_time("09:05") == dt.time(9, 5)
    assert clock_time("23:59") == dt.time(23, 59)
