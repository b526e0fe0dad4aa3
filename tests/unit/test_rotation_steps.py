"""The four rotation steps against moto's Secrets Manager, kintone replaced by a fake check.

Each test starts a rotation the way Secrets Manager does before it invokes createSecret:
RotateSecret with the rotation function's ARN gives a new, empty version the label
AWSPENDING. moto does that (and marks rotation enabled) when its Lambda backend runs
without Docker, where invoking the function is a no-op; the test then plays the function.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sekisho import metrics
from sekisho.rotation.errors import (
    NothingStaged,
    PendingValueMissing,
    RotationNotEnabled,
    RotationVersionNotPending,
    RotationVersionUnknown,
    SecretKindUnknown,
    SecretShapeInvalid,
    StagedValueIsCurrent,
    TokenPrivilegeMismatch,
)
from sekisho.rotation.kinds import default_kinds
from sekisho.rotation.steps import CREATE, FINISH, SET, STEPS, TEST, RotationEvent, Rotator
from sekisho.rotation.versions import STAGED, SecretVersions
from sekisho.tokens import ProbeReport, ProbeRow
from tests.metrics_support import named
from tests.moto_rotation import noop_rotation_function

NOW = 1_763_700_000
HASH_KEY = "sekisho/guard/hash-key"
VIEW_TOKEN = "sekisho/kintone/deals-view"
BOX = "sekisho/webhook/demo-box"
OLD_KEY = "k" * 64
ROTATION_TOKEN = "0f9e8d7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f"


class FakeTokenCheck:
    """Stands in for the kintone probe: remembers what it was asked, fails on demand."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.excess: tuple[str, ...] = ()

    def __call__(self, name: str, pending: dict[str, Any]) -> tuple[str, ...]:
        self.calls.append((name, pending["token"]))
        if self.excess:
            rows = tuple(ProbeRow(p, p == "view", "allowed") for p in ("view", *self.excess))
            raise TokenPrivilegeMismatch("too much", report=ProbeReport(name, 1, rows))
        return ("view: expected allowed, observed allowed",)


class Secrets:
    """moto's Secrets Manager, and a no-op rotation function Secrets Manager can invoke."""

    def __init__(self) -> None:
        self.client = boto3.client("secretsmanager")
        self.function_arn = noop_rotation_function()

    def create(self, name: str, value: dict[str, Any]) -> None:
        self.client.create_secret(Name=name, SecretString=json.dumps(value))

    def start_rotation(self, name: str) -> str:
        """What Secrets Manager does before createSecret: an empty AWSPENDING version."""
        token = str(uuid.uuid4())
        self.client.rotate_secret(
            SecretId=name,
            ClientRequestToken=token,
            RotationLambdaARN=self.function_arn,
            RotationRules={"AutomaticallyAfterDays": 90},
        )
        return token

    def stage(self, name: str, value: dict[str, Any]) -> str:
        answer = self.client.put_secret_value(
            SecretId=name, SecretString=json.dumps(value), VersionStages=[STAGED]
        )
        return answer["VersionId"]

    def stages(self, name: str) -> dict[str, list[str]]:
        versions = self.client.describe_secret(SecretId=name)["VersionIdsToStages"]
        return {version: labels for version, labels in versions.items() if labels}

    def value(self, name: str, stage: str) -> dict[str, Any]:
        # moto's quirk: without VersionStage it may answer with a stale version.
        return json.loads(
            self.client.get_secret_value(SecretId=name, VersionStage=stage)["SecretString"]
        )

    def labelled(self, name: str, stage: str) -> list[str]:
        return [v for v, labels in self.stages(name).items() if stage in labels]


@pytest.fixture(scope="module")
def aws() -> Iterator[Secrets]:
    with mock_aws(config={"lambda": {"use_docker": False}}):
        yield Secrets()


@pytest.fixture
def secrets(aws: Secrets) -> Iterator[Secrets]:
    yield aws
    for secret in aws.client.list_secrets()["SecretList"]:
        aws.client.delete_secret(SecretId=secret["ARN"], ForceDeleteWithoutRecovery=True)


@pytest.fixture
def check() -> FakeTokenCheck:
    return FakeTokenCheck()


