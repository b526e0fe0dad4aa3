"""Two stacks with different secret name prefixes in one account (moto): each reads,
stages and rotates its own secrets under the same declared names."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devstack.rotation_driver import rotate
from sekisho.rotation.kinds import default_kinds
from sekisho.rotation.staging import stage
from sekisho.rotation.steps import RotationEvent, Rotator
from sekisho.rotation.versions import SecretVersions
from sekisho.secrets.aws import SecretsManagerBackend
from sekisho.secrets.errors import SecretMissing, SecretOutsidePrefix
from sekisho.secrets.names import prefixed
from sekisho.secrets.store import SecretStore

TOKEN = "sekisho/kintone/deals-view"
HASH_KEY = "sekisho/guard/hash-key"
DEV, PROD = "sekisho-dev", "sekisho-prod"


def token_of(stack: str) -> dict[str, str]:
    return {"kind": "kintone-token", "token": f"{stack.replace('-', '')}Token1"}


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        manager = boto3.client("secretsmanager", region_name="ap-northeast-1")
        for stack in (DEV, PROD):
            manager.create_secret(Name=f"{stack}/{TOKEN}", SecretString=json.dumps(token_of(stack)))
            manager.create_secret(
                Name=f"{stack}/{HASH_KEY}",
                SecretString=json.dumps({"kind": "hmac", "key": stack * 8}),
            )
        yield manager


def store(client: Any, prefix: str) -> SecretStore:
    return SecretStore(SecretsManagerBackend(client, prefix=prefix), allowed={TOKEN, HASH_KEY})


def test_two_stacks_in_one_account_read_their_own_secrets_by_the_same_declared_names(client):
    dev, prod = store(client, DEV), store(client, PROD)

    assert dev.get(TOKEN) == token_of(DEV)
    assert prod.get(TOKEN) == token_of(PROD)
    assert dev.token_source(TOKEN).current() == token_of(DEV)["token"]
    assert prod.get(HASH_KEY)["key"] == PROD * 8


def test_the_environments_prefix_picks_the_stack_when_none_is_given(client, monkeypatch):
    monkeypatch.setenv("SEKISHO_SECRET_PREFIX", PROD)

    assert store(client, None).get(TOKEN) == token_of(PROD)  # type: ignore[arg-type]


def test_a_stack_without_the_secret_says_so_by_its_declared_name(client):
    client.delete_secret(SecretId=f"{DEV}/{TOKEN}", ForceDeleteWithoutRecovery=True)

    with pytest.raises(SecretMissing) as missing:
        store(client, DEV).get(TOKEN)

    # The other stack's secret of that name is never read in its place.
    assert repr(TOKEN) in str(missing.value)
    assert DEV not in str(missing.value)
    assert token_of(PROD)["token"] not in str(missing.value)


def test_a_rotation_under_one_prefix_leaves_the_other_stacks_secret_alone(client):
    versions = SecretVersions(prefixed(client, DEV))
    # What `make rotate` does on moto's server (this is moto in process, "on AWS").
    versions.enable_rotation_without_function(HASH_KEY, days=90)

    outcomes = list(rotate(Rotator(versions, default_kinds(lambda name, value: ())), HASH_KEY))

    assert [outcome.action for outcome in outcomes][-1] == "promoted"
    # Outcomes and messages name the declared secret.
    assert {outcome.secret for outcome in outcomes} == {HASH_KEY}
    assert store(client, DEV).get(HASH_KEY)["key"] != DEV * 8
    assert store(client, PROD).get(HASH_KEY)["key"] == PROD * 8
    assert client.describe_secret(SecretId=f"{PROD}/{HASH_KEY}").get("RotationEnabled") is not True


def test_a_staged_value_goes_to_the_stacks_own_secret(client):
    staged = stage(SecretVersions(prefixed(client, PROD)), TOKEN, "ProdTokenNext2")

    assert staged.secret == TOKEN
    labels = client.describe_secret(SecretId=f"{PROD}/{TOKEN}")["VersionIdsToStages"]
    assert ["SEKISHO_STAGED"] in labels.values()
    other = client.describe_secret(SecretId=f"{DEV}/{TOKEN}")["VersionIdsToStages"]
    assert ["SEKISHO_STAGED"] not in other.values()


def test_the_rotation_function_refuses_an_event_for_another_stacks_secret(client):
    prod_arn = client.describe_secret(SecretId=f"{PROD}/{HASH_KEY}")["ARN"]
    before = client.get_secret_value(SecretId=prod_arn)["SecretString"]
    rotator = Rotator(SecretVersions(prefixed(client, DEV)), default_kinds(lambda n, v: ()))

    with pytest.raises(SecretOutsidePrefix, match=PROD):
        rotator.handle(RotationEvent(prod_arn, "token-1", "createSecret"))

    assert client.get_secret_value(SecretId=prod_arn)["SecretString"] == before
