"""RotateFunction end to end: every events/rotate_*.json through the Lambda handler.

moto plays Secrets Manager as AWS does before it invokes the function: RotateSecret with
the event's ClientRequestToken marks rotation enabled and gives that token an empty
AWSPENDING version (moto's Lambda backend without Docker makes its own invocations no-ops;
the test then invokes the real handler with the event files). kintone is the emulator,
probed for real.
"""

from __future__ import annotations

import importlib.util
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws

from sekisho import aws as sekisho_aws
from sekisho import runtime
from sekisho.kintone import client as kintone_client
from sekisho.rotation.errors import RotationEventInvalid, TokenPrivilegeMismatch
from sekisho.rotation.steps import STEPS
from sekisho.rotation.versions import STAGED
from sekisho.wiring import rotate as wiring
from tests.metrics_support import dimensions, emitted
from tests.moto_rotation import noop_rotation_function

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
KINDS = ("hmac", "kintone-token", "webhook-key")
NEW_VIEW_TOKEN = "deals-view-token-rotated"

pytestmark = pytest.mark.emulator


def event_file(step: str, kind: str) -> Path:
    return EVENTS / f"rotate_{step}_{kind}.json"


def load_event(step: str, kind: str) -> dict[str, Any]:
    return json.loads(event_file(step, kind).read_text(encoding="utf-8"))


class Context:
    function_name = "RotateFunction"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:ap-northeast-1:123456789012:function:sekisho-rotate"
    aws_request_id = "00000000-0000-0000-0000-000000000006"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


class SecretsManager:
    """moto's Secrets Manager with a rotation function it can "invoke" (a no-op)."""

    def __init__(self) -> None:
        self.client = boto3.client("secretsmanager")
        self.function_arn = noop_rotation_function()

    def create_for(self, event: dict[str, Any], value: dict[str, Any]) -> str:
        """The secret the event's ARN names (moto takes the ARN's suffix from a tag)."""
        name, suffix = event["SecretId"].split(":secret:")[1].rsplit("-", 1)
        arn = self.client.create_secret(
            Name=name,
            SecretString=json.dumps(value),
            Tags=[{"Key": "_custom_id_", "Value": suffix}],
        )["ARN"]
        assert arn == event["SecretId"]
        return name

    def start_rotation(self, event: dict[str, Any]) -> None:
        self.client.rotate_secret(
            SecretId=event["SecretId"],
            ClientRequestToken=event["ClientRequestToken"],
            RotationLambdaARN=self.function_arn,
            RotationRules={"AutomaticallyAfterDays": 90},
        )

    def stage(self, name: str, value: dict[str, Any]) -> None:
        self.client.put_secret_value(
            SecretId=name, SecretString=json.dumps(value), VersionStages=[STAGED]
        )

    def value(self, name: str, stage: str) -> dict[str, Any]:
        answer = self.client.get_secret_value(SecretId=name, VersionStage=stage)
        return json.loads(answer["SecretString"])

    def labelled(self, name: str, stage: str) -> list[str]:
        versions = self.client.describe_secret(SecretId=name)["VersionIdsToStages"]
        return [version for version, labels in versions.items() if stage in labels]


def clear_container_caches() -> None:
    for cached in (
        runtime.settings,
        runtime.policy,
        wiring.rotator,
        sekisho_aws.client,
    ):
        cached.cache_clear()


@pytest.fixture
def aws(kintone, monkeypatch) -> Iterator[SecretsManager]:
    monkeypatch.setenv("SEKISHO_POLICY", str(ROOT / "policy.yaml"))
    monkeypatch.setenv("KINTONE_BASE_URL", kintone.url)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "sekisho")
    monkeypatch.setattr(kintone_client, "_breakers", {})
    clear_container_caches()
    with mock_aws(config={"lambda": {"use_docker": False}}):
        yield SecretsManager()
    clear_container_caches()