@pytest.fixture
def rotator(secrets, check) -> Rotator:
    return Rotator(SecretVersions(secrets.client), default_kinds(check), clock=lambda: NOW)


def run(rotator: Rotator, name: str, token: str, *steps: str) -> list[str]:
    return [rotator.handle(RotationEvent(name, token, step)).action for step in steps]


def assert_rotated_once(secrets: Secrets, name: str, token: str) -> None:
    assert secrets.labelled(name, "AWSCURRENT") == [token]
    assert len(secrets.labelled(name, "AWSPREVIOUS")) == 1
    assert secrets.labelled(name, "AWSPENDING") == []


# ------------------------------------------------------------------------ the guard


def test_a_secret_without_rotation_enabled_is_refused(secrets, rotator):
    secrets.create(HASH_KEY, {"kind": "hmac", "key": OLD_KEY})
    with pytest.raises(RotationNotEnabled):
        run(rotator, HASH_KEY, str(uuid.uuid4()), CREATE)


@pytest.mark.parametrize("step", STEPS)
def test_a_token_the_secret_does_not_know_is_refused(secrets, rotator, step):
    secrets.create(HASH_KEY, {"kind": "hmac", "key": OLD_KEY})
    secrets.start_rotation(HASH_KEY)
    with pytest.raises(RotationVersionUnknown):
        run(rotator, HASH_KEY, str(uuid.uuid4()), step)


@pytest.mark.parametrize("step", STEPS)
def test_a_token_already_current_returns_at_once(secrets, rotator, step):
    secrets.create(HASH_KEY, {"kind": "hmac", "key": OLD_KEY})
    token = secrets.start_rotation(HASH_KEY)
    run(rotator, HASH_KEY, token, *STEPS)
    before = secrets.stages(HASH_KEY)
    assert run(rotator, HASH_KEY, token, step) == ["already current"]
    assert secrets.stages(HASH_KEY) == before


@pytest.mark.parametrize("step", STEPS)
def test_a_version_that_is_not_pending_is_refused(secrets, rotator, step):
    secrets.create(HASH_KEY, {"kind": "hmac", "key": OLD_KEY})
    token = secrets.start_rotation(HASH_KEY)
    run(rotator, HASH_KEY, token, *STEPS)
    previous = secrets.labelled(HASH_KEY, "AWSPREVIOUS")[0]
    with pytest.raises(RotationVersionNotPending):
        run(rotator, HASH_KEY, previous, step)


def test_the_guard_reads_the_secret_by_arn_as_secret_manager_sends_it(secrets, rotator):
    secrets.create(HASH_KEY, {"kind": "hmac", "key": OLD_KEY})
    arn = secrets.client.describe_secret(SecretId=HASH_KEY)["ARN"]
    token = secrets.start_rotation(HASH_KEY)
    outcome = rotator.handle(RotationEvent(arn, token, CREATE))
    assert (outcome.secret, outcome.action) == (HASH_KEY, "created")


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({}, "SecretId"),
        ({"SecretId": "", "ClientRequestToken": "t", "Step": CREATE}, "SecretId"),
        ({"SecretId": "s", "Step": CREATE}, "ClientRequestToken"),
        ({"SecretId": "s", "ClientRequestToken": 7, "Step": CREATE}, "ClientRequestToken"),
        ({"SecretId": "s", "ClientRequestToken": "t"}, "Step"),
        ({"SecretId": "s", "ClientRequestToken": "t", "Step": "deleteSecret"}, "deleteSecret"),
        ({"SecretId": "s", "ClientRequestToken": "t", "Step": CREATE, "RotationToken": 1}, "Rot"),
    ],
)
def test_an_event_that_is_not_a_rotation_event_is_rejected(event, field):
    from sekisho.rotation.errors import RotationEventInvalid  # noqa: PLC0415

    with pytest.raises(RotationEventInvalid) as caught:
        RotationEvent.from_event(event)
    assert caught.value.status == 400
    assert field in str(caught.value)


def test_a_rotation_event_keeps_its_rotation_token():
    event = RotationEvent.from_event(
        {"SecretId": "s", "ClientRequestToken": "t", "Step": TEST, "RotationToken": "r"}
    )
    assert event == RotationEvent("s", "t", TEST, "r")


