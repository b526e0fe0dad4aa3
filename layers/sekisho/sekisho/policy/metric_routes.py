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

RouteOf = Callable[[Mapping[str, str]], str]


def form_route(policy: Policy, form: object) -> str:
    return f"form:{form}" if isinstance(form, str) and form in policy.forms else UNDECLARED


def webhook_route(policy: Policy, source: object) -> str:
    ok = isinstance(source, str) and source in policy.webhooks
    return f"webhook:{source}" if ok else UNDECLARED


def request_route(policy: Policy, params: Mapping[str, str]) -> str:
    """The route of an HTTP request, by its path parameters (API Gateway's names)."""
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
    return lambda params: request_route(policy, params)
