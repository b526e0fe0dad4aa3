"""What each kintone token may do, as the policy declares it.

The policy, not the secret, is the statement of least privilege: a view's token reads
records of the view's app, a form's token adds records to the form's app, a kintone
webhook's refetch token reads records of the refetch app, a realm's token reads the
people of its app, a form's edit token corrects its entries, an action's token adds (add),
edits (update) or both (upsert) in the action's app and its read token views that app,
and each may do nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sekisho.errors import ConfigurationError

if TYPE_CHECKING:
    from sekisho.policy import Policy

# An API token's permissions as kintone's token settings offer them, in that order:
# record view, add, edit, delete, and app management.
PERMISSIONS: tuple[str, ...] = ("view", "add", "edit", "delete", "manage")


@dataclass(frozen=True)
class DeclaredToken:
    """One token secret: the app its token belongs to, what it may do, and who uses it."""

    secret: str
    app: int
    permissions: frozenset[str]
    routes: tuple[str, ...]  # policy locations, e.g. "views.deal-status"


def _uses(policy: Policy) -> list[tuple[str, int, str, str]]:
    """(secret, app, permission, route) for every token secret the policy names."""
    uses = [
        (view.token_secret, view.app, "view", f"views.{name}")
        for name, view in policy.views.items()
    ]
    uses += [
        (form.token_secret, form.app, "add", f"forms.{name}") for name, form in policy.forms.items()
    ]
    uses += [
        (realm.token_secret, realm.app, "view", f"realms.{name}")
        for name, realm in policy.realms.items()
    ]
    uses += [
        (form.editable.token_secret, form.app, "edit", f"forms.{name}.editable")
        for name, form in policy.forms.items()
        if form.editable is not None
    ]
    uses += [
        (form.capacity.token_secret, form.app, "view", f"forms.{name}.capacity")
        for name, form in policy.forms.items()
        if form.capacity is not None and form.capacity.token_secret is not None
    ]
    uses += [
        (hook.refetch.token_secret, hook.refetch.app, "view", f"webhooks.{name}.refetch")
        for name, hook in policy.webhooks.items()
        if hook.refetch is not None
    ]
    for name, hook in policy.webhooks.items():
        for action_name, action in hook.actions.items():
            route = f"webhooks.{name}.actions.{action_name}"
            uses += [(action.token_secret, action.app, p, route) for p in action.write_permissions]
            if action.read_secret is not None:
                uses.append((action.read_secret, action.app, "view", f"{route}.read_secret"))
    return uses


def declared_tokens(policy: Policy) -> dict[str, DeclaredToken]:
    """Every kintone token secret of ``policy``, by secret name, in policy order.

    A secret several routes share declares what all of them need together (``sekisho
    check`` already flags sharing across kinds). One secret for two apps cannot be
    probed, since a kintone token belongs to one app: that is a
    :class:`~sekisho.errors.ConfigurationError`.
    """
    apps: dict[str, int] = {}
    permissions: dict[str, set[str]] = {}
    routes: dict[str, list[str]] = {}
    for secret, app, permission, route in _uses(policy):
        known = apps.setdefault(secret, app)
        if known != app:
            raise ConfigurationError(
                f"token secret {secret} is used for apps {sorted({known, app})} "
                f"({', '.join([*routes[secret], route])}); a kintone API token belongs to one app"
            )
        permissions.setdefault(secret, set()).add(permission)
        if route not in routes.setdefault(secret, []):
            routes[secret].append(route)
    return {
        secret: DeclaredToken(
            secret=secret,
            app=apps[secret],
            permissions=frozenset(permissions[secret]),
            routes=tuple(routes[secret]),
        )
        for secret in apps
    }