# ------------------------------------------------------------------------------ hmac


def test_each_step_twice_with_one_token_leaves_one_current_one_previous_no_pending(
    secrets, rotator
):
    secrets.create(HASH_KEY, {"kind": "hmac", "key": OLD_KEY})
    token = secrets.start_rotation(HASH_KEY)
    actions = run(rotator, HASH_KEY, token, CREATE, CREATE, SET, SET, TEST, TEST, FINISH, FINISH)
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
    assert_rotated_once(secrets, HASH_KEY, token)
    assert secrets.value(HASH_KEY, "AWSPREVIOUS") == {"kind": "hmac", "key": OLD_KEY}


def test_the_whole_rotation_twice_with_one_token_rotates_once(secrets, rotator):
    secrets.create(HASH_KEY, {"kind": "hmac", "key": OLD_KEY})
    token = secrets.start_rotation(HASH_KEY)
    run(rotator, HASH_KEY, token, *STEPS)
    first = secrets.value(HASH_KEY, "AWSCURRENT")
    assert run(rotator, HASH_KEY, token, *STEPS) == ["already current"] * 4
    assert secrets.value(HASH_KEY, "AWSCURRENT") == first
    assert_rotated_once(secrets, HASH_KEY, token)


@pytest.mark.parametrize("field", ["key", "secret"])
def test_an_hmac_rotation_makes_a_new_key_keeps_other_fields_and_says_when(secrets, rotator, field):
    secrets.create(HASH_KEY, {"kind": "hmac", field: OLD_KEY, "note": "kept"})
    token = secrets.start_rotation(HASH_KEY)
    run(rotator, HASH_KEY, token, *STEPS)
    new = secrets.value(HASH_KEY, "AWSCURRENT")
    assert set(new) == {"kind", field, "note", "rotated_at"}
    assert new["note"] == "kept"
    assert new["rotated_at"] == NOW
    assert new[field] != OLD_KEY
    assert len(new[field]) >= 64


def test_two_rotations_make_two_different_keys(secrets, rotator):
    secrets.create(HASH_KEY, {"kind": "hmac", "key": OLD_KEY})
    keys = []
    for _ in range(2):
        run(rotator, HASH_KEY, secrets.start_rotation(HASH_KEY), *STEPS)
        keys.append(secrets.value(HASH_KEY, "AWSCURRENT")["key"])
    assert len({OLD_KEY, *keys}) == 3
    assert secrets.value(HASH_KEY, "AWSPREVIOUS")["key"] == keys[0]


def test_test_secret_runs_on_its_own_in_a_fresh_container(secrets, check):
    secrets.create(HASH_KEY, {"kind": "hmac", "key": OLD_KEY})
    token = secrets.start_rotation(HASH_KEY)
    first = Rotator(SecretVersions(secrets.client), default_kinds(check), clock=lambda: NOW)
    run(first, HASH_KEY, token, CREATE)
    fresh = Rotator(SecretVersions(secrets.client), default_kinds(check), clock=lambda: NOW)
    assert run(fresh, HASH_KEY, token, TEST) == ["tested"]
    assert secrets.labelled(HASH_KEY, "AWSPENDING") == [token]


@pytest.mark.parametrize("step", [TEST, FINISH])
def test_testing_or_finishing_before_create_is_refused(secrets, rotator, step):
    secrets.create(HASH_KEY, {"kind": "hmac", "key": OLD_KEY})
    token = secrets.start_rotation(HASH_KEY)
    with pytest.raises(PendingValueMissing):
        run(rotator, HASH_KEY, token, step)
    assert secrets.value(HASH_KEY, "AWSCURRENT")["key"] == OLD_KEY


@pytest.mark.parametrize(
    "value",
    [
        {"key": OLD_KEY},
        {"kind": "password", "key": OLD_KEY},
        {"kind": ["hmac"], "key": OLD_KEY},
    ],
)
def test_a_secret_of_unknown_or_missing_kind_is_not_rotated(secrets, rotator, value):
    secrets.create(HASH_KEY, value)
    token = secrets.start_rotation(HASH_KEY)
    with pytest.raises(SecretKindUnknown):
        run(rotator, HASH_KEY, token, CREATE)


