"""DeliverFunction's confirmation mail in template.yaml: the reply keys of the
IdempotencyTable only, SES from one identity as one address, through the stack's
configuration set."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from sekisho.intake.reply import KEY_PREFIX
from tests.template_support import as_list, load_template, statements

IDENTITY = {
    "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${MailIdentity}"
}
CONFIGURATION_SET = {
    "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}"
    ":configuration-set/${MailConfigurationSet}"
}


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return load_template()["Resources"]


@pytest.fixture(scope="module")
def deliver(resources) -> Mapping[str, Any]:
    return resources["DeliverFunction"]["Properties"]


def by_sid(function: Mapping[str, Any], sid: str) -> Mapping[str, Any]:
    (statement,) = [s for s in statements(function) if s.get("Sid") == sid]
    return statement


def test_the_deliverer_touches_only_the_reply_keys_of_the_idempotency_table(deliver):
    statement = by_sid(deliver, "RememberRepliesSent")
    assert statement["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}
    # Powertools keys a record "<key_prefix>#<hash>": the intake's answers are out of reach.
    assert statement["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{KEY_PREFIX}#*"]}
    }
    assert not {"dynamodb:Query", "dynamodb:Scan"} & set(as_list(statement["Action"]))


def test_the_deliverer_sends_mail_from_one_identity_as_one_address_through_the_set(deliver):
    statement = by_sid(deliver, "SendReplies")
    assert as_list(statement["Action"]) == ["ses:SendEmail"]
    assert statement["Resource"] == [IDENTITY, CONFIGURATION_SET]
    assert statement["Condition"] == {
        "StringEquals": {"ses:FromAddress": {"Ref": "MailFromAddress"}}
    }


@pytest.mark.parametrize("function", ["DeliverFunction", "SessionFunction"])
def test_every_mailing_function_names_the_stacks_configuration_set(resources, function):
    variables = resources[function]["Properties"]["Environment"]["Variables"]
    assert variables["MAIL_CONFIGURATION_SET"] == {"Ref": "MailConfigurationSet"}


def test_the_configuration_set_requires_tls_and_suppresses_bounces_and_complaints(resources):
    properties = resources["MailConfigurationSet"]["Properties"]
    assert resources["MailConfigurationSet"]["Type"] == "AWS::SES::ConfigurationSet"
    assert properties["DeliveryOptions"] == {"TlsPolicy": "REQUIRE"}
    assert set(properties["SuppressionOptions"]["SuppressedReasons"]) == {"BOUNCE", "COMPLAINT"}
