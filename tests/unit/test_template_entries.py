"""The entries table in template.yaml: kept, recoverable, and reachable only at its own
keys by the three functions that move seats."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from sekisho.entries.ledger import ENTRY_PREFIX, SEATS_PREFIX
from tests.template_support import as_list, load_template, statements

ENTRIES = {"Fn::GetAtt": ["EntriesTable", "Arn"]}


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return load_template()["Resources"]


def entry_statements(function: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [s for s in statements(function) if ENTRIES in as_list(s.get("Resource"))]


def test_the_entries_table_is_retained_and_recoverable(resources):
    table = resources["EntriesTable"]
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    props = table["Properties"]
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert "TimeToLiveSpecification" not in props  # a held seat never expires


@pytest.mark.parametrize(
    "function", ["IntakeFunction", "PartnerFunction", "DeliverFunction", "SessionFunction"]
)
def test_every_grant_on_the_entries_table_is_fenced_to_entries_and_seats(resources, function):
    granted = entry_statements(resources[function]["Properties"])
    assert granted
    for statement in granted:
        keys = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        assert sorted(keys) == sorted([f"{ENTRY_PREFIX}*", f"{SEATS_PREFIX}*"])
        assert not {"dynamodb:Query", "dynamodb:Scan", "dynamodb:DeleteItem"} & set(
            as_list(statement["Action"])
        )


@pytest.mark.parametrize("function", ["DeliverFunction", "SessionFunction"])
def test_only_the_intake_may_create_an_entry(resources, function):
    found = entry_statements(resources[function]["Properties"])
    actions = {a for s in found for a in as_list(s["Action"])}
    assert actions == {"dynamodb:GetItem", "dynamodb:UpdateItem"}


@pytest.mark.parametrize(
    "function", ["LookupFunction", "WebhookFunction", "ActionFunction", "RotateFunction"]
)
def test_no_other_function_reaches_the_entries_table(resources, function):
    assert entry_statements(resources[function]["Properties"]) == []


def test_the_deliverer_gives_seats_back_on_the_receive_the_queue_dead_letters_after(resources):
    variables = resources["DeliverFunction"]["Properties"]["Environment"]["Variables"]
    redrive = resources["IntakeQueue"]["Properties"]["RedrivePolicy"]
    assert int(variables["DELIVER_MAX_RECEIVES"]) == int(redrive["maxReceiveCount"])