def test_an_hmac_secret_without_a_key_field_is_not_rotated(secrets, rotator):
    secrets.create(HASH_KEY, {"kind": "hmac", "password": OLD_KEY})
    token = secrets.start_rotation(HASH_KEY)
    with pytest.raises(SecretShapeInvalid):
        run(rotator, HASH_KEY, token, CREATE)


def test_a_pending_value_that_is_not_json_fails_the_test_without_showing_it(secrets, rotator):
    secrets.create(HASH_KEY, {"kind": "hmac", "key": OLD_KEY})
    token = secrets.start_rotation(HASH_KEY)
    secrets.client.put_secret_value(
        SecretId=HASH_KEY,
        ClientRequestToken=token,
        SecretString="not-json-secret-material",
        VersionStages=["AWSPENDING"],
    )
    with pytest.raises(SecretShapeInvalid) as caught:
        run(rotator, HASH_KEY, token, TEST)
    assert "secret-material" not in str(caught.value)
    assert caught.value.__cause__ is None


def test_the_rotation_token_of_the_event_reaches_put_secret_value(secrets, check):
    calls: list[dict[str, Any]] = []

    class Recording:
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self._inner, name)

        def put_secret_value(self, **params: Any) -> Any:
            calls.append(params)
            return self._inner.put_secret_value(**params)

    secrets.create(HASH_KEY, {"kind": "hmac", "key": OLD_KEY})
    token = secrets.start_rotation(HASH_KEY)
    rotator = Rotator(SecretVersions(Recording(secrets.client)), default_kinds(check))
    rotator.handle(RotationEvent(HASH_KEY, token, CREATE, rotation_token=ROTATION_TOKEN))
    assert calls[0]["RotationToken"] == ROTATION_TOKEN
    assert calls[0]["ClientRequestToken"] == token
    assert calls[0]["VersionStages"] == ["AWSPENDING"]


# --------------------------------------------------------------------- kintone-token


def test_nothing_staged_fails_create_with_the_operators_reminder(secrets, rotator):
    secrets.create(VIEW_TOKEN, {"kind": "kintone-token", "token": "old-token"})
    token = secrets.start_rotation(VIEW_TOKEN)
    with pytest.raises(NothingStaged) as caught:
        run(rotator, VIEW_TOKEN, token, CREATE)
    assert str(caught.value) == (
        f"no token staged for {VIEW_TOKEN}: stage one with `sekisho token stage {VIEW_TOKEN}`"
    )
    assert secrets.value(VIEW_TOKEN, "AWSCURRENT")["token"] == "old-token"


def test_a_staged_token_equal_to_the_current_one_is_refused(secrets, rotator):
    secrets.create(VIEW_TOKEN, {"kind": "kintone-token", "token": "old-token"})
    secrets.stage(VIEW_TOKEN, {"kind": "kintone-token", "token": "old-token"})
    token = secrets.start_rotation(VIEW_TOKEN)
    with pytest.raises(StagedValueIsCurrent):
        run(rotator, VIEW_TOKEN, token, CREATE)


def test_a_staged_value_of_another_kind_is_refused(secrets, rotator):
    secrets.create(VIEW_TOKEN, {"kind": "kintone-token", "token": "old-token"})
    secrets.stage(VIEW_TOKEN, {"kind": "hmac", "token": "new-token"})
    token = secrets.start_rotation(VIEW_TOKEN)
    with pytest.raises(SecretShapeInvalid):
        run(rotator, VIEW_TOKEN, token, CREATE)


def test_a_proved_staged_token_becomes_current_and_its_staged_label_goes(secrets, rotator, check):
    secrets.create(VIEW_TOKEN, {"kind": "kintone-token", "token": "old-token"})
    secrets.stage(VIEW_TOKEN, {"kind": "kintone-token", "token": "new-token"})
    token = secrets.start_rotation(VIEW_TOKEN)
    actions = run(rotator, VIEW_TOKEN, token, CREATE, CREATE, SET, SET, TEST, TEST, FINISH, FINISH)
    assert actions[-2:] == ["promoted", "already current"]
    assert check.calls == [(VIEW_TOKEN, "new-token")] * 2
    assert secrets.value(VIEW_TOKEN, "AWSCURRENT") == {
        "kind": "kintone-token",
        "token": "new-token",
        "rotated_at": NOW,
    }
    assert secrets.value(VIEW_TOKEN, "AWSPREVIOUS")["token"] == "old-token"
    assert_rotated_once(secrets, VIEW_TOKEN, token)
    assert secrets.labelled(VIEW_TOKEN, STAGED) == []


