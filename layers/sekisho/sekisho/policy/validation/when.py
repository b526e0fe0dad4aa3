"""Validation of a route's ``when:``: its period, hours, networks and claims.

A window that could never open, a time without an offset (whose zone would be the
server's), a zone the database does not hold and a network with host bits set are all
refused here; where claims may be required, and which, needs the whole policy
(:func:`when_issues`); a network that admits everyone is a warning (:func:`when_findings`).
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import re
import zoneinfo
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import Field, PlainValidator, field_validator, model_validator

from ..model import Policy
from ..when import WhenPolicy as RuntimeWhen
from .base import StrictModel, no_duplicates
from .names import ClaimName

Location = tuple[str | int, ...]
Issue = tuple[Location, str]

# The runtime's DAY_NAMES, spelled for pydantic (a unit test holds the two equal).
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

_CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
_EXAMPLE = "2026-12-01T09:00:00+09:00"


def _instant(value: Any) -> str:
    """An ISO 8601 date and time with its offset, as normalised text."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"not an ISO 8601 date and time (for example {_EXAMPLE})") from None
    if not isinstance(value, dt.datetime):
        # YAML reads an unquoted 2026-12-01 as a date: a day has no instant to open at.
        raise ValueError(f"must be a date and time with its UTC offset, for example {_EXAMPLE}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"has no UTC offset: write it with one (for example {_EXAMPLE}), or it would be "
            "read in the server's zone"
        )
    return value.isoformat()


def _clock(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 18:00 as a base-60 number (1080).
        raise ValueError('write the time in quotes ("18:00"): unquoted, YAML reads it as a number')
    if not isinstance(value, str) or not _CLOCK.fullmatch(value):
        raise ValueError("must be a time of day HH:MM, 00:00 to 23:59")
    return value


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _zone(value: Any) -> str:
    if not isinstance(value, str) or value not in _zones():
        raise ValueError("not an IANA time zone (for example Asia/Tokyo, Europe/Berlin)")
    return value


def _network(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if not isinstance(value, str):
        raise ValueError("must be a CIDR block as text, for example 10.0.0.0/8")
    try:
        return ipaddress.ip_network(value)
    except ValueError:
        pass
    try:
        widened = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError("not an IPv4 or IPv6 CIDR block (for example 10.0.0.0/8)") from None
    # 10.1.2.3/8 reads as a host to one reviewer and as a network to another.
    raise ValueError(f"{value} has host bits set: write the network, {widened}")


Instant = Annotated[str, PlainValidator(_instant)]
ClockTime = Annotated[str, PlainValidator(_clock)]
Zone = Annotated[str, PlainValidator(_zone)]
Network = Annotated[ipaddress.IPv4Network | ipaddress.IPv6Network, PlainValidator(_network)]


class OpeningHours(StrictModel):
    days: Annotated[tuple[Day, ...], Field(strict=False)]
    start: ClockTime = Field(alias="from")
    end: ClockTime = Field(alias="to")
    zone: Zone

    @field_validator("days")
    @classmethod
    def _distinct(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # Checked here rather than with min_length, which would also report a list
        # whose only day was refused as empty.
        if not value:
            raise ValueError("list at least one day")
        return no_duplicates(value)

    @model_validator(mode="after")
    def _opens_at_all(self) -> OpeningHours:
        if self.start == self.end:
            raise ValueError(
                f"from and to are both {self.start}: the hours would never open (a window "
                "past midnight has from after to, e.g. 22:00 to 02:00)"
            )
        return self


class WhenPolicy(StrictModel):
    opens: Instant | None = None
    closes: Instant | None = None
    hours: OpeningHours | None = None
    networks: Annotated[tuple[Network, ...], Field(strict=False)] | None = None
    claims: dict[ClaimName, Annotated[str, Field(min_length=1, max_length=256)]] = Field(
        default_factory=dict
    )

    @field_validator("networks")
    @classmethod
    def _some_network(cls, value: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
        if value is not None and not value:
            raise ValueError("list at least one network, or leave networks out")
        return no_duplicates(value) if value is not None else None

    @model_validator(mode="after")
    def _a_window_that_opens(self) -> WhenPolicy:
        if not (self.opens or self.closes or self.hours or self.networks or self.claims):
            raise ValueError("when says nothing: give opens, closes, hours, networks or claims")
        if self.opens is not None and self.closes is not None:
            opens, closes = (
                dt.datetime.fromisoformat(self.opens),
                dt.datetime.fromisoformat(self.closes),
            )
            if opens >= closes:
                raise ValueError(
                    f"opens {self.opens} is not before closes {self.closes}: the route would "
                    "never open"
                )
        return self


# --------------------------------------------------------------- across the policy


def _whens(policy: Policy) -> Iterator[tuple[Location, RuntimeWhen, str | None]]:
    """Every route's ``when`` with the realm its claims would come from (None: the route
    has no signed-in caller)."""
    for name, view in policy.views.items():
        if view.when is not None:
            yield ("views", name, "when"), view.when, view.session
    for name, form in policy.forms.items():
        if form.when is not None:
            realm = form.editable.session if form.editable is not None else None
            yield ("forms", name, "when"), form.when, realm
    for name, hook in policy.webhooks.items():
        if hook.when is not None:
            yield ("webhooks", name, "when"), hook.when, None
    for name, realm_policy in policy.realms.items():
        if realm_policy.when is not None:
            yield ("realms", name, "when"), realm_policy.when, None


def when_issues(policy: Policy) -> list[Issue]:
    """Claims only where a session says who calls, and only claims its realm has."""
    issues: list[Issue] = []
    for loc, when, realm_name in _whens(policy):
        if not when.claims:
            continue
        where = (*loc, "claims")
        if realm_name is None:
            issues.append(
                (
                    where,
                    "claims need a signed-in caller: only a session view (session:) or a "
                    "form with editable (its entry routes) has one",
                )
            )
            continue
        realm = policy.realms.get(realm_name)
        if realm is None:
            continue  # the undeclared realm is reported where it is named
        for claim in when.claims:
            if claim not in realm.claim_names:
                known = ", ".join(sorted(realm.claim_names))
                issues.append(((*where, claim), f"realm {realm_name} claims only {known}"))
    return issues


def when_findings(policy: Policy) -> list[tuple[str, str]]:
    """(location, message) of each network that admits every address of its family."""
    found: list[tuple[str, str]] = []
    for loc, when, _ in _whens(policy):
        for index, network in enumerate(when.networks or ()):
            if network.prefixlen == 0:
                found.append(
                    (
                        ".".join(str(part) for part in (*loc, "networks", index)),
                        f"{network} is every IPv{network.version} address: it limits nothing",
                    )
                )
    return found
