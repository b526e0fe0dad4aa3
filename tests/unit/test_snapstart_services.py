"""With SnapStart, each function's init builds a client for every AWS service its role may
call (``AWS_SERVICES`` of its wiring module, handed to ``snapstart.prepare``): the list is
held to template.yaml's policies, so a service added to a role is not left for a restored
container's first request to build (tests/integration/test_bare_relays_in_step.py checks
that no first request after a restore builds one)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from sekisho.aws import CONFIGS
from tests.bench.first_response_stack import FUNCTIONS
from tests.template_support import as_list, load_template, statements
from tests.unit.test_template import branches

REPO = Path(__file__).resolve().parents[2]
# An IAM action's prefix -> the boto3 client that calls it.
CLIENTS = {"ses": "sesv2"}


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return load_template()["Resources"]


def services_allowed(function: Mapping[str, Any]) -> set[str]:
    """The boto3 clients of every action a function's statements allow (either branch of a
    conditional statement)."""
    return {
        CLIENTS.get(prefix, prefix)
        for statement in statements(function)
        for branch in branches(statement)
        for action in as_list(branch.get("Action", []))
        for prefix in [action.split(":")[0]]
    }


@pytest.mark.parametrize(("module", "logical_id"), FUNCTIONS.items())
def test_each_function_prepares_a_client_for_every_service_its_role_may_call(
    resources, module, logical_id
):
    wiring = importlib.import_module(f"sekisho.wiring.{module}")
    allowed = services_allowed(resources[logical_id]["Properties"])

    assert allowed, logical_id
    assert set(wiring.AWS_SERVICES) == allowed
    assert set(wiring.AWS_SERVICES) <= set(CONFIGS)


def test_every_request_function_hands_its_services_to_snapstart_prepare():
    for module in FUNCTIONS:
        source = (REPO / "functions" / module / "app.py").read_text(encoding="utf-8")
        assert "services=wiring.AWS_SERVICES" in source, module