def test_the_next_scheduled_rotation_fails_loudly_until_a_new_token_is_staged(secrets, rotator):
    secrets.create(VIEW_TOKEN, {"kind": "kintone-token", "token": "old-token"})
    secrets.stage(VIEW_TOKEN, {"kind": "kintone-token", "token": "new-token"})
    run(rotator, VIEW_TOKEN, secrets.start_rotation(VIEW_TOKEN), *STEPS)
    with pytest.raises(NothingStaged):
        run(rotator, VIEW_TOKEN, secrets.start_rotation(VIEW_TOKEN), CREATE)


def test_an_over_privileged_token_fails_the_test_and_never_becomes_current(secrets, rotator, check):
    secrets.create(VIEW_TOKEN, {"kind": "kintone-token", "token": "old-token"})
    secrets.stage(VIEW_TOKEN, {"kind": "kintone-token", "token": "view-and-add-token"})
    check.excess = ("add",)
    token = secrets.start_rotation(VIEW_TOKEN)
    run(rotator, VIEW_TOKEN, token, CREATE, SET)
    with pytest.raises(TokenPrivilegeMismatch) as caught:
        run(rotator, VIEW_TOKEN, token, TEST)
    assert caught.value.report.excess == ("add",)
    assert "view-and-add-token" not in str(caught.value)
    assert secrets.value(VIEW_TOKEN, "AWSCURRENT")["token"] == "old-token"
    assert len(secrets.labelled(VIEW_TOKEN, STAGED)) == 1


def test_a_failed_test_takes_the_pending_label_off_so_a_corrected_token_rotates_next(
    secrets, rotator, check, caplog
):
    secrets.create(VIEW_TOKEN, {"kind": "kintone-token", "token": "old-token"})
    secrets.stage(VIEW_TOKEN, {"kind": "kintone-token", "token": "view-and-add-token"})
    check.excess = ("add",)
    token = secrets.start_rotation(VIEW_TOKEN)
    current = secrets.labelled(VIEW_TOKEN, "AWSCURRENT")
    run(rotator, VIEW_TOKEN, token, CREATE, SET)
    with caplog.at_level("INFO", logger="sekisho.rotation"), pytest.raises(TokenPrivilegeMismatch):
        run(rotator, VIEW_TOKEN, token, TEST)
    assert "removed AWSPENDING from the version that failed testSecret" in caplog.messages
    assert secrets.labelled(VIEW_TOKEN, "AWSPENDING") == []
    assert secrets.labelled(VIEW_TOKEN, "AWSCURRENT") == current
    assert secrets.value(VIEW_TOKEN, "AWSCURRENT")["token"] == "old-token"

    # Secrets Manager retrying that rotation (same token) no longer tests the rejected value.
    # (AWS leaves a version without labels out of DescribeSecret; moto lists it.)
    with pytest.raises((RotationVersionNotPending, RotationVersionUnknown)):
        run(rotator, VIEW_TOKEN, token, CREATE)
    assert check.calls == [(VIEW_TOKEN, "view-and-add-token")]

    # The operator stages a corrected token; the next rotation takes it.
    check.excess = ()
    secrets.stage(VIEW_TOKEN, {"kind": "kintone-token", "token": "view-token"})
    fresh = secrets.start_rotation(VIEW_TOKEN)
    assert run(rotator, VIEW_TOKEN, fresh, *STEPS)[-1] == "promoted"
    assert secrets.value(VIEW_TOKEN, "AWSCURRENT")["token"] == "view-token"
    assert secrets.value(VIEW_TOKEN, "AWSPREVIOUS")["token"] == "old-token"
    assert secrets.labelled(VIEW_TOKEN, "AWSCURRENT") == [fresh]
    assert secrets.labelled(VIEW_TOKEN, "AWSPENDING") == []
    assert check.calls[-1] == (VIEW_TOKEN, "view-token")


