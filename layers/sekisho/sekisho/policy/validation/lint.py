"""Review rules for a policy that loads: what is legal but unwise, or wrong across routes.

What makes a route unusable — no predicate, a predicate on a type kintone cannot compare
exactly, a server condition kintone would refuse, a projection of undeclared fields — is
already refused when the policy loads (the models and
:mod:`~sekisho.policy.references`), so the relay never starts with it; ``sekisho check``
prints those load errors in the same form as the findings here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from ..constants import DEFAULT_MATCH_MAX_LENGTH, GUARD_HASH_KEY_SECRET
from ..model import Policy
from .when import when_findings

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    severity: Severity
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.location}: {self.message}"


@dataclass(frozen=True)
class _SecretUse:
    kind: str  # "view", "partner view", "form", "captcha", "webhook", "action", ..., "partner key"
    location: str
    app: int | None  # the app a kintone token belongs to; None for a webhook's own secret


def lint_policy(policy: Policy) -> list[Finding]:
    """Every finding for ``policy``, errors and warnings, in file order per rule."""
    return [
        *_predicate_findings(policy),
        *_secret_findings(policy),
        *_budget_findings(policy),
        *_checkout_findings(policy),
        *(Finding("warning", loc, message) for loc, message in when_findings(policy)),
    ]


def _predicate_findings(policy: Policy) -> list[Finding]:
    findings: list[Finding] = []
    for name, view in policy.views.items():
        loc = f"views.{name}"
        for key, rule in view.match.items():
            if rule.pattern is not None and rule.pattern.fullmatch(""):
                findings.append(
                    Finding(
                        "error",
                        f"{loc}.match.{key}.pattern",
                        "the pattern accepts the empty string, which would match every "
                        "record whose field is empty",
                    )
                )
            if (
                rule.claim is None
                and rule.pattern is None
                and rule.max_length > DEFAULT_MATCH_MAX_LENGTH
            ):
                findings.append(
                    Finding(
                        "warning",
                        f"{loc}.match.{key}",
                        f"a body predicate needs a pattern or a max_length of at most "
                        f"{DEFAULT_MATCH_MAX_LENGTH}",
                    )
                )
        # A value from a verified claim cannot be guessed; one from the body can.
        body_rules = [rule for rule in view.match.values() if rule.claim is None]
        if len(view.match) == 1 and body_rules and view.single_predicate != "allowed":
            findings.append(
                Finding(
                    "warning",
                    loc,
                    "a single predicate can be guessed; add a second one (a consistency "
                    "check) or declare single_predicate: allowed",
                )
            )
    return findings


def _checkout_findings(policy: Policy) -> list[Finding]:
    """Stripe completes a Checkout Session paid by konbini or bank transfer before the
    money arrives: checkout.session.completed then says ``payment_status: unpaid``, and
    async_payment_succeeded or async_payment_failed follows days later. An action on a
    checkout.session.* event that does not look at payment_status acts on unpaid ones."""
    payment_status = "/data/object/payment_status"  # where a Checkout Session says it
    findings: list[Finding] = []
    for name, hook in policy.webhooks.items():
        if hook.scheme != "stripe":
            continue
        for action_name, action in hook.actions.items():
            checkouts = [e for e in action.events if e.startswith("checkout.session.")]
            if checkouts and payment_status not in (action.when or {}):
                findings.append(
                    Finding(
                        "warning",
                        f"webhooks.{name}.actions.{action_name}",
                        f"{', '.join(checkouts)} can name a session that is not paid "
                        f"(konbini, bank transfer): declare when: {{{payment_status}: paid}} "
                        "(or the payment_status the action is for)",
                    )
                )
    return findings


def _secret_uses(policy: Policy) -> dict[str, list[_SecretUse]]:
    uses: dict[str, list[_SecretUse]] = defaultdict(list)
    for name, view in policy.views.items():
        # A partner view's token is PartnerFunction's alone, a browser view's LookupFunction's.
        kind = "partner view" if view.caller == "partner" else "view"
        uses[view.token_secret].append(_SecretUse(kind, f"views.{name}", view.app))
    for name, partner in policy.partners.items():
        if partner.key_secret is not None:
            uses[partner.key_secret].append(_SecretUse("partner key", f"partners.{name}", None))
    for name, form in policy.forms.items():
        uses[form.token_secret].append(_SecretUse("form", f"forms.{name}", form.app))
        if form.captcha is not None:
            use = _SecretUse("captcha", f"forms.{name}.captcha", None)
            uses[form.captcha.secret].append(use)
    for name, realm in policy.realms.items():
        uses[realm.token_secret].append(_SecretUse("realm", f"realms.{name}", realm.app))
        uses[realm.key_secret].append(_SecretUse("session key", f"realms.{name}", None))
    for name, form in policy.forms.items():
        if form.editable is not None:
            loc = f"forms.{name}.editable"
            uses[form.editable.token_secret].append(_SecretUse("entry edit", loc, form.app))
    for name, hook in policy.webhooks.items():
        uses[hook.secret].append(_SecretUse("webhook", f"webhooks.{name}", None))
        if hook.refetch is not None:
            use = _SecretUse("webhook refetch", f"webhooks.{name}.refetch", hook.refetch.app)
            uses[hook.refetch.token_secret].append(use)
        for action_name, action in hook.actions.items():
            loc = f"webhooks.{name}.actions.{action_name}"
            uses[action.token_secret].append(_SecretUse("action", loc, action.app))
            if action.read_secret is not None:
                use = _SecretUse("action read", f"{loc}.read_secret", action.app)
                uses[action.read_secret].append(use)
    return uses


# An action writes with a token of its own, and a realm signs with a key of its own: shared,
# one bug or rotation would reach another's records or sessions, and the probe could not say
# which permission is whose.
_OWN = {
    "action": "each action has its own token",
    "action read": "each action has its own token",
    "session key": "each realm has its own key",
    "realm": "each realm has its own token",
    "partner key": "each partner has its own key",
}
_OWN_TOKEN_KINDS = frozenset(_OWN)


def _secret_findings(policy: Policy) -> list[Finding]:
    findings: list[Finding] = []
    for secret, uses in _secret_uses(policy).items():
        first = uses[0]
        if secret == GUARD_HASH_KEY_SECRET:
            findings.append(
                Finding(
                    "error",
                    first.location,
                    f"secret {secret} is the guard's hash key: a route's secret is its own",
                )
            )
        kinds = {use.kind for use in uses}
        if len(kinds) > 1:
            others = ", ".join(f"{use.location} ({use.kind})" for use in uses[1:])
            findings.append(
                Finding(
                    "error",
                    first.location,
                    f"secret {secret} is also used by {others}: one secret, one "
                    "least-privilege purpose (and one function allowed to read it)",
                )
            )
        if kinds <= _OWN_TOKEN_KINDS and len(uses) > 1:
            others = ", ".join(use.location for use in uses[1:])
            findings.append(
                Finding(
                    "error",
                    first.location,
                    f"secret {secret} is also used by {others}: {_OWN[first.kind]}",
                )
            )
        apps = {use.app for use in uses if use.app is not None}
        if len(apps) > 1:
            findings.append(
                Finding(
                    "error",
                    first.location,
                    f"token secret {secret} is used for apps {sorted(apps)}; a kintone API "
                    "token belongs to one app",
                )
            )
    return findings


def _budget_findings(policy: Policy) -> list[Finding]:
    """kintone allows an app about ``kintone.daily_budget`` requests a day, for every
    integration of the customer together: the routes strangers call must not be able to
    spend it all. Each lookup and each submission costs one request; a route without a
    budget can cost any number. (Webhook refetches and actions are not counted: their
    callers are the verified senders, not strangers.)"""
    spend: dict[int, list[tuple[str, int | None]]] = defaultdict(list)
    for name, view in policy.views.items():
        budget = view.guard.budget
        spend[view.app].append((f"views.{name}", None if budget is None else budget.per_day))
    for name, form in policy.forms.items():
        budget = form.guard.budget
        spend[form.app].append((f"forms.{name}", None if budget is None else budget.per_day))
    limit = policy.kintone.daily_budget
    findings: list[Finding] = []
    for app, routes in spend.items():
        for location, per_day in routes:
            if per_day is None:
                findings.append(
                    Finding(
                        "warning",
                        f"{location}.guard",
                        f"no budget: strangers can spend all of app {app}'s {limit} kintone "
                        "requests a day (kintone.daily_budget); declare budget: N/day",
                    )
                )
        budgets = [(location, per_day) for location, per_day in routes if per_day is not None]
        total = sum(per_day for _, per_day in budgets)
        if len(budgets) == len(routes) and total > limit:
            shares = ", ".join(f"{location} {per_day}/day" for location, per_day in budgets)
            findings.append(
                Finding(
                    "warning",
                    budgets[0][0],
                    f"the routes of app {app} may together spend {total} kintone requests a "
                    f"day ({shares}), more than kintone.daily_budget ({limit})",
                )
            )
    return findings
