"""`sekisho rotate`'s driver: it turns rotation on only where no rotation function can
(moto on this machine), and `sekisho rotate` refuses to run the steps against AWS."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from sekisho.rotation.cli import add_rotate
from sekisho.rotation.driver import ensure_rotation_enabled, is_local_endpoint
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


def sekisho_rotate(secret: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="sekisho")
    add_rotate(parser.add_subparsers(required=True))
    args = parser.parse_args(["rotate", secret, "--policy", str(POLICY)])
    out = io.StringIO()
    return args.handler(args, out), out.getvalue()


@pytest.mark.parametrize("rotation_on", [True, False], ids=["rotation_on", "rotation_off"])
def test_sekisho_rotate_refuses_aws_before_any_step(monkeypatch, rotation_on):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
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

        status, out = sekisho_rotate(HASH_KEY)

        assert status == 1
        assert out.startswith("error: rotation_not_local: ")
        assert f"on AWS use `aws secretsmanager rotate-secret --secret-id {HASH_KEY}`" in out
        assert "createSecret" not in out
        assert client.describe_secret(SecretId=HASH_KEY)["VersionIdsToStages"] == before
        current = client.get_secret_value(SecretId=HASH_KEY, VersionStage="AWSCURRENT")
        assert json.loads(current["SecretString"])["key"] == "k" * 64