def test_a_failed_test_is_reported_even_when_its_pending_label_cannot_be_removed(
    secrets, check, caplog
):
    class NoLabelMoves:
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self._inner, name)

        def update_secret_version_stage(self, **params: Any) -> Any:
            raise secrets.client.exceptions.InternalServiceError(
                {"Error": {"Code": "InternalServiceError", "Message": "down"}},
                "UpdateSecretVersionStage",
            )

    secrets.create(VIEW_TOKEN, {"kind": "kintone-token", "token": "old-token"})
    secrets.stage(VIEW_TOKEN, {"kind": "kintone-token", "token": "view-and-add-token"})
    check.excess = ("add",)
    token = secrets.start_rotation(VIEW_TOKEN)
    rotator = Rotator(SecretVersions(NoLabelMoves(secrets.client)), default_kinds(check))
    run(rotator, VIEW_TOKEN, token, CREATE, SET)
    with caplog.at_level("INFO", logger="sekisho.rotation"), pytest.raises(TokenPrivilegeMismatch):
        run(rotator, VIEW_TOKEN, token, TEST)
    assert "could not remove AWSPENDING from the version that failed testSecret" in (
        caplog.messages
    )
    assert secrets.labelled(VIEW_TOKEN, "AWSPENDING") == [token]
    assert secrets.value(VIEW_TOKEN, "AWSCURRENT")["token"] == "old-token"


def test_a_token_staged_during_the_rotation_keeps_its_label_for_the_next_one(secrets, rotator):
    secrets.create(VIEW_TOKEN, {"kind": "kintone-token", "token": "old-token"})
    secrets.stage(VIEW_TOKEN, {"kind": "kintone-token", "token": "new-token"})
    token = secrets.start_rotation(VIEW_TOKEN)
    run(rotator, VIEW_TOKEN, token, CREATE, SET, TEST)
    newer = secrets.stage(VIEW_TOKEN, {"kind": "kintone-token", "token": "newer-token"})
    run(rotator, VIEW_TOKEN, token, FINISH)
    assert secrets.value(VIEW_TOKEN, "AWSCURRENT")["token"] == "new-token"
    assert secrets.labelled(VIEW_TOKEN, STAGED) == [newer]


# ----------------------------------------------------------------------- webhook-key


def test_a_staged_box_key_replaces_one_key_and_keeps_the_other(secrets, rotator, check):
    secrets.create(BOX, {"kind": "webhook-key", "primary": "p-old", "secondary": "s-old"})
    secrets.stage(BOX, {"kind": "webhook-key", "primary": "p-new", "secondary": "s-old"})
    token = secrets.start_rotation(BOX)
    outcome = [rotator.handle(RotationEvent(BOX, token, step)) for step in STEPS]
    assert outcome[2].details == ("primary: present", "secondary: present")
    assert secrets.value(BOX, "AWSCURRENT") == {
        "kind": "webhook-key",
        "primary": "p-new",
        "secondary": "s-old",
        "rotated_at": NOW,
    }
    assert check.calls == [], "a sender's key is checked for shape only"
    assert_rotated_once(secrets, BOX, token)


def test_a_staged_box_value_missing_a_key_fails(secrets, rotator):
    secrets.create(BOX, {"kind": "webhook-key", "primary": "p-old", "secondary": "s-old"})
    secrets.stage(BOX, {"kind": "webhook-key", "primary": "p-new"})
    token = secrets.start_rotation(BOX)
    with pytest.raises(SecretShapeInvalid):
        run(rotator, BOX, token, CREATE)


def test_a_box_app_using_only_its_primary_key_rotates_from_the_template_placeholder(
    secrets, rotator
):
    # The template's placeholder has both keys empty; Box may be set up with one.
    secrets.create(BOX, {"kind": "webhook-key", "primary": "", "secondary": ""})
    secrets.stage(BOX, {"kind": "webhook-key", "primary": "p-new", "secondary": ""})
    token = secrets.start_rotation(BOX)
    assert run(rotator, BOX, token, *STEPS)[-1] == "promoted"
    assert secrets.value(BOX, "AWSCURRENT")["primary"] == "p-new"


