"""A partner's key rotates like a generated key: a fresh base64url key of 32 bytes each
time, the old one kept as AWSPREVIOUS, and testSecret reading the new one exactly as the
verifier will, so a key the verifier would refuse never becomes current. An operator
cannot stage one: sekisho makes it, and hands nothing to the partner itself.

Against moto's Secrets Manager, started the way Secrets Manager starts a rotation.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sekisho.rotation.errors import PendingValueIsCurrent, SecretShapeInvalid, StagingRefused
from sekisho.rotation.kinds import PARTNER_KEY, PartnerKey, default_kinds
from sekisho.rotation.staging import stage
from sekisho.rotation.steps import CREATE, FINISH, SET, STEPS, TEST, RotationEvent, Rotator
from sekisho.rotation.versions import SecretVersions
from sekisho.secrets.partner_key import new_partner_key, partner_key_bytes
from tests.moto_rotation import noop_rotation_function

NOW = 1_767_225_600
PARTNER = "sekisho/partner/demo-erp"
# The template's first value: 43 letters and digits, as GenerateSecretString makes it.
FIRST = "Zq7PartnerKeyBodyXk42Zq7PartnerKeyBodyXk42A"
BASE64URL_32_BYTES = re.compile(r"[A-Za-z0-9_-]{43}")


@pytest.fixture(scope="module")
def aws() -> Iterator[tuple[Any, str]]:
    with mock_aws(config={"lambda": {"use_docker": False}}):
        yield boto3.client("secretsmanager"), noop_rotation_function()


@pytest.fixture
def client(aws) -> Iterator[Any]:
    sm, _ = aws
    sm.create_secret(Name=PARTNER, SecretString=json.dumps({"kind": PARTNER_KEY, "secret": FIRST}))
    yield sm
    sm.delete_secret(SecretId=PARTNER, ForceDeleteWithoutRecovery=True)


@pytest.fixture
def rotator(client) -> Rotator:
    return Rotator(SecretVersions(client), default_kinds(lambda name, value: ()), clock=lambda: NOW)


def start_rotation(aws: tuple[Any, str]) -> str:
    """What Secrets Manager does before createSecret: an empty AWSPENDING version."""
    sm, function_arn = aws
    token = str(uuid.uuid4())
    sm.rotate_secret(
        SecretId=PARTNER,
        ClientRequestToken=token,
        RotationLambdaARN=function_arn,
        RotationRules={"AutomaticallyAfterDays": 90},
    )
    return token


def run(rotator: Rotator, token: str, *steps: str) -> list[str]:
    return [rotator.handle(RotationEvent(PARTNER, token, step)).action for step in steps]


def value(client: Any, stage: str) -> dict[str, Any]:
    return json.loads(client.get_secret_value(SecretId=PARTNER, VersionStage=stage)["SecretString"])


def labelled(client: Any, stage: str) -> list[str]:
    versions = client.describe_secret(SecretId=PARTNER)["VersionIdsToStages"]
    return [version for version, labels in versions.items() if stage in labels]


def put_pending(client: Any, token: str, pending: dict[str, Any]) -> None:
    client.put_secret_value(
        SecretId=PARTNER,
        ClientRequestToken=token,
        SecretString=json.dumps(pending),
        VersionStages=["AWSPENDING"],
    )


def test_the_rotation_function_knows_the_partner_key_kind():
    assert isinstance(default_kinds(lambda name, value: ())[PARTNER_KEY], PartnerKey)


def test_a_fresh_key_is_32_random_bytes_in_base64url_without_padding():
    keys = {new_partner_key() for _ in range(50)}
    assert len(keys) == 50
    for key in keys:
        assert BASE64URL_32_BYTES.fullmatch(key)
        assert len(base64.urlsafe_b64decode(key + "=")) == 32


def test_the_templates_first_key_rotates_to_a_new_one_with_the_old_as_previous(
    aws, client, rotator
):
    token = start_rotation(aws)

    actions = run(rotator, token, *STEPS)

    assert actions == ["created", "nothing to set", "tested", "promoted"]
    new = value(client, "AWSCURRENT")
    assert set(new) == {"kind", "secret", "rotated_at"}
    assert (new["kind"], new["rotated_at"]) == (PARTNER_KEY, NOW)
    assert new["secret"] != FIRST
    assert BASE64URL_32_BYTES.fullmatch(new["secret"])
    assert len(partner_key_bytes(new)) == 32
    assert value(client, "AWSPREVIOUS") == {"kind": PARTNER_KEY, "secret": FIRST}
    assert labelled(client, "AWSCURRENT") == [token]
    assert labelled(client, "AWSPENDING") == []


def test_two_rotations_make_two_keys_and_keep_only_the_last_one_previous(aws, client, rotator):
    keys = []
    for _ in range(2):
        run(rotator, start_rotation(aws), *STEPS)
        keys.append(value(client, "AWSCURRENT")["secret"])

    assert len({FIRST, *keys}) == 3
    assert value(client, "AWSPREVIOUS")["secret"] == keys[0]


def test_each_step_twice_with_one_token_rotates_once(aws, client, rotator):
    token = start_rotation(aws)
    run(rotator, token, CREATE, CREATE, SET, TEST, TEST, FINISH, FINISH)
    assert labelled(client, "AWSCURRENT") == [token]
    assert value(client, "AWSPREVIOUS")["secret"] == FIRST


def test_the_test_step_says_what_it_proved_and_never_the_key(aws, client, rotator):
    token = start_rotation(aws)
    run(rotator, token, CREATE)
    outcome = rotator.handle(RotationEvent(PARTNER, token, TEST))
    assert outcome.details == ("secret: a new key of 32 bytes",)
    assert value(client, "AWSPENDING")["secret"] not in repr(outcome)


LEAKY = "Zq7PendingKeyBodyXk42Zq7PendingKeyBodyXk4"


@pytest.mark.parametrize(
    ("pending", "said"),
    [
        pytest.param({"kind": PARTNER_KEY, "secret": LEAKY[:40]}, "decodes to 30 bytes",
                     id="short"),
        pytest.param({"kind": PARTNER_KEY, "secret": LEAKY + "!"}, "is not base64url text",
                     id="punctuation"),
        pytest.param({"kind": PARTNER_KEY, "secret": ""}, "without a non-empty 'secret'",
                     id="empty"),
        pytest.param({"kind": PARTNER_KEY}, "without a non-empty 'secret'", id="missing"),
        pytest.param({"kind": "hmac", "secret": LEAKY + "AB"}, "is not a partner-key",
                     id="another-kind"),
    ],
)  # fmt: skip
def test_a_new_value_the_verifier_would_refuse_never_becomes_current(
    aws, client, rotator, pending, said
):
    token = start_rotation(aws)
    put_pending(client, token, {**pending, "rotated_at": NOW})

    with pytest.raises(SecretShapeInvalid) as refused:
        run(rotator, token, TEST)

    message = str(refused.value)
    assert said in message
    assert PARTNER in message
    assert LEAKY[:12] not in message
    assert value(client, "AWSCURRENT") == {"kind": PARTNER_KEY, "secret": FIRST}
    # A retry of this rotation cannot test the rejected value again.
    assert labelled(client, "AWSPENDING") == []


def test_a_new_value_holding_the_current_key_is_refused(aws, client, rotator):
    token = start_rotation(aws)
    put_pending(client, token, {"kind": PARTNER_KEY, "secret": FIRST, "rotated_at": NOW})
    with pytest.raises(PendingValueIsCurrent):
        run(rotator, token, TEST)
    assert value(client, "AWSCURRENT") == {"kind": PARTNER_KEY, "secret": FIRST}


def test_secrets_managers_test_of_a_new_schedule_passes_on_the_templates_value(
    aws, client, rotator
):
    token = start_rotation(aws)
    put_pending(client, token, {"kind": PARTNER_KEY, "secret": FIRST})
    assert run(rotator, token, TEST) == ["configuration test: value unchanged"]
    assert value(client, "AWSCURRENT") == {"kind": PARTNER_KEY, "secret": FIRST}


def test_a_partner_key_cannot_be_staged_it_is_generated(client):
    with pytest.raises(StagingRefused) as refused:
        stage(SecretVersions(client), PARTNER, "A" * 43)
    assert "sekisho generates" in str(refused.value)
    assert f"make rotate SECRET={PARTNER}" in str(refused.value)
