"""What the three HTTP routes share: their CORS and body settings, their kill switches."""

from __future__ import annotations

import functools

from sekisho import runtime
from sekisho.http.resolver import HttpSettings
from sekisho.policy.metric_routes import request_routes
from sekisho.switches import RouteSwitches, ssm_reader


def http_settings() -> HttpSettings:
    current = runtime.settings()
    return HttpSettings(
        allowed_origins=current.allowed_origins,
        max_body_bytes=current.max_body_bytes,
        route_of=request_routes(runtime.policy()),
    )


@functools.cache
def route_switches() -> RouteSwitches:
    """The kill switches of this container's routes: the policy's, and the SSM parameter's
    when ROUTE_SWITCHES_PARAMETER names one."""
    name = runtime.settings().route_switches_parameter
    return RouteSwitches(ssm_reader(name) if name else None)
