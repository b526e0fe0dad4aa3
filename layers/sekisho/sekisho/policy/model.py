"""The policy as the relay runs it: frozen, slotted classes and what each rule can answer.

This is the one runtime form of a policy. A function's cold start builds it from the
reviewed snapshot (:mod:`~sekisho.policy.snapshot`) without validating anything again;
``sekisho check`` and ``make build`` validate policy.yaml (:mod:`sekisho.policy.validation`,
pydantic and PyYAML, never imported by a function) and produce exactly these classes.

Adding a policy key means a field here or in :mod:`.routes` (its runtime type and
default) and the same field in the validation schema (its constraints); a test keeps the
two field lists equal.

Every class is a :class:`~sekisho.policy.rule.Rule`: frozen, slotted, built by keyword
(except :class:`Rate`, ``Rate(30, 3600)``). Mappings are plain dicts and sequences
tuples; nothing here is changed after a container has built it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal, TypeVar

from sekisho.errors import ConfigurationError, NotFound

from .capacity import CAPACITY_RULES
from .constants import (
    BUILTIN_FIELDS,
    DEFAULT_DAILY_BUDGET,
)
from .partners import PARTNER_RULES, PartnerPolicy
from .reply import REPLY_RULES
from .routes import ROUTE_RULES, FormPolicy, ViewPolicy, WebhookPolicy
from .rule import Rule, fresh
from .sessions import SESSION_RULES, RealmPolicy

Section = Literal["views", "forms", "webhooks", "actions", "sessions", "partners"]
_T = TypeVar("_T")


# ------------------------------------------------------------------------------ kintone


class KintoneSettings(Rule):
    """The kintone domain the relay calls, and its daily request budget."""

    base_url: str
    # kintone's requests per app per day; `sekisho check` warns past it.
    daily_budget: int = DEFAULT_DAILY_BUDGET


class AppPolicy(Rule):
    """A kintone app: its field codes and types (to compile predicates and to lint)."""

    name: str
    fields: dict[str, str]

    @property
    def field_types(self) -> Mapping[str, str]:
        """Declared fields plus kintone's built-in ``$id`` and ``$revision``."""
        return MappingProxyType({**self.fields, **BUILTIN_FIELDS})


# ------------------------------------------------------------------------------ policy


class Policy(Rule):
    """The whole reviewed policy: kintone, the apps, and every route."""

    kintone: KintoneSettings
    apps: dict[int, AppPolicy] = fresh(dict)
    views: dict[str, ViewPolicy] = fresh(dict)
    forms: dict[str, FormPolicy] = fresh(dict)
    webhooks: dict[str, WebhookPolicy] = fresh(dict)
    realms: dict[str, RealmPolicy] = fresh(dict)
    partners: dict[str, PartnerPolicy] = fresh(dict)

    def _derive(self) -> None:
        # Each view answers its app's field types. An undeclared app is left empty here:
        # validation reports it, and a snapshot of such a policy is never written.
        for view in self.views.values():
            app = self.apps.get(view.app)
            if app is not None:
                object.__setattr__(view, "_field_types", app.field_types)

    def view(self, name: str) -> ViewPolicy:
        """The view called ``name``; :class:`~sekisho.errors.NotFound` if there is none."""
        return _named(self.views, name)

    def form(self, name: str) -> FormPolicy:
        return _named(self.forms, name)

    def webhook(self, name: str) -> WebhookPolicy:
        return _named(self.webhooks, name)

    def realm(self, name: str) -> RealmPolicy:
        return _named(self.realms, name)

    def partner(self, name: str) -> PartnerPolicy:
        return _named(self.partners, name)

    def session_view(self, name: str) -> ViewPolicy:
        """A view that lists a signed-in visitor's records; NotFound for any other."""
        view = _named(self.views, name)
        if view.session is None or view.caller != "browser":
            raise NotFound()
        return view

    def browser_view(self, name: str) -> ViewPolicy:
        """A view anyone may call with predicates; NotFound for a session or partner view."""
        view = _named(self.views, name)
        if view.session is not None or view.caller != "browser":
            raise NotFound()
        return view

    def partner_view(self, name: str) -> ViewPolicy:
        """A view only partners call; NotFound for any other (a browser's included)."""
        view = _named(self.views, name)
        if view.caller != "partner":
            raise NotFound()
        return view

    def secret_names(self, section: Section) -> frozenset[str]:
        """Every secret ``section`` names: the allowlist of that function's secret store."""
        if section == "views":
            return frozenset(
                v.token_secret
                for v in self.views.values()
                if v.session is None and v.caller == "browser"
            )
        if section == "partners":
            return frozenset(self._partner_secret_names())
        if section == "sessions":
            return frozenset(self._session_secret_names())
        if section == "forms":
            names = {form.token_secret for form in self.forms.values()}
            names.update(f.captcha.secret for f in self.forms.values() if f.captcha)
            return frozenset(names)
        if section == "webhooks":
            names = {hook.secret for hook in self.webhooks.values()}
            names.update(h.refetch.token_secret for h in self.webhooks.values() if h.refetch)
            return frozenset(names)
        if section == "actions":
            return frozenset(self._action_secret_names())
        raise ConfigurationError(f"the policy has no section {section!r}")

    def _session_secret_names(self) -> set[str]:
        # SessionFunction: each realm's view token and key, the session views' tokens,
        # and the edit tokens of the forms visitors correct.
        names = {realm.token_secret for realm in self.realms.values()}
        names.update(realm.key_secret for realm in self.realms.values())
        names.update(v.token_secret for v in self.views.values() if v.session is not None)
        names.update(f.editable.token_secret for f in self.forms.values() if f.editable)
        return names

    def _partner_secret_names(self) -> set[str]:
        # PartnerFunction: each partner's key, and the tokens of the routes partners are
        # given (a view's read token, a form's add token; never a form's CAPTCHA secret).
        names = {p.key_secret for p in self.partners.values() if p.key_secret is not None}
        for partner in self.partners.values():
            names.update(
                self.views[v].token_secret for v in partner.routes.views if v in self.views
            )
            names.update(
                self.forms[f].token_secret for f in partner.routes.forms if f in self.forms
            )
        return names

    def _action_secret_names(self) -> set[str]:
        # The actions' own tokens, and the refetch token of a source with actions: an
        # event queued while kintone was down carries no record, so it is read then.
        names: set[str] = set()
        for hook in self.webhooks.values():
            for action in hook.actions.values():
                names.add(action.token_secret)
                if action.read_secret is not None:
                    names.add(action.read_secret)
            if hook.actions and hook.refetch is not None:
                names.add(hook.refetch.token_secret)
        return names


def _named(rules: Mapping[str, _T], name: str) -> _T:
    try:
        return rules[name]
    except (KeyError, TypeError):
        raise NotFound() from None


# Every class a policy is made of, by name: what a snapshot may name.
_OWN_RULES: tuple[type[Rule], ...] = (Policy, KintoneSettings, AppPolicy)
MODELS: Mapping[str, type] = MappingProxyType(
    {
        cls.__name__: cls
        for cls in (
            *_OWN_RULES,
            *ROUTE_RULES,
            *SESSION_RULES,
            *PARTNER_RULES,
            *CAPACITY_RULES,
            *REPLY_RULES,
        )
    }
)
