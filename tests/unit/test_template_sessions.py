"""SessionFunction in template.yaml: the routes, secrets, table keys and mail it may reach."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from sekisho.sessions.files import SERVED_TYPES
from tests.template_support import (
    as_list,
    load_policy_yaml,
    load_template,
    of_type,
    secret_names,
    statements,
)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def resources(template) -> dict[str, Any]:
    return template["Resources"]


@pytest.fixture(scope="module")
def session(resources) -> Mapping[str, Any]:
    return resources["SessionFunction"]["Properties"]


def routes(resources, function: str) -> set[tuple[str, str]]:
    events = resources[function]["Properties"].get("Events") or {}
    return {
        (e["Properties"]["Path"], e["Properties"]["Method"])
        for e in events.values()
        if e["Type"] == "Api"
    }


def by_sid(function: Mapping[str, Any], sid: str) -> Mapping[str, Any]:
    (statement,) = [s for s in statements(function) if s.get("Sid") == sid]
    return statement


def test_every_session_view_of_the_policy_is_a_literal_path_of_session_function_alone(resources):
    views = load_policy_yaml()["views"]
    session_views = [name for name, view in views.items() if view.get("session")]
    assert session_views
    for name in session_views:
        assert {(f"/views/{name}", "post"), (f"/views/{name}", "options")} <= routes(
            resources, "SessionFunction"
        )
    # The anonymous lookup keeps the parameterised path and no session view of its own.
    assert routes(resources, "LookupFunction") == {
        ("/views/{view}", "post"),
        ("/views/{view}", "options"),
    }


def test_session_function_answers_the_sign_in_and_entry_routes(resources):
    assert {
        ("/sessions/{realm}/code", "post"),
        ("/sessions/{realm}", "post"),
        ("/sessions/{realm}", "delete"),
        ("/forms/{form}/entries/{ref}", "patch"),
        ("/forms/{form}/entries/{ref}/cancel", "post"),
        ("/views/my-applications/files/{ticket}", "get"),
    } <= routes(resources, "SessionFunction")


def test_session_function_touches_only_session_keys_of_the_guard_table(session):
    statement = by_sid(session, "SessionsInGuardTable")
    assert statement["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["session:*"]}
    }
    assert not {"dynamodb:Query", "dynamodb:Scan"} & set(as_list(statement["Action"]))


def test_session_function_sends_mail_from_one_identity_as_one_address(session):
    statement = by_sid(session, "SendSignInCodes")
    assert as_list(statement["Action"]) == ["ses:SendEmail"]
    assert statement["Resource"] == [
        {
            "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}"
            ":identity/${MailIdentity}"
        },
        {
            "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}"
            ":configuration-set/${MailConfigurationSet}"
        },
    ]
    assert statement["Condition"] == {
        "StringEquals": {"ses:FromAddress": {"Ref": "MailFromAddress"}}
    }


def test_only_session_function_reads_a_realm_key(resources):
    keys = {realm["key_secret"] for realm in load_policy_yaml()["realms"].values()}
    names = secret_names(resources)
    readers = set()
    for name, function in of_type(resources, "AWS::Serverless::Function").items():
        for statement in statements(function["Properties"]):
            if "secretsmanager:GetSecretValue" not in as_list(statement.get("Action")):
                continue
            granted = {names[r["Ref"]] for r in as_list(statement["Resource"]) if "Ref" in r}
            if granted & keys:
                readers.add(name)
    # RotateFunction rotates it (it holds every secret for that, on a rotation's condition).
    assert readers == {"SessionFunction", "RotateFunction"}


def test_a_realm_key_is_generated_by_the_template_and_rotated_on_schedule(resources):
    names = secret_names(resources)
    keys = {realm["key_secret"] for realm in load_policy_yaml()["realms"].values()}
    logical = {logical_id for logical_id, name in names.items() if name in keys}
    assert logical
    for logical_id in logical:
        assert "GenerateSecretString" in resources[logical_id]["Properties"]
    scheduled = {
        schedule["Properties"]["SecretId"]["Ref"]
        for schedule in of_type(resources, "AWS::SecretsManager::RotationSchedule").values()
    }
    assert logical <= scheduled


def test_the_api_treats_as_binary_exactly_the_types_a_file_is_sent_as(resources):
    declared = resources["Api"]["Properties"]["BinaryMediaTypes"]
    assert {t.replace("~1", "/") for t in declared} == set(SERVED_TYPES)
    assert not [t for t in SERVED_TYPES if t.startswith("text/") or t == "application/json"]


def test_the_code_request_floor_reaches_the_function_as_a_parameter(template, session):
    assert session["Environment"]["Variables"]["CODE_REQUEST_FLOOR_MS"] == {
        "Ref": "CodeRequestFloorMs"
    }
    assert template["Parameters"]["CodeRequestFloorMs"]["Default"] == 1500
