"""The stack's secret name prefix in template.yaml: SecretNamePrefix, else the stack name.

Evaluated with the local stack's evaluator (devstack.cfn), with and without the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest

from devstack import cfn, provision
from devstack.sam import functions
from sekisho.secrets.names import check_prefix
from tests.template_support import (
    REPO,
    as_list,
    load_policy_yaml,
    load_template,
    of_type,
    resolved,
    secret_names,
    statements,
)

SECRET = "AWS::SecretsManager::Secret"
EXPLICIT = "team-a/sekisho-dev"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def resources(template) -> dict[str, Any]:
    return template["Resources"]


def effective_prefix(template: Mapping[str, Any], **overrides: str) -> str:
    resolver = cfn.Resolver(template, cfn.parameter_values(template, overrides))
    return provision.secret_prefix(template, resolver)


CASES = [
    pytest.param({}, cfn.STACK_NAME, id="no_parameter_is_the_stack_name"),
    pytest.param({"SecretNamePrefix": ""}, cfn.STACK_NAME, id="empty_is_the_stack_name"),
    pytest.param({"SecretNamePrefix": EXPLICIT}, EXPLICIT, id="an_explicit_prefix"),
]


def test_the_parameter_defaults_to_empty_which_stands_for_the_stack_name(template):
    parameter = template["Parameters"]["SecretNamePrefix"]
    assert parameter["Type"] == "String"
    assert parameter["Default"] == ""
    assert template["Conditions"]["HasSecretNamePrefix"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "SecretNamePrefix"}, ""]}]
    }
    assert effective_prefix(template) == cfn.STACK_NAME
    assert effective_prefix(template, SecretNamePrefix=EXPLICIT) == EXPLICIT


@pytest.mark.parametrize(
    "value",
    [
        *("", "sekisho-dev", "sekisho-prod", "team/sekisho", "a.b@c+d=e_f", "x" * 256),
        *("team//x", "/team", "team/", "has space", "タグ", "x" * 257, "a*b"),
    ],
)
def test_the_parameter_takes_what_the_functions_take_as_a_prefix(template, value):
    parameter = template["Parameters"]["SecretNamePrefix"]
    allowed = re.fullmatch(parameter["AllowedPattern"], value) is not None and len(value) <= int(
        parameter["MaxLength"]
    )
    try:
        check_prefix(value)
        taken = True
    except ValueError:
        taken = False
    assert allowed is taken


@pytest.mark.parametrize(("overrides", "prefix"), CASES)
def test_every_secret_is_named_under_the_effective_prefix(template, resources, overrides, prefix):
    declared = secret_names(resources)
    policy = load_policy_yaml()
    named = {view["token_secret"] for view in policy["views"].values()}
    named |= {hook["secret"] for hook in policy["webhooks"].values()}

    for logical_id, secret in of_type(resources, SECRET).items():
        name = resolved(template, secret["Properties"]["Name"], **overrides)
        assert name == f"{prefix}/{declared[logical_id]}", logical_id
    # Declared names are the policy's own: the prefix is deployment, not policy.
    assert named <= set(declared.values())
    assert all(name.startswith("sekisho/") for name in declared.values())


@pytest.mark.parametrize(("overrides", "prefix"), CASES)
def test_every_function_reads_its_secrets_under_the_same_prefix(template, overrides, prefix):
    resolver = cfn.Resolver(template, cfn.parameter_values(template, overrides))
    provision.register_resources(template, resolver, "http://127.0.0.1:5000")
    specs = functions(template, resolver, REPO)
    readers = {
        spec.logical_id
        for spec in specs
        if any(
            str(action).startswith("secretsmanager:")
            for statement in statements(template["Resources"][spec.logical_id]["Properties"])
            for action in as_list(statement.get("Action", []))
        )
    }

    assert {"LookupFunction", "IntakeFunction", "DeliverFunction", "RotateFunction"} <= readers
    for spec in specs:
        if spec.logical_id in readers:
            assert spec.environment.get("SEKISHO_SECRET_PREFIX") == prefix, spec.logical_id


def test_iam_names_each_secret_by_its_exact_arn(template, resources):
    secrets = set(of_type(resources, SECRET))
    granted = 0
    for logical_id, function in of_type(resources, "AWS::Serverless::Function").items():
        if "Policies" not in function["Properties"]:
            continue
        for statement in statements(function["Properties"]):
            if not any(
                str(a).startswith("secretsmanager:") for a in as_list(statement.get("Action", []))
            ):
                continue
            for resource in as_list(statement["Resource"]):
                # !Ref of a secret is its ARN, random suffix and all: never a name pattern.
                assert set(resource) == {"Ref"}, (logical_id, resource)
                assert resource["Ref"] in secrets, (logical_id, resource)
                granted += 1
    assert granted >= len(secrets)


RULES = {
    "RotationFailureRule": "sekisho/",
    "KintoneWebhookTokenRenewedRule": "sekisho/webhook/demo-kintone-",
    "PartnerKeyRenewedRule": "sekisho/partner/",
}


@pytest.mark.parametrize(("overrides", "prefix"), CASES)
@pytest.mark.parametrize("rule", sorted(RULES))
def test_the_secret_rules_match_this_stacks_secrets_under_its_prefix(
    template, rule, overrides, prefix
):
    tail = RULES[rule]
    pattern = resolved(
        template, template["Resources"][rule]["Properties"]["EventPattern"], **overrides
    )
    (option,) = pattern["detail"]["additionalEventData"]["SecretId"]
    base = f"arn:aws:secretsmanager:{cfn.REGION}:{cfn.ACCOUNT_ID}:secret:"

    assert option == {"prefix": f"{base}{prefix}/{tail}"}
    # Another stack's secret of the same declared name does not start so.
    assert not f"{base}{prefix}-other/{tail}Ab12Cd".startswith(option["prefix"])
