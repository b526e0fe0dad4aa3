"""The local rotation driver (local/devstack): it turns rotation on only where no rotation
function can (moto on this machine), `python -m devstack rotate` refuses to run the steps
against AWS, and none of it ships in the layer: `sekisho` has no `rotate`."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

import sekisho.rotation
from devstack.__main__ import main as devstack
from devstack.operator_env import AWS_IDENTITY_VARIABLES
from devstack.rotation_driver import ensure_rotation_enabled, is_local_endpoint
from sekisho.cli import build_parser
from sekisho.rotation.errors import RotationNotEnabled
from sekisho.rotation.versions import SecretVersions

POLICY = Path(__file__).resolve().parents[2] / "policy.yaml"
HASH_KEY = "sekisho/guard/hash-key"


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:5000", True),
        ("http://localhost:5000", True),
        ("http://[::1]:5000", True),
        ("http://127.0.0.2:5000", True),
        ("https://secretsmanager.ap-northeast-1.amazonaws.com", False),
        ("https://vpce-0123.secretsmanager.ap-northeast-1.vpce.amazonaws.com", False),
        ("http://localhost.example.com", False),
        ("http://10.0.0.5:5000", False),
        ("", False),
        (None, False),
    ],
)
def test_only_a_loopback_secrets_manager_is_local(url, local):
    assert is_local_endpoint(url) is local


def test_rotation_is_not_turned_on_against_aws():
    with mock_aws():
        client = boto3.client("secretsmanager")  # the AWS endpoint, answered by moto
        client.create_secret(Name=HASH_KEY, SecretString=json.dumps({"k": 1}))
        with pytest.raises(RotationNotEnabled) as caught:
            ensure_rotation_enabled(SecretVersions(client), HASH_KEY)
        assert "RotationSchedule" in str(caught.value)
        answer = client.describe_secret(SecretId=HASH_KEY)
        assert answer.get("RotationEnabled") is not True
        assert len(answer["VersionIdsToStages"]) == 1


def devstack_rotate(secret: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = devstack(["rotate", secret, "--policy", str(POLICY)])
    return status, out.getvalue()


@pytest.mark.parametrize("rotation_on", [True, False], ids=["rotation_on", "rotation_off"])
def test_devstack_rotate_refuses_aws_before_any_step(monkeypatch, rotation_on):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    # What devstack sets for its commands, set here first so the test undoes it after.
    for name in AWS_IDENTITY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    with mock_aws():
        client = boto3.client("secretsmanager")  # the AWS endpoint, answered by moto
        client.create_secret(
            Name=HASH_KEY, SecretString=json.dumps({"kind": "hmac", "key": "k" * 64})
        )
        if rotation_on:
            client.rotate_secret(
                SecretId=HASH_KEY,
                RotationRules={"AutomaticallyAfterDays": 90},
                RotateImmediately=False,
            )
        before = client.describe_secret(SecretId=HASH_KEY)["VersionIdsToStages"]

        status, out = devstack_rotate(HASH_KEY)

        assert status == 1
        assert out.startswith("error: rotation_not_local: ")
        assert f"on AWS use `aws secretsmanager rotate-secret --secret-id {HASH_KEY}`" in out
        assert "createSecret" not in out
        assert client.describe_secret(SecretId=HASH_KEY)["VersionIdsToStages"] == before
        current = client.get_secret_value(SecretId=HASH_KEY, VersionStage="AWSCURRENT")
        assert json.loads(current["SecretString"])["key"] == "k" * 64


def test_the_sekisho_command_has_no_rotate_and_the_layer_no_driver(capsys):
    with pytest.raises(SystemExit) as refused:
        build_parser().parse_args(["rotate", HASH_KEY])
    assert refused.value.code == 2
    assert "invalid choice: 'rotate'" in capsys.readouterr().err
    layer_rotation = Path(sekisho.rotation.__file__).parent
    assert not (layer_rotation / "driver.py").exists()
    assert importlib.util.find_spec("sekisho.rotation.driver") is None
