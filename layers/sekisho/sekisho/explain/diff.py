"""What a change to a policy widens or narrows, route by route, in Markdown."""

from __future__ import annotations

from sekisho.policy import Policy

from .access_diff import access_diff
from .facts import Limit, RouteFacts, policy_facts


def _set_changes(
    key: str, what: str, old: frozenset[str], new: frozenset[str], *, more_is_wider: bool
) -> list[tuple[str, str]]:
    said = []
    for value in sorted(new - old):
        said.append(("widens" if more_is_wider else "narrows", f"`{key}`: {what} `{value}` added"))
    for value in sorted(old - new):
        said.append(
            ("narrows" if more_is_wider else "widens", f"`{key}`: {what} `{value}` dropped")
        )
    return said


def _limit_changes(key: str, old: dict[str, Limit], new: dict[str, Limit]) -> list[tuple[str, str]]:
    said = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        if before is None:
            said.append(("narrows", f"`{key}`: limit {name} {after.text if after else ''} added"))
        elif after is None:
            said.append(("widens", f"`{key}`: limit {name} {before.text} removed"))
        else:
            raised = (after.per_day or 0) > (before.per_day or 0)
            said.append(
                ("widens" if raised else "narrows", f"`{key}`: {name} {before.text} → {after.text}")
            )
    return said


def _route_changes(key: str, old: RouteFacts, new: RouteFacts) -> list[tuple[str, str]]:
    said = _set_changes(
        key, "field leaving kintone", old.fields_out, new.fields_out, more_is_wider=True
    )
    said += _set_changes(key, "writable field", old.fields_in, new.fields_in, more_is_wider=True)
    said += _set_changes(key, "predicate", old.predicates, new.predicates, more_is_wider=False)
    said += _set_changes(
        key, "caller", frozenset(old.callers), frozenset(new.callers), more_is_wider=True
    )
    said += _set_changes(
        key, "condition", frozenset(old.conditions), frozenset(new.conditions), more_is_wider=False
    )
    if old.server_condition != new.server_condition:
        said.append(
            (
                "changes",
                f"`{key}`: server condition `{old.server_condition}` → `{new.server_condition}`",
            )
        )
    said += _set_changes(
        key, "token", frozenset(old.tokens), frozenset(new.tokens), more_is_wider=True
    )
    said += _limit_changes(key, old.limits, new.limits)
    if old.enabled != new.enabled:
        said.append(
            (
                "widens" if new.enabled else "narrows",
                f"`{key}`: switched {'on' if new.enabled else 'off'}",
            )
        )
    return said


def policy_diff(old: Policy, new: Policy) -> list[tuple[str, str]]:
    """(``widens`` / ``narrows`` / ``changes``, what) for every difference that matters."""
    before, after = policy_facts(old), policy_facts(new)
    said: list[tuple[str, str]] = []
    for key in sorted(set(after) - set(before)):
        said.append(("widens", f"`{key}`: a new route, {after[key].http}"))
    for key in sorted(set(before) - set(after)):
        said.append(("narrows", f"`{key}`: the route is gone"))
    for key in sorted(set(before) & set(after)):
        said += _route_changes(key, before[key], after[key])
    return said + access_diff(old, new)


def render_diff(old: Policy, new: Policy, old_name: str, new_name: str) -> str:
    changes = policy_diff(old, new)
    lines = [f"# What `{new_name}` changes from `{old_name}`", ""]
    if not changes:
        return "\n".join([*lines, "Nothing a caller could reach changes.", ""])
    for kind, title in (("widens", "Widens"), ("narrows", "Narrows"), ("changes", "Changes")):
        chosen = [what for k, what in changes if k == kind]
        if chosen:
            lines += [f"## {title}", "", *(f"- {what}" for what in chosen), ""]
    return "\n".join(lines).rstrip() + "\n"
