"""Each route of a policy as a reviewer weighs it: who may call it, which records it
reaches, which fields leave kintone or may be written, with which token and permission,
and its limits. The words (:mod:`.words`) and the diff (:mod:`.diff`) read these."""

from __future__ import annotations

from dataclasses import dataclass, field

from sekisho.policy import FormPolicy, Policy, Rate, ViewPolicy, WebhookPolicy
from sekisho.policy.when import WhenPolicy
from sekisho.tokens.declared import declared_tokens


@dataclass(frozen=True)
class Limit:
    """A limit by name; ``per_day`` compares two limits of different windows."""

    text: str
    per_day: int | None = None


@dataclass(frozen=True)
class RouteFacts:
    key: str  # views.deal-status
    http: str  # POST /views/deal-status
    callers: tuple[str, ...]  # anonymous / realm applicants / partner demo-erp
    conditions: tuple[str, ...]  # networks, periods, hours, claims
    records: str  # the records, in words
    predicates: frozenset[str]  # "field = source" of each required predicate
    server_condition: str | None
    fields_out: frozenset[str]
    fields_in: frozenset[str]
    tokens: tuple[str, ...]  # "secret (permission on app N)"
    limits: dict[str, Limit] = field(default_factory=dict)
    enabled: bool = True


def _rate(rate: Rate | None) -> Limit | None:
    return None if rate is None else Limit(str(rate), rate.per_day)


def _limits(**rates: Rate | None) -> dict[str, Limit]:
    return {name: limit for name, rate in rates.items() if (limit := _rate(rate)) is not None}


def when_words(when: WhenPolicy | None) -> tuple[str, ...]:
    if when is None:
        return ()
    said = []
    if when.networks:
        said.append("from " + ", ".join(str(n) for n in when.networks))
    if when.opens:
        said.append(f"from {when.opens}")
    if when.closes:
        said.append(f"until {when.closes}")
    if when.hours:
        hours = when.hours
        said.append(f"{'/'.join(hours.days)} {hours.start}-{hours.end} ({hours.zone})")
    said.extend(f"claim {name} = {value}" for name, value in sorted(when.claims.items()))
    return tuple(said)


def _token_words(policy: Policy) -> dict[str, str]:
    words = {}
    for name, token in declared_tokens(policy).items():
        permissions = " and ".join(sorted(token.permissions))
        words[name] = f"`{name}` (record {permissions} on app {token.app})"
    return words


def _view(name: str, view: ViewPolicy, policy: Policy, tokens: dict[str, str]) -> RouteFacts:
    if view.caller == "partner":
        callers = tuple(
            f"partner {pid}" for pid, p in sorted(policy.partners.items()) if name in p.routes.views
        )
    elif view.session is not None:
        callers = (f"a signed-in visitor of realm {view.session}",)
    else:
        callers = ("anyone (anonymous browser)",)
    predicates = frozenset(
        f"{rule.code} = " + (f"claim {rule.claim}" if rule.claim else f"the caller's {key}")
        for key, rule in view.match.items()
    )
    records = f"app {view.app} records where " + " and ".join(sorted(predicates))
    if view.where:
        records += f", and {view.where}"
    records += f"; at most {view.limit}"
    return RouteFacts(
        key=f"views.{name}",
        http=f"POST /views/{name}",
        callers=callers,
        conditions=when_words(view.when),
        records=records,
        predicates=predicates,
        server_condition=view.where,
        fields_out=frozenset(view.fields),
        fields_in=frozenset(),
        tokens=(tokens.get(view.token_secret, f"`{view.token_secret}`"),),
        limits=_limits(
            per_ip=None if view.caller == "partner" else view.guard.per_ip,
            # Misses are counted per value the caller chooses: none when claims fill all.
            failures_per_key=view.guard.failures_per_key
            if any(rule.claim is None for rule in view.match.values())
            else None,
            budget=view.guard.budget,
        )
        | {"limit": Limit(str(view.limit), view.limit)},
        enabled=view.enabled,
    )


