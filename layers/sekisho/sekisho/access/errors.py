"""Why a route's ``when:`` refused a request: 403 problems with stable codes, and the
times a page needs to say when to come back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sekisho.errors import SekishoError


class RouteNotOpen(
    SekishoError, code="route_not_open", status=403, title="This route is not open to this request"
):
    """The base of the refusals below (never raised itself). A refusal may name times
    (``opens``, ``closes``, ``next_open``: ISO 8601 with an offset) as extension members
    of its problem document (RFC 9457 section 3.2)."""

    def __init__(self, detail: str | None = None, *, times: Mapping[str, str] | None = None):
        super().__init__(detail)
        self.times = dict(times or {})

    @property
    def outcome(self) -> str:
        """What the audit line says: the problem's code."""
        return self.code

    def problem(self) -> dict[str, Any]:
        return super().problem() | self.times


class NotOpenYet(RouteNotOpen, code="not_open_yet", title="This route is not open yet"):
    """Before the route's ``opens``; the problem says ``opens`` and ``next_open``."""


class Closed(RouteNotOpen, code="closed", title="This route has closed"):
    """At or after the route's ``closes``, which the problem says."""


class OutsideHours(RouteNotOpen, code="outside_hours", title="This route is closed at this hour"):
    """Outside the route's ``hours``; the problem says ``next_open`` unless the route
    closes for good before then."""


class NetworkNotAllowed(
    RouteNotOpen, code="network_not_allowed", title="This route does not answer this network"
):
    """The client's address is in none of the route's ``networks``."""


class ClaimsNotMet(
    RouteNotOpen, code="claims_not_met", title="This route is not open to this account"
):
    """The signed-in visitor's session lacks a claim value the route requires."""
