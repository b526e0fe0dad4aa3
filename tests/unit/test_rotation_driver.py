"""`sekisho rotate`'s driver: it turns rotation on only where no rotation function can
(moto on this machine), never on AWS."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from sekisho.rotation import (
    RotationNotEnabled,
    SecretVersions,
    ensure_rotation_enabled,
    is_local_endpoint,
)


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
        client.create_secret(Name="sekisho/guard/hash-key", SecretString=json.dumps({"k": 1}))
        with pytest.raises(RotationNotEnabled) as caught:
            ensure_rotation_enabled(SecretVersions(client), "sekisho/guard/hash-key")
        assert "RotationSchedule" in str(caught.value)
        answer = client.describe_secret(SecretId="sekisho/guard/hash-key")
        assert answer.get("RotationEnabled") is not True
        assert len(answer["VersionIdsToStages"]) == 1
