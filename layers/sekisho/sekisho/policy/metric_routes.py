"""A request's or a message's ``route`` dimension, from names the policy declares.

A name a caller typed reaches a metric only if the policy declares it: anything else is
``undeclared``, so no caller can mint dimension values (each one a CloudWatch metric
billed by the month). The session routes count under their realm; a partner's calls under
its id, which the partner gate names once it knows the partner.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from sekisho.metrics import UNDECLARED

if TYPE_CHECKING:
    from .model import Policy

# A request's matched path parameters, and its path.
RouteOf = Callable[[Mapping[str, str], str], str]
# The template's paths by their first segments: which segment is which parameter.
_SHAPES = {
    "views": "view",
    "forms": "form",
    "webhooks": "source",
    "sessions": "realm",
}


def form_route(policy: Policy, form: object) -> str:
    return f"form:{form}" if isinstance(form, str) and form in policy.forms else UNDECLARED


def webhook_route(policy: Policy, source: object) -> str:
    ok = isinstance(source, str) and source in policy.webhooks
    return f"webhook:{source}" if ok else UNDECLARED


def path_parameters(path: str) -> dict[str, str]:
    """The parameters a path would have had, read by the template's path shapes: for a
    request no route took (a CORS preflight, a wrong method), so that it still counts under
    its route when the policy declares the name."""
    parts = [part for part in path.split("/") if part]
    if parts[:2] == ["partners", "forms"]:
        parts = parts[1:]
    if len(parts) < 2 or parts[0] not in _SHAPES:
        return {}
    params = {_SHAPES[parts[0]]: parts[1]}
    if parts[0] == "forms" and len(parts) >= 4 and parts[2] == "entries":
        params["ref"] = parts[3]
    return params


def request_route(policy: Policy, params: Mapping[str, str], path: str = "") -> str:
    """The route of an HTTP request, by its path parameters (API Gateway's names), or by
    its path when no route matched it."""
    if not params:
        params = path_parameters(path)
    if "realm" in params:
        realm = params["realm"]
        return f"session:{realm}" if realm in policy.realms else UNDECLARED
    if "view" in params:
        view = policy.views.get(params["view"])
        if view is None:
            return UNDECLARED
        return f"session:{view.session}" if view.session else f"view:{params['view']}"
    if "form" in params:
        form = policy.forms.get(params["form"])
        if form is not None and "ref" in params and form.editable is not None:
            return f"session:{form.editable.session}"
        return form_route(policy, params["form"])
    if "source" in params:
        return webhook_route(policy, params["source"])
    return UNDECLARED


def request_routes(policy: Policy) -> RouteOf:
    """What the HTTP edge calls with each request's path parameters."""
    return lambda params, path: request_route(policy, params, path)
