"""What the template tests share: loading template.yaml and policy.yaml, and reading a
function's inline IAM statements and the template's secrets."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from cfnlint.decode import cfn_yaml

from devstack import cfn, provision

REPO = Path(__file__).resolve().parents[1]


def load_template() -> dict[str, Any]:
    return cfn_yaml.load(str(REPO / "template.yaml"))


def load_policy_yaml() -> dict[str, Any]:
    # Plain YAML: the template tests must not trust the policy loader they cross-check.
    return yaml.safe_load((REPO / "policy.yaml").read_text(encoding="utf-8"))


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def of_type(resources: Mapping[str, Any], kind: str) -> dict[str, Mapping[str, Any]]:
    return {name: r for name, r in resources.items() if r["Type"] == kind}


def secret_names(resources: Mapping[str, Any]) -> dict[str, str]:
    """Logical id -> Name of every Secrets Manager secret the template declares."""
    return {
        logical_id: secret["Properties"]["Name"]
        for logical_id, secret in of_type(resources, "AWS::SecretsManager::Secret").items()
    }


def action_secret_names(policy: Mapping[str, Any]) -> set[str]:
    """The kintone tokens ActionFunction may read, from the raw policy: every action's own
    token and its read token, and the refetch token of every source that has actions (an
    event queued without its record, because kintone was down, is re-read first)."""
    names = set()
    for hook in (policy.get("webhooks") or {}).values():
        actions = (hook.get("actions") or {}).values()
        for action in actions:
            names.add(action["token_secret"])
            if action.get("read_secret"):
                names.add(action["read_secret"])
        if actions and hook.get("refetch"):
            names.add(hook["refetch"]["token_secret"])
    return names


def statements(function: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The inline statements of a function's ``Policies`` (its Properties)."""
    return [s for entry in as_list(function["Policies"]) for s in as_list(entry["Statement"])]


def resolved(template: Mapping[str, Any], node: Any, **overrides: str) -> Any:
    """``node`` with parameters (``overrides`` on top of defaults) and references resolved
    the way the local stack does."""
    resolver = cfn.Resolver(template, cfn.parameter_values(template, overrides))
    provision.register_resources(template, resolver, "http://127.0.0.1:5000")
    return resolver.resolve(node)
