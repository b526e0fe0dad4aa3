"""template.yaml's SnapStart parameter: off by default, on for the request functions only,
on published versions behind the alias that the API and the queues invoke."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.template_support import load_template, of_type, resolved

REQUEST_FUNCTIONS = {
    "LookupFunction",
    "IntakeFunction",
    "DeliverFunction",
    "WebhookFunction",
    "ActionFunction",
    "SessionFunction",
    "PartnerFunction",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def functions(template: dict[str, Any]) -> dict[str, Any]:
    return of_type(template["Resources"], "AWS::Serverless::Function")


def test_snapstart_is_a_parameter_that_is_off_unless_asked_for(template):
    parameter = template["Parameters"]["SnapStart"]
    assert parameter["Default"] == "off"
    assert sorted(parameter["AllowedValues"]) == ["off", "on"]
    assert template["Conditions"]["SnapStartOn"] == {"Fn::Equals": [{"Ref": "SnapStart"}, "on"]}


@pytest.mark.parametrize("function_name", sorted(REQUEST_FUNCTIONS))
def test_each_request_function_publishes_versions_behind_the_alias_live(functions, function_name):
    properties = functions[function_name]["Properties"]
    assert properties["AutoPublishAlias"] == "live"
    assert properties["SnapStart"] == {
        "ApplyOn": {"Fn::If": ["SnapStartOn", "PublishedVersions", "None"]}
    }


@pytest.mark.parametrize(("value", "applied"), [("off", "None"), ("on", "PublishedVersions")])
def test_snapstart_applies_to_published_versions_only_when_the_parameter_is_on(
    template, functions, value, applied
):
    for name in REQUEST_FUNCTIONS:
        node = functions[name]["Properties"]["SnapStart"]
        assert resolved(template, node, SnapStart=value) == {"ApplyOn": applied}, name
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    flag = resolved(template, variables["SEKISHO_SNAPSTART"], SnapStart=value)
    assert flag == ("1" if value == "on" else "0")


def test_functions_no_visitor_waits_for_take_no_snapshot(functions):
    for name in set(functions) - REQUEST_FUNCTIONS:
        properties = functions[name]["Properties"]
        assert "SnapStart" not in properties, name


def test_every_function_keeps_arm64_whether_snapstart_is_on_or_off(template, functions):
    # SnapStart supports arm64 (docs/snapstart.md): the parameter switches no architecture.
    assert template["Globals"]["Function"]["Architectures"] == ["arm64"]
    for name in REQUEST_FUNCTIONS:
        assert "Architectures" not in functions[name]["Properties"], name


@pytest.mark.parametrize("function_name", sorted(REQUEST_FUNCTIONS))
def test_the_api_and_the_queues_reach_each_function_through_its_events_so_the_alias(
    template, functions, function_name
):
    # SAM points an Api or SQS event of a function with AutoPublishAlias at the alias; an
    # integration written by hand with the function's own ARN would skip it.
    events = functions[function_name]["Properties"]["Events"]
    assert {event["Type"] for event in events.values()} <= {"Api", "SQS"}
    text = json.dumps(template["Resources"], ensure_ascii=False)
    assert f"{function_name}.Arn}}/invocations" not in text
    assert f'"{function_name}", "Arn"]' not in json.dumps(
        [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Permission"]
    )
