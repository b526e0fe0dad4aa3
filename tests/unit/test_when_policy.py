"""when: in the policy: where it may stand, what `sekisho check` refuses or warns about,
and that it survives the reviewed snapshot."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml

from sekisho.cli import main
from sekisho.policy import PolicyError
from sekisho.policy.snapshot import restore, snapshot_bytes
from sekisho.policy.validation import lint_policy, parse_policy, validate_policy
from sekisho.policy.when import OpeningHours, WhenPolicy

REPO_POLICY = Path(__file__).resolve().parents[2] / "policy.yaml"
HOURS = {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "09:00", "to": "18:00"}
FULL_WHEN = {
    "opens": "2026-12-01T09:00:00+09:00",
    "closes": "2027-01-31T18:00:00+09:00",
    "hours": {**HOURS, "zone": "Asia/Tokyo"},
    "networks": ["10.0.0.0/8", "2001:db8::/32"],
}


def shipped() -> dict[str, Any]:
    return yaml.safe_load(REPO_POLICY.read_text(encoding="utf-8"))


def with_when(where: tuple[str, str], when: Any) -> dict[str, Any]:
    data = shipped()
    data[where[0]][where[1]]["when"] = when
    return data


def issues(data: dict[str, Any]) -> list[tuple[str, str]]:
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    with pytest.raises(PolicyError) as caught:
        parse_policy(text)
    return [(issue.location, issue.message) for issue in caught.value.issues]


ROUTES = [
    ("views", "deal-status"),
    ("views", "my-applications"),
    ("forms", "seminar-apply"),
    ("webhooks", "demo-stripe"),
    ("realms", "applicants"),
]


@pytest.mark.parametrize("where", ROUTES)
def test_every_kind_of_route_takes_a_when(where):
    policy = validate_policy(with_when(where, FULL_WHEN))
    when = getattr(policy, where[0])[where[1]].when
    assert when == WhenPolicy(
        opens="2026-12-01T09:00:00+09:00",
        closes="2027-01-31T18:00:00+09:00",
        hours=OpeningHours(
            days=("mon", "tue", "wed", "thu", "fri"), start="09:00", end="18:00", zone="Asia/Tokyo"
        ),
        networks=(ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32")),
    )


def test_a_time_is_kept_as_normalised_iso_text_with_its_offset():
    when = {"opens": "2026-12-01T09:00+09:00", "closes": "2027-01-31T09:00:00Z"}
    policy = validate_policy(with_when(("forms", "seminar-apply"), when))
    got = policy.form("seminar-apply").when
    assert (got.opens, got.closes) == ("2026-12-01T09:00:00+09:00", "2027-01-31T09:00:00+00:00")


def test_unquoted_yaml_timestamps_with_an_offset_are_read_as_written():
    text = REPO_POLICY.read_text(encoding="utf-8").replace(
        '      opens: "2026-01-01T00:00:00+09:00"\n', "      opens: 2026-01-01T00:00:00+09:00\n"
    )
    assert "opens: 2026-01-01T00:00:00+09:00" in text
    assert parse_policy(text).form("seminar-apply").when.opens == "2026-01-01T00:00:00+09:00"


def test_the_shipped_form_has_an_application_period_and_nothing_that_depends_on_the_hour():
    when = parse_policy(REPO_POLICY.read_text(encoding="utf-8")).form("seminar-apply").when
    assert when is not None
    assert (when.opens, when.closes) == ("2026-01-01T00:00:00+09:00", "2030-03-31T23:59:59+09:00")
    assert (when.hours, when.networks, when.claims) == (None, None, {})


REFUSED = [
    # (when, location under the route's when, the message, in part)
    ({"opens": "2026-12-01T09:00:00"}, "opens", "has no UTC offset"),
    ({"closes": "2026-12-01"}, "closes", "has no UTC offset"),
    # Unquoted in YAML, a day is a date: it has no instant to close at.
    ({"closes": dt.date(2026, 12, 1)}, "closes", "must be a date and time with its UTC offset"),
    ({"opens": "next monday"}, "opens", "not an ISO 8601 date and time"),
    (
        {"opens": "2027-01-01T00:00:00+09:00", "closes": "2026-12-01T00:00:00+09:00"},
        "",
        "is not before closes",
    ),
    (
        {"opens": "2026-12-01T00:00:00+09:00", "closes": "2026-11-30T15:00:00Z"},
        "",
        "is not before closes",  # the same instant
    ),
    ({"hours": {**HOURS, "zone": "Asia/Tokio"}}, "hours.zone", "not an IANA time zone"),
    ({"hours": {**HOURS, "zone": "JST+9"}}, "hours.zone", "not an IANA time zone"),
    ({"hours": {**HOURS, "zone": "/etc/localtime"}}, "hours.zone", "not an IANA time zone"),
    (
        {"hours": {**HOURS, "from": "09:00", "to": "09:00", "zone": "Asia/Tokyo"}},
        "hours",
        "from and to are both 09:00",
    ),
    ({"hours": {**HOURS, "to": "24:00", "zone": "UTC"}}, "hours.to", "HH:MM, 00:00 to 23:59"),
    ({"hours": {**HOURS, "from": "9:00", "zone": "UTC"}}, "hours.from", "HH:MM"),
    ({"hours": {**HOURS, "to": 1080, "zone": "UTC"}}, "hours.to", "write the time in quotes"),
    (
        {"hours": {**HOURS, "days": ["monday"], "zone": "UTC"}},
        "hours.days.0",
        "Input should be 'mon'",
    ),
    ({"hours": {**HOURS, "days": [], "zone": "UTC"}}, "hours.days", "list at least one day"),
    ({"hours": {**HOURS, "days": ["mon", "mon"], "zone": "UTC"}}, "hours.days", "listed twice"),
    ({"networks": ["10.0.0.0/33"]}, "networks.0", "not an IPv4 or IPv6 CIDR block"),
    ({"networks": ["nonsense"]}, "networks.0", "not an IPv4 or IPv6 CIDR block"),
    ({"networks": ["10.1.2.3/8"]}, "networks.0", "host bits set: write the network, 10.0.0.0/8"),
    ({"networks": ["2001:db8::1/32"]}, "networks.0", "write the network, 2001:db8::/32"),
    ({"networks": []}, "networks", "list at least one network"),
    ({"networks": [167772160]}, "networks.0", "must be a CIDR block as text"),
    ({}, "", "when says nothing"),
    ({"open": "2026-12-01T09:00:00+09:00"}, "open", "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("when", "location", "message"), REFUSED)
def test_a_when_that_could_never_be_read_one_way_is_refused(when, location, message):
    found = issues(with_when(("forms", "seminar-apply"), when))
    where = "forms.seminar-apply.when" + (f".{location}" if location else "")
    assert any(loc == where and message in text for loc, text in found), found


CLAIMS_REFUSED = [
    (("views", "deal-status"), "claims need a signed-in caller"),
    (("webhooks", "demo-stripe"), "claims need a signed-in caller"),
    (("realms", "applicants"), "claims need a signed-in caller"),
]


@pytest.mark.parametrize(("where", "message"), CLAIMS_REFUSED)
def test_claims_are_refused_where_no_session_calls(where, message):
    found = issues(with_when(where, {"claims": {"email": "a@example.com"}}))
    assert (f"{where[0]}.{where[1]}.when.claims", message) in [
        (loc, text[: len(message)]) for loc, text in found
    ], found


def test_a_form_without_editable_has_no_signed_in_caller_for_claims():
    data = with_when(("forms", "seminar-apply"), {"claims": {"email": "a@example.com"}})
    del data["forms"]["seminar-apply"]["editable"]
    del data["forms"]["seminar-apply"]["cancel"]
    [(location, message)] = issues(data)
    assert location == "forms.seminar-apply.when.claims"
    assert message.startswith("claims need a signed-in caller")


@pytest.mark.parametrize("where", [("views", "my-applications"), ("forms", "seminar-apply")])
def test_a_session_route_may_require_only_claims_its_realm_has(where):
    validate_policy(with_when(where, {"claims": {"email": "a@example.com"}}))
    found = issues(with_when(where, {"claims": {"role": "member"}}))
    assert found == [
        (f"{where[0]}.{where[1]}.when.claims.role", "realm applicants claims only email")
    ]


@pytest.mark.parametrize(
    ("networks", "warned"),
    [
        (["0.0.0.0/0"], ["0.0.0.0/0 is every IPv4 address: it limits nothing"]),
        (["::/0"], ["::/0 is every IPv6 address: it limits nothing"]),
        (["10.0.0.0/8", "::/0"], ["::/0 is every IPv6 address: it limits nothing"]),
        (["10.0.0.0/8", "2001:db8::/32"], []),
    ],
)
def test_a_network_that_admits_everyone_is_a_warning(networks, warned):
    policy = validate_policy(with_when(("views", "deal-status"), {"networks": networks}))
    found = [f for f in lint_policy(policy) if ".when." in f.location]
    assert [f.message for f in found] == warned
    assert all(f.severity == "warning" for f in found)


def test_sekisho_check_prints_each_refusal_and_strict_fails_on_an_open_network(tmp_path, capsys):
    bad = with_when(
        ("forms", "seminar-apply"),
        {"opens": "2027-01-01T00:00:00", "hours": {**HOURS, "zone": "Mars/Olympus"}},
    )
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "forms.seminar-apply.when.opens: has no UTC offset" in out
    assert "forms.seminar-apply.when.hours.zone: not an IANA time zone" in out

    wide = with_when(("views", "deal-status"), {"networks": ["0.0.0.0/0"]})
    path.write_text(yaml.safe_dump(wide, allow_unicode=True), encoding="utf-8")
    assert main(["check", str(path)]) == 0
    assert "views.deal-status.when.networks.0: 0.0.0.0/0 is every IPv4 address" in (
        capsys.readouterr().out
    )
    assert main(["check", "--strict", str(path)]) == 1


@pytest.mark.parametrize("where", ROUTES)
def test_a_when_survives_the_reviewed_snapshot(where):
    when = {
        **FULL_WHEN,
        "hours": {**HOURS, "from": "22:00", "to": "02:00", "zone": "Europe/Berlin"},
    }
    if where in (("views", "my-applications"), ("forms", "seminar-apply")):
        when["claims"] = {"email": "a@example.com"}
    validated = validate_policy(with_when(where, when))
    restored = restore(snapshot_bytes(validated))
    original = getattr(validated, where[0])[where[1]].when
    twin = getattr(restored, where[0])[where[1]].when
    assert twin == original
    assert type(twin.networks) is tuple
    assert [type(n) for n in twin.networks] == [ipaddress.IPv4Network, ipaddress.IPv6Network]
    assert (twin.opens_at, twin.closes_at) == (original.opens_at, original.closes_at)
    assert twin.hours.overnight
    assert original.hours.overnight
    assert snapshot_bytes(restored) == snapshot_bytes(validated)
