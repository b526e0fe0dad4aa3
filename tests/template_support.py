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


# How every secret's Name starts: the stack's secret name prefix, then the declared name
# (test_template_secret_prefix.py evaluates the whole Name with and without the parameter).
SECRET_NAME_PREFIX = "${Prefix}/"


def declared_secret_name(name: Any) -> str:
    """The declared name (policy.yaml's) in a secret's Name, `!Sub ["${Prefix}/<name>", ...]`;
    a Name of any other form is returned as it is, for the tests to refuse."""
    if isinstance(name, Mapping) and isinstance(name.get("Fn::Sub"), list):
        text = name["Fn::Sub"][0]
        if isinstance(text, str) and text.startswith(SECRET_NAME_PREFIX):
            return text.removeprefix(SECRET_NAME_PREFIX)
    return name


def secret_names(resources: Mapping[str, Any]) -> dict[str, str]:
    """Logical id -> declared name of every Secrets Manager secret the template declares."""
    return {
        logical_id: declared_secret_name(secret["Properties"]["Name"])
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
