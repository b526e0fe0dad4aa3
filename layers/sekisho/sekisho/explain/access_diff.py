"""What a change to the realms (who may sign in) and the partners (who may sign requests)
widens or narrows. Routes are compared in :mod:`.diff`; these two grant access to routes,
so a looser sign-in or a wider partner is a widening as much as a new field is."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from sekisho.policy import Policy, Rate
from sekisho.policy.partners import PartnerPolicy
from sekisho.policy.sessions import RealmPolicy

from .facts import when_words

Change = tuple[str, str]  # ("widens" | "narrows" | "changes", what)
R = TypeVar("R")


def _sets(
    key: str, what: str, old: Iterable[str], new: Iterable[str], *, wider: bool
) -> list[Change]:
    before, after = set(old), set(new)
    up, down = ("widens", "narrows") if wider else ("narrows", "widens")
    return [(up, f"`{key}`: {what} `{v}` added") for v in sorted(after - before)] + [
        (down, f"`{key}`: {what} `{v}` dropped") for v in sorted(before - after)
    ]


def _more(
    key: str, what: str, old: float | None, new: float | None, text: Callable[[float | None], str]
) -> list[Change]:
    """A figure where more grants more (a longer session, a higher quota); ``None`` is
    no limit at all, the most."""
    if old == new:
        return []
    wider = new is None or (old is not None and new > old)
    return [("widens" if wider else "narrows", f"`{key}`: {what} {text(old)} → {text(new)}")]


def _rate(key: str, name: str, old: Rate, new: Rate) -> list[Change]:
    if old == new:
        return []
    wider = (new.per_day or 0) > (old.per_day or 0)
    return [("widens" if wider else "narrows", f"`{key}`: {name} {old} → {new}")]


def _seconds(value: float | None) -> str:
    return "unlimited" if value is None else f"{value:g} s"


def _count(value: float | None) -> str:
    return "unlimited" if value is None else f"{value:g}"


def _condition(active: str | None) -> str:
    return f"records where `{active}`" if active else "every record"


def _requirement(old: object | None, new: object | None) -> str:
    """A requirement (a condition, a certificate) dropped widens; one added narrows."""
    return "widens" if new is None else "narrows" if old is None else "changes"


def _switched(key: str, old: bool, new: bool) -> list[Change]:
    if old == new:
        return []
    return [("widens" if new else "narrows", f"`{key}`: switched {'on' if new else 'off'}")]


def _realm(key: str, old: RealmPolicy, new: RealmPolicy) -> list[Change]:
    said: list[Change] = []
    if (old.app, old.email_field) != (new.app, new.email_field):
        said.append(
            (
                "changes",
                f"`{key}`: people found by `{old.email_field}` of app {old.app} → "
                f"`{new.email_field}` of app {new.app}",
            )
        )
    if old.active != new.active:
        # Dropping the condition lets every record's address sign in.
        said.append(
            (
                _requirement(old.active, new.active),
                f"`{key}`: who may sign in {_condition(old.active)} → {_condition(new.active)}",
            )
        )
    said += _sets(
        key,
        "session claim",
        (f"{c} ← {f}" for c, f in old.claims.items()),
        (f"{c} ← {f}" for c, f in new.claims.items()),
        wider=True,
    )
    said += _sets(key, "condition", when_words(old.when), when_words(new.when), wider=False)
    said += _more(key, "session", old.session_seconds, new.session_seconds, _seconds)
    said += _more(key, "code", old.code_seconds, new.code_seconds, _seconds)
    for name in ("per_ip", "per_address", "failures_per_key"):
        said += _rate(key, name, getattr(old.guard, name), getattr(new.guard, name))
    said += _sets(
        key,
        "secret",
        {old.token_secret, old.key_secret},
        {new.token_secret, new.key_secret},
        wider=True,
    )
    return said + _switched(key, old.enabled, new.enabled)


def _networks(partner: PartnerPolicy) -> set[str]:
    return {"any address"} if partner.networks is None else {str(n) for n in partner.networks}


def _partner(key: str, old: PartnerPolicy, new: PartnerPolicy) -> list[Change]:
    said = _sets(
        key,
        "route",
        [f"views.{v}" for v in old.routes.views] + [f"forms.{f}" for f in old.routes.forms],
        [f"views.{v}" for v in new.routes.views] + [f"forms.{f}" for f in new.routes.forms],
        wider=True,
    )
    said += _sets(key, "network", _networks(old), _networks(new), wider=True)
    said += _sets(
        key,
        "claim",
        (f"{c} = {v}" for c, v in old.claims.items()),
        (f"{c} = {v}" for c, v in new.claims.items()),
        wider=False,
    )
    if old.client_cert != new.client_cert:
        before = old.client_cert.subject if old.client_cert else "none"
        after = new.client_cert.subject if new.client_cert else "none"
        said.append(
            (
                _requirement(old.client_cert, new.client_cert),
                f"`{key}`: client certificate `{before}` → `{after}`",
            )
        )
    for window in ("per_minute", "per_day"):
        said += _more(
            key,
            f"quota {window.replace('_', ' ')}",
            getattr(old.quota, window) if old.quota else None,
            getattr(new.quota, window) if new.quota else None,
            _count,
        )
    said += _more(key, "previous key's grace", old.grace_seconds, new.grace_seconds, _seconds)
    if (old.algorithm, old.key_secret, old.public_key) != (
        new.algorithm,
        new.key_secret,
        new.public_key,
    ):
        said.append(
            ("changes", f"`{key}`: signs with {old.algorithm} → {new.algorithm}, a new key")
        )
    return said + _switched(key, old.enabled, new.enabled)


def _each(
    section: str, old: dict[str, R], new: dict[str, R], compare: Callable[[str, R, R], list[Change]]
) -> list[Change]:
    said: list[Change] = [
        ("widens", f"`{section}.{n}`: added") for n in sorted(set(new) - set(old))
    ]
    said += [("narrows", f"`{section}.{n}`: gone") for n in sorted(set(old) - set(new))]
    for name in sorted(set(old) & set(new)):
        said += compare(f"{section}.{name}", old[name], new[name])
    return said


def access_diff(old: Policy, new: Policy) -> list[Change]:
    """Every difference in who may sign in and who may sign requests."""
    return _each("realms", old.realms, new.realms, _realm) + _each(
        "partners", old.partners, new.partners, _partner
    )
