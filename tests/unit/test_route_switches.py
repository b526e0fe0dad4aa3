"""Per-route kill switches: the policy's enabled: false and the operator's SSM parameter."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from sekisho.errors import RouteDisabled
from sekisho.switches import REFRESH_SECONDS, RouteSwitches, parse_switched_off


@pytest.mark.parametrize(
    ("value", "routes"),
    [
        ("none", set()),
        ("", set()),
        ("views/deal-status", {"views/deal-status"}),
        (
            "views/deal-status, forms/seminar-apply\nwebhooks/demo-stripe",
            {"views/deal-status", "forms/seminar-apply", "webhooks/demo-stripe"},
        ),
    ],
)
def test_the_parameter_names_routes_separated_by_commas_or_spaces(value, routes):
    assert parse_switched_off(value) == routes


class Parameter:
    def __init__(self, value: str) -> None:
        self.value = value
        self.reads = 0
        self.fail = False

    def __call__(self) -> str:
        self.reads += 1
        if self.fail:
            raise ClientError({"Error": {"Code": "ThrottlingException"}}, "GetParameter")
        return self.value


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_route_switched_off_in_the_policy_answers_route_disabled():
    with pytest.raises(RouteDisabled) as caught:
        RouteSwitches().check("views", "deal-status", enabled=False)
    assert (caught.value.status, caught.value.code) == (503, "route_disabled")


def test_a_flip_of_the_parameter_takes_effect_within_the_refresh_and_back():
    parameter, clock = Parameter("none"), Clock()
    switches = RouteSwitches(parameter, clock=clock)
    switches.check("forms", "seminar-apply")

    parameter.value = "forms/seminar-apply"
    clock.now += REFRESH_SECONDS - 1
    switches.check("forms", "seminar-apply")  # still the last read
    clock.now += 1
    with pytest.raises(RouteDisabled):
        switches.check("forms", "seminar-apply")
    switches.check("views", "deal-status")  # other routes are untouched

    parameter.value = "none"
    clock.now += REFRESH_SECONDS
    switches.check("forms", "seminar-apply")
    assert REFRESH_SECONDS * 2 <= 60  # a flip is seen within a minute
    assert parameter.reads == 3


def test_the_parameter_is_read_at_most_once_per_refresh_whatever_the_traffic():
    parameter, clock = Parameter("none"), Clock()
    switches = RouteSwitches(parameter, clock=clock)
    for _ in range(100):
        switches.check("views", "deal-status")
    assert parameter.reads == 1


def test_while_ssm_is_unreadable_a_switched_off_route_stays_off():
    parameter, clock = Parameter("webhooks/demo-stripe"), Clock()
    switches = RouteSwitches(parameter, clock=clock)
    with pytest.raises(RouteDisabled):
        switches.check("webhooks", "demo-stripe")
    parameter.fail = True
    clock.now += REFRESH_SECONDS
    with pytest.raises(RouteDisabled):
        switches.check("webhooks", "demo-stripe")


def test_a_container_that_never_read_the_parameter_serves_the_policys_switches_only():
    parameter = Parameter("views/deal-status")
    parameter.fail = True
    switches = RouteSwitches(parameter, clock=Clock())
    switches.check("views", "deal-status")
    with pytest.raises(RouteDisabled):
        switches.check("views", "deal-status", enabled=False)


def test_each_change_of_the_switches_is_audited_once(caplog):
    parameter, clock = Parameter("none"), Clock()
    switches = RouteSwitches(parameter, clock=clock)
    with caplog.at_level("INFO", logger="sekisho.audit"):
        switches.check("views", "deal-status")
        parameter.value = "views/deal-status"
        for _ in range(3):
            clock.now += REFRESH_SECONDS
            with pytest.raises(RouteDisabled):
                switches.check("views", "deal-status")
    changes = [
        r.switched_off for r in caplog.records if getattr(r, "action", "") == "route.switches"
    ]
    assert changes == [[], ["views/deal-status"]]
