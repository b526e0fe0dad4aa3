"""`sekisho token stage` and `python -m devstack rotate` (what `make rotate` runs) on the
local stack: moto's server (reached through AWS_ENDPOINT_URL, as in `make dev`) and the
kintone emulator, probed for real."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from devstack.__main__ import main as devstack
from devstack.operator_env import AWS_IDENTITY_VARIABLES
from sekisho.kintone import client as kintone_client
from sekisho.rotation.cli import add_token
from sekisho.rotation.versions import STAGED
from sekisho.secrets.partner_key import new_partner_key, partner_key_bytes

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.emulator


class Stdin(io.StringIO):
    def isatty(self) -> bool:
        return False


class Local:
    """Unique secret names per test (moto's server lives for the whole session), a policy
    naming them, `sekisho token stage` wired as `sekisho.cli` wires it, and
    `python -m devstack rotate` run as its entry point runs it."""

    def __init__(self, moto_url: str, kintone, tmp_path: Path) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.kintone = kintone
        self.add = f"sekisho/kintone/seminar-add-{suffix}"
        self.view = f"sekisho/kintone/deals-view-{suffix}"
        self.hash_key = f"sekisho/guard/hash-key-{suffix}"
        policy = (ROOT / "policy.yaml").read_text(encoding="utf-8")
        policy = policy.replace("sekisho/kintone/seminar-add", self.add)
        policy = policy.replace("sekisho/kintone/deals-view", self.view)
        self.policy = tmp_path / "policy.yaml"
        self.policy.write_text(policy, encoding="utf-8")
        self.sm = boto3.client("secretsmanager", endpoint_url=moto_url)
        self.sm.create_secret(
            Name=self.add,
            SecretString=json.dumps({"kind": "kintone-token", "token": "seminar-add-token"}),
        )
        self.sm.create_secret(
            Name=self.hash_key, SecretString=json.dumps({"kind": "hmac", "key": "h" * 64})
        )

    def sekisho(self, *argv: str, stdin: str = "") -> tuple[int, str]:
        parser = argparse.ArgumentParser(prog="sekisho")
        commands = parser.add_subparsers(required=True)
        add_token(commands)
        args = parser.parse_args(argv)
        out = io.StringIO()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("sys.stdin", Stdin(stdin))
            status = args.handler(args, out)
        return status, out.getvalue()

    @staticmethod
    def devstack_rotate(*argv: str) -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = devstack(["rotate", *argv])
        return status, out.getvalue()

    def rotate(self, name: str) -> tuple[int, str]:
        return self.devstack_rotate(name, "--policy", str(self.policy))

    def kintone_token(
        self, token: str, app: int, permissions: list[str], *, active: bool = True
    ) -> str:
        answer = requests.post(
            f"{self.kintone.url}/_emulator/tokens",
            json={"token": token, "app": app, "permissions": permissions, "active": active},
            timeout=5,
        )
        answer.raise_for_status()
        return token

    def value(self, name: str, stage: str) -> dict[str, Any]:
        answer = self.sm.get_secret_value(SecretId=name, VersionStage=stage)
        return json.loads(answer["SecretString"])

    def labelled(self, name: str, stage: str) -> list[str]:
        versions = self.sm.describe_secret(SecretId=name)["VersionIdsToStages"]
        return [version for version, labels in versions.items() if stage in labels]


@pytest.fixture
def local(moto_url, kintone, tmp_path, monkeypatch) -> Local:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("KINTONE_BASE_URL", kintone.url)
    monkeypatch.setattr(kintone_client, "_breakers", {})
    # What devstack sets for its commands, set here first so the test undoes it after.
    for name in AWS_IDENTITY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    return Local(moto_url, kintone, tmp_path)


def test_a_staged_add_token_is_proved_and_made_current(local):
    token = local.kintone_token("SeminarAddTokenNext", 2, ["add"])
    assert local.sekisho("token", "stage", local.add, stdin=token + "\n")[0] == 0
    status, out = local.rotate(local.add)
    assert status == 0, out
    assert out.splitlines()[0] == f"rotation enabled for {local.add} (local Secrets Manager: " + (
        "the current value was copied to a new version, nothing changed)"
    )
    for line in (
        "createSecret: created",
        "setSecret: nothing to set",
        "testSecret: tested",
        "    add: expected allowed, observed allowed",
        "    view: expected denied, observed denied",
        "finishSecret: promoted",
        f"rotated {local.add}",
    ):
        assert line in out.splitlines()
    assert token not in out
    assert local.value(local.add, "AWSCURRENT")["token"] == token
    assert local.value(local.add, "AWSPREVIOUS")["token"] == "seminar-add-token"
    assert local.labelled(local.add, "AWSPENDING") == []
    assert local.labelled(local.add, STAGED) == []


def test_an_add_token_that_can_also_view_fails_and_never_becomes_current(local):
    token = local.kintone_token("SeminarAddAndViewToken", 2, ["add", "view"])
    local.sekisho("token", "stage", local.add, stdin=token)
    status, out = local.rotate(local.add)
    assert status == 1
    assert "testSecret: failed: token_privilege_mismatch: " in out
    assert "    view: expected denied, observed allowed  <-- MISMATCH" in out.splitlines()
    assert f"{local.add} was not rotated: AWSCURRENT is unchanged" in out
    assert "finishSecret" not in out
    assert token not in out
    assert local.value(local.add, "AWSCURRENT")["token"] == "seminar-add-token"
    # The rejected value loses AWSPENDING: no retry tests it again.
    assert local.labelled(local.add, "AWSPENDING") == []
    assert len(local.labelled(local.add, STAGED)) == 1, "the staged token stays for review"


def test_a_token_kintone_has_not_activated_yet_is_refused_with_a_hint(local):
    token = local.kintone_token("SeminarAddTokenInactive", 2, ["add"], active=False)
    local.sekisho("token", "stage", local.add, stdin=token)
    status, out = local.rotate(local.add)
    assert status == 1
    assert "testSecret: failed: token_invalid: " in out
    assert "the app was updated after the token was created" in out
    assert local.value(local.add, "AWSCURRENT")["token"] == "seminar-add-token"


def test_a_rotation_after_a_failed_one_works(local):
    bad = local.kintone_token("SeminarAddAndViewToken2", 2, ["add", "view"])
    local.sekisho("token", "stage", local.add, stdin=bad)
    assert local.rotate(local.add)[0] == 1
    good = local.kintone_token("SeminarAddTokenFixed", 2, ["add"])
    local.sekisho("token", "stage", local.add, stdin=good)
    status, out = local.rotate(local.add)
    assert status == 0, out
    assert local.value(local.add, "AWSCURRENT")["token"] == good
    assert len(local.labelled(local.add, "AWSCURRENT")) == 1
    assert len(local.labelled(local.add, "AWSPREVIOUS")) == 1
    assert local.labelled(local.add, "AWSPENDING") == []


def test_nothing_staged_fails_with_the_operators_reminder(local):
    status, out = local.rotate(local.add)
    assert status == 1
    assert (
        f"createSecret: failed: nothing_staged: no token staged for {local.add}: "
        f"stage one with `sekisho token stage {local.add}`"
    ) in out.splitlines()
    assert local.value(local.add, "AWSCURRENT")["token"] == "seminar-add-token"


def test_a_token_of_a_route_the_policy_does_not_name_is_not_rotated(local):
    stray = f"sekisho/kintone/stray-{uuid.uuid4().hex[:8]}"
    local.sm.create_secret(
        Name=stray, SecretString=json.dumps({"kind": "kintone-token", "token": "seminar-add-token"})
    )
    token = local.kintone_token("StrayNextToken", 2, ["add"])
    local.sekisho("token", "stage", stray, stdin=token)
    status, out = local.rotate(stray)
    assert status == 1
    assert "testSecret: failed: token_not_declared: " in out
    assert local.value(stray, "AWSCURRENT")["token"] == "seminar-add-token"


def test_an_hmac_key_is_generated_and_the_old_one_kept_as_previous(local):
    status, out = local.rotate(local.hash_key)
    assert status == 0, out
    new = local.value(local.hash_key, "AWSCURRENT")
    assert new["key"] != "h" * 64
    assert new["key"] not in out
    assert local.value(local.hash_key, "AWSPREVIOUS")["key"] == "h" * 64
    status, out = local.rotate(local.hash_key)
    assert status == 0, out
    assert "rotation enabled" not in out, "enabled once, on the first rotation"
    assert local.value(local.hash_key, "AWSPREVIOUS")["key"] == new["key"]


def test_a_partner_key_is_generated_and_the_old_one_kept_as_previous(local):
    partner = f"sekisho/partner/demo-erp-{uuid.uuid4().hex[:8]}"
    first = new_partner_key()
    local.sm.create_secret(
        Name=partner, SecretString=json.dumps({"kind": "partner-key", "secret": first})
    )

    status, out = local.rotate(partner)

    assert status == 0, out
    assert "testSecret: tested\n    secret: a new key of 32 bytes" in out
    new = local.value(partner, "AWSCURRENT")
    assert new["kind"] == "partner-key"
    assert new["secret"] != first
    assert len(partner_key_bytes(new)) == 32
    assert new["secret"] not in out
    assert first not in out
    assert local.value(partner, "AWSPREVIOUS")["secret"] == first


def test_a_policy_that_does_not_load_stops_before_any_step(local, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("kintone: {}\n", encoding="utf-8")
    status, out = local.devstack_rotate(local.hash_key, "--policy", str(broken))
    assert status == 1
    assert out.startswith("error: ")
    assert local.value(local.hash_key, "AWSCURRENT")["key"] == "h" * 64


def test_stage_and_rotate_take_the_declared_name_under_the_stacks_prefix(local):
    prefix = "sekisho-other"
    under = f"{prefix}/{local.add}"
    local.sm.create_secret(
        Name=under,
        SecretString=json.dumps({"kind": "kintone-token", "token": "seminar-add-token"}),
    )
    token = local.kintone_token("SeminarAddTokenOther", 2, ["add"])

    staged = local.sekisho(
        "token", "stage", local.add, "--secret-prefix", prefix, stdin=token + "\n"
    )
    status, out = local.devstack_rotate(
        local.add, "--policy", str(local.policy), "--secret-prefix", prefix
    )

    assert staged[0] == 0, staged[1]
    # Messages name the declared secret: the commands they suggest take it as they are.
    assert f"rotate it in with `make rotate SECRET={local.add}` on the local stack" in staged[1]
    assert f"`aws secretsmanager rotate-secret --secret-id {local.add}` on AWS" in staged[1]
    assert status == 0, out
    assert "testSecret: tested" in out.splitlines()
    assert f"rotated {local.add}" in out.splitlines()
    assert prefix not in staged[1] + out
    assert local.value(under, "AWSCURRENT")["token"] == token
    # The unprefixed secret of the same declared name is another stack's: untouched.
    assert local.value(local.add, "AWSCURRENT")["token"] == "seminar-add-token"
    assert local.labelled(local.add, STAGED) == []
