"""`python -m devstack switch`: the local stack's kill switch, as an operator flips it in AWS.

It changes the template's RouteSwitchesParameter in moto's SSM (what `aws ssm put-parameter`
does on AWS): the functions re-read it at most every 30 s, so the route answers 503
`route_disabled` within a minute, and `make dev` keeps running.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sekisho.switches import NONE, parse_switched_off

from .cfn import Resolver, load_template, parameter_values
from .errors import TemplateError
from .provision import physical_name, register_resources

PARAMETER = "RouteSwitchesParameter"
SECTIONS = ("views", "forms", "webhooks", "realms")


def parameter_name(template: Path) -> str:
    data = load_template(template)
    resource = data["Resources"].get(PARAMETER)
    if resource is None:
        raise TemplateError(f"{template} declares no {PARAMETER}")
    resolver = Resolver(data, parameter_values(data, {}))
    register_resources(data, resolver, "")
    return physical_name(PARAMETER, resource, resolver)


def switched_off(ssm: Any, name: str) -> frozenset[str]:
    return parse_switched_off(ssm.get_parameter(Name=name)["Parameter"]["Value"])


def flip(ssm: Any, name: str, route: str, *, on: bool) -> frozenset[str]:
    """Switch ``route`` (``views/<name>`` ...) on or off; the routes now switched off."""
    section, _, rest = route.partition("/")
    if section not in SECTIONS or not rest or "/" in rest:
        raise ValueError(f"a route is {'|'.join(SECTIONS)}/<name>, not {route!r}")
    current = switched_off(ssm, name)
    wanted = current - {route} if on else current | {route}
    value = ",".join(sorted(wanted)) or NONE
    ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
    return frozenset(wanted)