def _form(name: str, form: FormPolicy, policy: Policy, tokens: dict[str, str]) -> RouteFacts:
    partners = [pid for pid, p in sorted(policy.partners.items()) if name in p.routes.forms]
    callers = ("anyone (anonymous browser)", *(f"partner {pid}" for pid in partners))
    conditions = when_words(form.when) + (
        (f"a {form.captcha.provider} CAPTCHA (browsers)",) if form.captcha else ()
    )
    fields_in = frozenset(f"{key} → {f.code}" for key, f in form.fields.items())
    fields_in |= {f"{code} (fixed)" for code in form.presets}
    secrets = [form.token_secret]
    if form.editable is not None:
        secrets.append(form.editable.token_secret)
        fields_in |= {f"{key} (corrected by its owner)" for key in form.editable.fields}
    limits = _limits(per_ip=form.guard.per_ip, budget=form.guard.budget)
    capacity = form.capacity
    if capacity is not None and capacity.seats is not None:
        limits["seats"] = Limit(str(capacity.seats), capacity.seats)
    if capacity is not None:
        for choice, seats in sorted(capacity.choices.items()):
            limits[f"seats of {capacity.by} {choice}"] = Limit(str(seats), seats)
    return RouteFacts(
        key=f"forms.{name}",
        http=f"POST /forms/{name}" + (f", POST /partners/forms/{name}" if partners else ""),
        callers=callers,
        conditions=conditions,
        records=f"adds one record to app {form.app} per accepted submission; reads none",
        predicates=frozenset(),
        server_condition=None,
        fields_out=frozenset({form.receipt_field + " (the receipt)"}),
        fields_in=fields_in,
        tokens=tuple(tokens.get(s, f"`{s}`") for s in secrets),
        limits=limits,
        enabled=form.enabled,
    )


def _webhook(name: str, hook: WebhookPolicy, tokens: dict[str, str]) -> RouteFacts:
    conditions = when_words(hook.when)
    if hook.allow_ips:
        conditions += ("from " + ", ".join(str(n) for n in hook.allow_ips),)
    fields_in = frozenset(
        f"{action_name}: {code}"
        for action_name, action in hook.actions.items()
        for code in action.fields
    )
    secrets = [a.token_secret for a in hook.actions.values()]
    if hook.refetch is not None:
        secrets.insert(0, hook.refetch.token_secret)
    records = (
        f"re-reads the notified record of app {hook.refetch.app}"
        if hook.refetch
        else "reads no record"
    )
    if hook.actions:
        apps = sorted({a.app for a in hook.actions.values()})
        records += "; its actions write to app " + ", ".join(str(a) for a in apps)
    return RouteFacts(
        key=f"webhooks.{name}",
        http=f"POST /webhooks/{name}",
        callers=(f"a {hook.scheme} sender with the source's secret `{hook.secret}`",),
        conditions=conditions,
        records=records,
        predicates=frozenset(),
        server_condition=None,
        fields_out=frozenset(hook.refetch.fields if hook.refetch else ()),
        fields_in=fields_in,
        tokens=tuple(tokens.get(s, f"`{s}`") for s in secrets),
        enabled=hook.enabled,
    )


def policy_facts(policy: Policy) -> dict[str, RouteFacts]:
    """Every route of ``policy`` by its key (``views.<name>``, ``forms.<name>``, ...)."""
    tokens = _token_words(policy)
    facts: dict[str, RouteFacts] = {}
    for name, view in sorted(policy.views.items()):
        facts[f"views.{name}"] = _view(name, view, policy, tokens)
    for name, form in sorted(policy.forms.items()):
        facts[f"forms.{name}"] = _form(name, form, policy, tokens)
    for name, hook in sorted(policy.webhooks.items()):
        facts[f"webhooks.{name}"] = _webhook(name, hook, tokens)
    return facts
