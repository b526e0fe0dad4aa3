"""A policy's routes in words: one Markdown section per route, for a reviewer."""

from __future__ import annotations

from sekisho.policy import Policy

from .facts import RouteFacts, policy_facts


def _list(values: frozenset[str] | tuple[str, ...]) -> str:
    return ", ".join(f"`{v}`" for v in sorted(values)) if values else "none"


def route_words(facts: RouteFacts) -> list[str]:
    lines = [f"### `{facts.key}`: {facts.http}" + ("" if facts.enabled else " (switched off)"), ""]
    lines.append("- **Who**: " + "; ".join(facts.callers))
    if facts.conditions:
        lines.append("- **Only**: " + "; ".join(facts.conditions))
    lines.append(f"- **Records**: {facts.records}")
    lines.append(f"- **Fields that leave kintone**: {_list(facts.fields_out)}")
    if facts.fields_in:
        lines.append(f"- **Fields that may be written**: {_list(facts.fields_in)}")
    lines.append("- **Token**: " + ("; ".join(facts.tokens) or "none"))
    if facts.limits:
        limits = ", ".join(f"{name} {limit.text}" for name, limit in facts.limits.items())
        lines.append(f"- **Limits**: {limits}")
    lines.append("")
    return lines


def _realm_words(policy: Policy) -> list[str]:
    lines = ["## Realms (who may sign in)", ""] if policy.realms else []
    for name, realm in sorted(policy.realms.items()):
        claims = ", ".join(f"{c} ← {code}" for c, code in sorted(realm.claims.items()))
        guard = realm.guard
        lines += [
            f"### realm `{name}`: POST /sessions/{name}/code, POST /sessions/{name}",
            "",
            f"- **Who**: anyone whose address is in `{realm.email_field}` of an app "
            f"{realm.app} record" + (f" where {realm.active}" if realm.active else ""),
            f"- **Session claims**: email ← {realm.email_field}"
            + (f", {claims}" if claims else ""),
            f"- **Session**: {realm.session_seconds} s; a code {realm.code_seconds} s; "
            f"signed with `{realm.key_secret}`",
            f"- **Token**: `{realm.token_secret}` (record view on app {realm.app})",
            f"- **Limits**: per_ip {guard.per_ip}, per_address {guard.per_address}, "
            f"failures_per_key {guard.failures_per_key}",
            "",
        ]
    return lines


def _partner_words(policy: Policy) -> list[str]:
    lines = ["## Partners", ""] if policy.partners else []
    for pid, partner in sorted(policy.partners.items()):
        key = partner.key_secret or "its own Ed25519 key (public key in the policy)"
        networks = ", ".join(str(n) for n in partner.networks) if partner.networks else "any"
        quota = (
            f"{partner.quota.per_minute}/minute, {partner.quota.per_day}/day"
            if partner.quota
            else "none"
        )
        routes = [f"views.{v}" for v in partner.routes.views]
        routes += [f"forms.{f}" for f in partner.routes.forms]
        claims = ", ".join(f"{k} = {v}" for k, v in sorted(partner.claims.items()))
        cert = partner.client_cert.subject if partner.client_cert else "none"
        lines += [
            f"### partner `{pid}`",
            "",
            f"- **Signs with**: {partner.algorithm}, `{key}`",
            f"- **Routes**: {_list(tuple(routes))}",
            f"- **From**: {networks}; **quota**: {quota}; **client certificate**: {cert}",
            f"- **Claims**: {claims}",
            "",
        ]
    return lines


def explain(policy: Policy, title: str = "policy.yaml") -> str:
    lines = [f"# What `{title}` exposes", ""]
    facts = policy_facts(policy)
    for section, heading in (("views", "Views"), ("forms", "Forms"), ("webhooks", "Webhooks")):
        chosen = [f for key, f in facts.items() if key.startswith(f"{section}.")]
        if chosen:
            lines += [f"## {heading}", ""]
            for route in chosen:
                lines += route_words(route)
    lines += _realm_words(policy)
    lines += _partner_words(policy)
    return "\n".join(lines).rstrip() + "\n"