@pytest.fixture
def handler(aws) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A fresh RotateFunction container (cold start inside moto's Secrets Manager)."""
    spec = importlib.util.spec_from_file_location(
        f"rotate_app_{uuid.uuid4().hex}", ROOT / "functions" / "rotate" / "app.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return lambda event: module.lambda_handler(event, Context())


def add_token(kintone, token: str, app: int, permissions: list[str]) -> None:
    answer = requests.post(
        f"{kintone.url}/_emulator/tokens",
        json={"token": token, "app": app, "permissions": permissions},
        timeout=5,
    )
    answer.raise_for_status()


def prepare(kind: str, aws: SecretsManager, kintone) -> tuple[str, dict[str, Any]]:
    """The secret of ``kind`` as the events expect it, its new value staged if it takes
    one; returns its name and what AWSCURRENT should hold afterwards (without rotated_at)."""
    event = load_event("createSecret", kind)
    if kind == "hmac":
        name = aws.create_for(event, {"kind": "hmac", "key": "k" * 64})
        expected = {"kind": "hmac"}
    elif kind == "kintone-token":
        name = aws.create_for(event, {"kind": "kintone-token", "token": "deals-view-token"})
        add_token(kintone, NEW_VIEW_TOKEN, 1, ["view"])
        expected = {"kind": "kintone-token", "token": NEW_VIEW_TOKEN}
        aws.stage(name, expected)
    else:
        old = {"kind": "webhook-key", "primary": "box-primary-old", "secondary": "box-second"}
        name = aws.create_for(event, old)
        expected = {**old, "primary": "box-primary-new"}
        aws.stage(name, expected)
    aws.start_rotation(event)
    return name, expected


@pytest.mark.parametrize("kind", KINDS)
def test_each_step_event_twice_rotates_the_secret_once(aws, handler, kintone, kind, capsys):
    name, expected = prepare(kind, aws, kintone)
    capsys.readouterr()
    actions = [handler(load_event(step, kind))["action"] for step in STEPS for _ in range(2)]
    # One rotation, counted once (the retried finishSecret is not); its test step's kintone
    # calls are no request's.
    assert [m.dimensions for m in emitted(capsys.readouterr().out)] == [
        {"service": "sekisho", "outcome": "rotated"}
    ]
    assert actions == [
        "created",
        "already created",
        "nothing to set",
        "nothing to set",
        "tested",
        "tested",
        "promoted",
        "already current",
    ]
    token = load_event("createSecret", kind)["ClientRequestToken"]
    assert aws.labelled(name, "AWSCURRENT") == [token]
    assert len(aws.labelled(name, "AWSPREVIOUS")) == 1
    assert aws.labelled(name, "AWSPENDING") == []
    assert aws.labelled(name, STAGED) == []
    current = aws.value(name, "AWSCURRENT")
    assert isinstance(current.pop("rotated_at"), int)
    if kind == "hmac":
        assert current["key"] != "k" * 64
        current.pop("key")
    assert current == expected


def test_an_over_privileged_kintone_token_fails_test_secret_and_never_becomes_current(
    aws, handler, kintone, capsys
):
    event = load_event("createSecret", "kintone-token")
    name = aws.create_for(event, {"kind": "kintone-token", "token": "deals-view-token"})
    add_token(kintone, "deals-view-and-add-token", 1, ["view", "add"])
    aws.stage(name, {"kind": "kintone-token", "token": "deals-view-and-add-token"})
    aws.start_rotation(event)
    handler(load_event("createSecret", "kintone-token"))
    handler(load_event("setSecret", "kintone-token"))
    capsys.readouterr()
    with pytest.raises(TokenPrivilegeMismatch) as caught:
        handler(load_event("testSecret", "kintone-token"))
    assert dimensions(capsys.readouterr().out, "Rotations") == [{"outcome": "failed"}]
    assert caught.value.report.excess == ("add",)
    assert "deals-view-and-add-token" not in str(caught.value)
    assert aws.value(name, "AWSCURRENT")["token"] == "deals-view-token"
    assert len(aws.labelled(name, STAGED)) == 1, "the operator's staged token stays for review"
    assert aws.labelled(name, "AWSPENDING") == [], "a retry must not test it again"


def test_an_event_that_is_not_a_rotation_event_fails_the_invocation(aws, handler):
    with pytest.raises(RotationEventInvalid):
        handler({"Step": "createSecret", "SecretId": "sekisho/guard/hash-key"})


# Every file, by name: the tests above invoke each through event_file(step, kind).
EVENT_FILES = (
    "rotate_createSecret_hmac.json",
    "rotate_createSecret_kintone-token.json",
    "rotate_createSecret_webhook-key.json",
    "rotate_setSecret_hmac.json",
    "rotate_setSecret_kintone-token.json",
    "rotate_setSecret_webhook-key.json",
    "rotate_testSecret_hmac.json",
    "rotate_testSecret_kintone-token.json",
    "rotate_testSecret_webhook-key.json",
    "rotate_finishSecret_hmac.json",
    "rotate_finishSecret_kintone-token.json",
    "rotate_finishSecret_webhook-key.json",
)


def test_every_rotate_event_file_is_invoked_by_a_test():
    files = {path.name for path in EVENTS.glob("rotate_*.json")}
    invoked = {event_file(step, kind).name for step in STEPS for kind in KINDS}
    assert files == invoked == set(EVENT_FILES)


@pytest.mark.parametrize("kind", KINDS)
def test_the_event_files_hold_no_secret_value(kind):
    for step in STEPS:
        event = load_event(step, kind)
        assert set(event) <= {"Step", "SecretId", "ClientRequestToken", "RotationToken"}
        assert event["Step"] == step
        assert event["SecretId"].startswith("arn:aws:secretsmanager:ap-northeast-1:123456789012:")