def test_a_staged_box_value_with_both_keys_empty_fails(secrets, rotator):
    secrets.create(BOX, {"kind": "webhook-key", "primary": "p-old", "secondary": ""})
    secrets.stage(BOX, {"kind": "webhook-key", "primary": "", "secondary": ""})
    token = secrets.start_rotation(BOX)
    with pytest.raises(SecretShapeInvalid):
        run(rotator, BOX, token, CREATE)


def test_a_staged_captcha_secret_is_rotated_like_a_sender_key(secrets, rotator, check):
    name = "sekisho/captcha/seminar-apply"
    secrets.create(name, {"kind": "captcha", "secret": "old-siteverify"})
    secrets.stage(name, {"kind": "captcha", "secret": "new-siteverify"})
    token = secrets.start_rotation(name)
    run(rotator, name, token, *STEPS)
    assert secrets.value(name, "AWSCURRENT")["secret"] == "new-siteverify"
    assert check.calls == []
    assert_rotated_once(secrets, name, token)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (VIEW_TOKEN, {"kind": "kintone-token", "token": ""}),  # a placeholder not filled in yet
        (HASH_KEY, {"kind": "hmac", "key": OLD_KEY}),
    ],
)
def test_secrets_managers_test_of_a_new_schedule_passes_without_probing(
    secrets, rotator, check, name, value
):
    # A RotationSchedule with RotateImmediatelyOnUpdate false: Secrets Manager puts a copy
    # of the current value at AWSPENDING and runs testSecret alone.
    secrets.create(name, value)
    token = secrets.start_rotation(name)
    secrets.client.put_secret_value(
        SecretId=name,
        ClientRequestToken=token,
        SecretString=json.dumps(value),
        VersionStages=["AWSPENDING"],
    )
    assert run(rotator, name, token, TEST) == ["configuration test: value unchanged"]
    assert check.calls == []
    assert secrets.value(name, "AWSCURRENT") == value


# ------------------------------------------------------------------------- metrics


def test_the_function_counts_a_rotation_once_at_its_finish_and_not_its_retried_finish(
    secrets, check
):
    counted: list[str] = []
    rotator = Rotator(SecretVersions(secrets.client), default_kinds(check), count=counted.append)
    secrets.create(HASH_KEY, {"kind": "hmac", "key": OLD_KEY})
    token = secrets.start_rotation(HASH_KEY)
    run(rotator, HASH_KEY, token, *STEPS, FINISH)
    assert counted == ["rotated"]


def test_the_function_counts_a_step_that_fails(secrets, check):
    counted: list[str] = []
    rotator = Rotator(SecretVersions(secrets.client), default_kinds(check), count=counted.append)
    secrets.create(VIEW_TOKEN, {"kind": "kintone-token", "token": "old-token"})
    secrets.stage(VIEW_TOKEN, {"kind": "kintone-token", "token": "new-token"})
    check.excess = ("add",)
    token = secrets.start_rotation(VIEW_TOKEN)
    run(rotator, VIEW_TOKEN, token, CREATE, SET)
    with pytest.raises(TokenPrivilegeMismatch):
        run(rotator, VIEW_TOKEN, token, TEST)
    assert counted == ["failed"]


def test_the_rotate_functions_counts_are_the_rotations_metric(capsys):
    metrics.rotation(metrics.ROTATED)
    metrics.rotation(metrics.FAILED)
    assert [(m.unit, m.dimensions) for m in named(capsys.readouterr().out, "Rotations")] == [
        ("Count", {"service": "sekisho", "outcome": "rotated"}),
        ("Count", {"service": "sekisho", "outcome": "failed"}),
    ]


def test_an_operators_rotator_counts_nothing(secrets, rotator, capsys):
    secrets.create(HASH_KEY, {"kind": "hmac", "key": OLD_KEY})
    run(rotator, HASH_KEY, secrets.start_rotation(HASH_KEY), *STEPS)
    assert named(capsys.readouterr().out, "Rotations") == []
