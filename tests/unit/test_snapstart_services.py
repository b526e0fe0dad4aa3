"""With SnapStart, each function's init builds a client for every AWS service its role may
call (``AWS_SERVICES`` of its wiring module, handed to ``snapstart.prepare``): the list is
held to template.yaml's policies, so a service added to a role is not left for a restored
container's first request to build (tests/integration/test_bare_relays_in_step.py checks
that no first request after a restore builds one)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from sekisho.aws import CONFIGS

REPO = Path(__file__).resolve().parents[2]
# The function's logical id -> its wiring module.
FUNCTIONS = {
    "LookupFunction": "lookup",
    "IntakeFunction": "intake",
    "DeliverFunction": "deliver",
    "WebhookFunction": "webhook",
    "ActionFunction": "action",
    "SessionFunction": "session",
    "PartnerFunction": "partner",
}
# An IAM action's prefix -> the boto3 client that calls it.
CLIENTS = {"ses": "sesv2"}


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return cfn_yaml.load(str(REPO / "template.yaml"))["Resources"]


def services_allowed(policies: Any) -> set[str]:
    """The service prefixes of every action a function's policies allow."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "Action":
                    actions = value if isinstance(value, list) else [value]
                    found.update(a.split(":")[0] for a in actions if isinstance(a, str))
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(policies)
    return {CLIENTS.get(prefix, prefix) for prefix in found}


@pytest.mark.parametrize(("logical_id", "module"), FUNCTIONS.items())
def test_each_function_prepares_a_client_for_every_service_its_role_may_call(
    resources, logical_id, module
):
    wiring = importlib.import_module(f"sekisho.wiring.{module}")
    allowed = services_allowed(resources[logical_id]["Properties"]["Policies"])

    assert allowed, logical_id
    assert set(wiring.AWS_SERVICES) == allowed
    assert set(wiring.AWS_SERVICES) <= set(CONFIGS)


def test_every_request_function_hands_its_services_to_snapstart_prepare():
    for module in FUNCTIONS.values():
        source = (REPO / "functions" / module / "app.py").read_text(encoding="utf-8")
        assert "services=wiring.AWS_SERVICES" in source, module
