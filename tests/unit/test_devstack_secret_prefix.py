"""The local stack's secrets under the template's secret name prefix (devstack.provision)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devstack import cfn, provision
from devstack.sam import functions
from sekisho.secrets.aws import SecretsManagerBackend
from sekisho.secrets.store import SecretStore

REPO = Path(__file__).resolve().parents[2]
HASH_KEY = "sekisho/guard/hash-key"
DEMO = {HASH_KEY: json.dumps({"kind": "hmac", "key": "k" * 43})}


@pytest.fixture
def secretsmanager() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=cfn.REGION)


def provisioned(secretsmanager: Any, template: dict[str, Any], **overrides: str) -> list[str]:
    resolver = cfn.Resolver(template, cfn.parameter_values(template, overrides))
    provision.register_resources(template, resolver, "http://127.0.0.1:5000")
    return provision.create_secrets(secretsmanager, template, resolver, DEMO)


@pytest.mark.parametrize(
    ("overrides", "prefix"),
    [({}, cfn.STACK_NAME), ({"SecretNamePrefix": "team/dev"}, "team/dev")],
)
def test_moto_holds_the_demo_values_where_the_functions_read_them(
    secretsmanager, overrides, prefix
):
    template = cfn.load_template(REPO / "template.yaml")

    names = provisioned(secretsmanager, template, **overrides)

    assert names[0] == f"{prefix}/{HASH_KEY}"
    assert all(name.startswith(f"{prefix}/sekisho/") for name in names)
    # The name the workers are given: the functions' SEKISHO_SECRET_PREFIX resolves alike.
    resolver = cfn.Resolver(template, cfn.parameter_values(template, overrides))
    provision.register_resources(template, resolver, "http://127.0.0.1:5000")
    (rotate,) = functions(template, resolver, REPO, only={"RotateFunction"})
    assert rotate.environment["SEKISHO_SECRET_PREFIX"] == prefix
    store = SecretStore(SecretsManagerBackend(secretsmanager, prefix=prefix), allowed={HASH_KEY})
    assert store.get(HASH_KEY) == json.loads(DEMO[HASH_KEY])


def test_the_default_is_the_prefix_the_local_helpers_assume(secretsmanager):
    template = cfn.load_template(REPO / "template.yaml")

    provisioned(secretsmanager, template)

    value = secretsmanager.get_secret_value(SecretId=provision.local_secret_name(HASH_KEY))
    assert json.loads(value["SecretString"]) == json.loads(DEMO[HASH_KEY])


def test_a_template_without_the_parameter_keeps_the_declared_names(secretsmanager):
    template = {
        "Resources": {
            "Key": {
                "Type": "AWS::SecretsManager::Secret",
                "Properties": {"Name": HASH_KEY, "SecretString": "{}"},
            }
        }
    }

    assert provisioned(secretsmanager, template) == [HASH_KEY]
