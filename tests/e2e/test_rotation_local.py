"""Rotation on the local stack (`make dev`): `sekisho token stage` and
`python -m devstack rotate` (`make rotate`) against moto's Secrets Manager and the kintone
emulator, with the relay serving all along.

- a renewed add-only token becomes current while applications keep being recorded, even
  with the old token deleted in kintone right after the rotation;
- a staged token that can do more (or less) than declared never becomes current;
- a rotated kintone webhook URL token still lets kintone's notifications in, as the
  previous version, during the grace period;
- a rotation with nothing staged fails loudly and changes nothing;
- the guard's hash key rotates with no operator and lookups keep answering.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
import yaml

from devstack import stack as devstack
from devstack.__main__ import main as devstack_main
from devstack.kintone_tokens import create_token
from devstack.operator_env import AWS_IDENTITY_VARIABLES, operator_environment
from devstack.provision import LOCAL_SECRET_PREFIX
from devstack.queue_report import peek
from devstack.stack import RunningStack
from kintone_emulator.schema import load_seed
from sekisho.cli import main as sekisho
from sekisho.kintone.client import KintoneClient, TokenSource
from sekisho.secrets.names import prefixed
from sekisho.secrets.partner_key import partner_key_bytes

REPO = Path(__file__).resolve().parents[2]
SEMINAR_ADD = "sekisho/kintone/seminar-add"
DEMO_KINTONE = "sekisho/webhook/demo-kintone"
HASH_KEY = "sekisho/guard/hash-key"
PARTNER_KEY = "sekisho/partner/demo-erp"
APPLICATION = {"fields": {"name": "山田 花子", "email": "hanako@example.com", "seats": 2}}
LOOKUP = {"match": {"owner_id": "A1", "deal_id": "D000001"}}
SEED_TOKENS = [token.token for token in load_seed().tokens]
# Enough to show each phase of a rotation is served, few enough to stay quick.
PER_PHASE = 3


class Stdin(io.StringIO):
    """A pipe, not a terminal: `sekisho token stage` reads it whole."""

    def isatty(self) -> bool:
        return False


def eventually(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def policy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped policy with the form's per-IP limit opened: every application of these
    tests comes from 127.0.0.1, and the limit is not what is under test."""
    policy = yaml.safe_load((REPO / "policy.yaml").read_text(encoding="utf-8"))
    policy["forms"]["seminar-apply"]["guard"] = {"per_ip": "1000000/hour"}
    path = tmp_path_factory.mktemp("rotation") / "policy.yaml"
    path.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def stack(policy_file: Path) -> Iterator[RunningStack]:
    # Nothing pumps WebhookQueue: its events stay there for the test to read.
    with devstack.start(repo_root=REPO, policy=policy_file, pump=False) as running:
        yield running


@pytest.fixture(scope="module")
def secretsmanager(stack: RunningStack) -> Any:
    """moto's Secrets Manager by declared names, under the local stack's prefix."""
    return prefixed(aws(stack, "secretsmanager"), LOCAL_SECRET_PREFIX)


def aws(stack: RunningStack, service: str) -> Any:
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="ap-northeast-1"
    ).client(service, endpoint_url=stack.moto_url)


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


@pytest.fixture
def operator(
    stack: RunningStack, policy_file: Path, monkeypatch: pytest.MonkeyPatch
) -> RunningStack:
    """This process set up as `eval "$(python -m devstack env)"` sets up a shell."""
    for name in AWS_IDENTITY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in operator_environment(stack.moto_url, stack.kintone.url, policy_file).items():
        monkeypatch.setenv(name, value)
    return stack


def run_sekisho(
    capsys: pytest.CaptureFixture[str], *argv: str, stdin: str | None = None
) -> tuple[int, str]:
    with pytest.MonkeyPatch.context() as patch:
        if stdin is not None:
            patch.setattr("sys.stdin", Stdin(stdin))
        status = sekisho(list(argv))
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def run_rotate(capsys: pytest.CaptureFixture[str], secret: str) -> tuple[int, str]:
    """`python -m devstack rotate SECRET`, in this process."""
    status = devstack_main(["rotate", secret])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def value(secretsmanager: Any, name: str, stage: str) -> dict[str, Any]:
    # Always with VersionStage: moto does not move its default version with the labels.
    answer = secretsmanager.get_secret_value(SecretId=name, VersionStage=stage)
    return json.loads(answer["SecretString"])


def labels(secretsmanager: Any, name: str) -> dict[str, list[str]]:
    """Each label and the versions that carry it."""
    stages = secretsmanager.describe_secret(SecretId=name)["VersionIdsToStages"]
    carried: dict[str, list[str]] = {}
    for version, names in stages.items():
        for label in names:
            carried.setdefault(label, []).append(version)
    return carried


def applications(stack: RunningStack) -> int:
    """How many records the seminar app holds, read with the seed's view token (the relay
    itself holds no token that can read this app)."""
    client = KintoneClient(stack.kintone.url, TokenSource.fixed("seminar-view-token"))
    return len(client.get_records(2, "limit 500", fields=["$id"]).records)


class Applicants:
    """Applications sent one after another through the local API until stopped, each
    noted with the phase of the rotation it was sent in."""

    def __init__(self, stack: RunningStack) -> None:
        self._url = f"{stack.router_url}/forms/seminar-apply"
        self.phase = "before"
        self.answers: list[tuple[str, int | str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._apply, daemon=True)

    def _apply(self) -> None:
        with requests.Session() as session:
            session.trust_env = False
            while not self._stop.is_set():
                phase = self.phase
                try:
                    status: int | str = session.post(
                        self._url, json=APPLICATION, timeout=30
                    ).status_code
                except requests.RequestException as exc:
                    status = type(exc).__name__
                self.answers.append((phase, status))

    def sent_in(self, phase: str) -> int:
        return sum(1 for sent, _ in self.answers if sent == phase)

    def __enter__(self) -> Applicants:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


def shell(stack: RunningStack, policy_file: Path, script: str) -> subprocess.CompletedProcess:
    """`script` in bash after `eval "$(python -m devstack env ...)"`, as an operator runs it
    (python and sekisho from this virtualenv)."""
    moto_port = stack.moto_url.rsplit(":", 1)[1]
    kintone_port = stack.kintone.url.rsplit(":", 1)[1]
    python, bin_dir = sys.executable, Path(sys.executable).parent
    env_lines = (
        f'"{python}" -m devstack env --moto-port {moto_port} --kintone-port {kintone_port} '
        f'--policy "{policy_file}"'
    )
    return subprocess.run(
        ["/bin/bash", "-c", f'set -o pipefail; eval "$({env_lines})" && {script}'],
        env={
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "KINTONE_PORT": kintone_port,
            "MOTO_PORT": moto_port,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# -- (a) a renewed kintone token ---------------------------------------------------------


def refused_by_kintone(stack: RunningStack) -> int:
    """How many kintone API requests the emulator has answered 400 (GAIA_IA02 among them)."""
    return int(stack.kintone.emulator.controls.stats()["by_status"].get("400", 0))


def test_a_renewed_add_token_becomes_current_and_no_application_fails_across_the_switch(
    stack: RunningStack, policy_file: Path, secretsmanager: Any
) -> None:
    old = value(secretsmanager, SEMINAR_ADD, "AWSCURRENT")
    recorded_before = applications(stack)

    # docs/rotation.md's renewal, verbatim, with the old token deleted at once rather than after
    # the cache TTL, so the warm intake worker still holds it when kintone refuses it.
    with Applicants(stack) as applicants:
        eventually(lambda: applicants.sent_in("before") >= PER_PHASE)
        applicants.phase = "rotating"
        rotation = shell(
            stack,
            policy_file,
            "python -m devstack kintone-token --app 2 --permissions add "
            f"| sekisho token stage {SEMINAR_ADD} && python -m devstack rotate {SEMINAR_ADD}",
        )
        applicants.phase = "retiring"
        refused_before_retiring = refused_by_kintone(stack)
        retiring = shell(stack, policy_file, f"python -m devstack retire-token {SEMINAR_ADD}")
        applicants.phase = "retired"
        eventually(lambda: applicants.sent_in("retired") >= PER_PHASE)

    assert rotation.returncode == 0, rotation.stdout + rotation.stderr
    assert retiring.returncode == 0, retiring.stdout + retiring.stderr
    assert [answer for answer in applicants.answers if answer[1] != 201] == []
    assert applicants.sent_in("rotating") >= 1
    assert applications(stack) - recorded_before == len(applicants.answers)
    # One warm intake worker: kintone refused its cached old token once (GAIA_IA02), it
    # re-read the secret and recorded the application with the new one.
    assert refused_by_kintone(stack) - refused_before_retiring == 1

    carried = labels(secretsmanager, SEMINAR_ADD)
    assert (len(carried["AWSCURRENT"]), len(carried["AWSPREVIOUS"])) == (1, 1)
    assert "AWSPENDING" not in carried
    assert "SEKISHO_STAGED" not in carried
    new = value(secretsmanager, SEMINAR_ADD, "AWSCURRENT")
    assert value(secretsmanager, SEMINAR_ADD, "AWSPREVIOUS")["token"] == old["token"]
    assert new["kind"] == "kintone-token"
    assert new["token"] != old["token"]
    assert isinstance(new["rotated_at"], int)
    token = stack.kintone.emulator.store.token(new["token"])
    assert token is not None
    assert (token.app, token.permissions) == (2, frozenset({"add"}))
    assert stack.kintone.emulator.store.token(old["token"]) is None

    shown = rotation.stdout + rotation.stderr + retiring.stdout + retiring.stderr
    assert "rotated sekisho/kintone/seminar-add" in shown
    assert "deleted the AWSPREVIOUS token of sekisho/kintone/seminar-add" in shown
    assert not [t for t in (*SEED_TOKENS, old["token"], new["token"]) if t in shown]


# -- (b) a token with other permissions than declared ------------------------------------


# The form's token must add and nothing else; each row is a token an operator might stage
# by mistake, and what testSecret must find wrong with it.
WRONG_TOKENS = [
    pytest.param((["add", "view"], "excess ['view'], missing []"), id="add_that_can_also_view"),
    pytest.param((["add", "edit"], "excess ['edit'], missing []"), id="add_that_can_also_edit"),
    pytest.param((["add", "delete"], "excess ['delete']"), id="add_that_can_also_delete"),
    pytest.param((["add", "manage"], "excess ['manage']"), id="add_with_app_management"),
    pytest.param((["view"], "excess ['view'], missing ['add']"), id="view_instead_of_add"),
]


@pytest.mark.parametrize("case", WRONG_TOKENS)
def test_a_staged_token_with_other_permissions_fails_its_test_and_never_becomes_current(
    operator: RunningStack,
    secretsmanager: Any,
    http: requests.Session,
    capsys: pytest.CaptureFixture[str],
    case: tuple[list[str], str],
) -> None:
    permissions, mismatch = case
    before = secretsmanager.get_secret_value(SecretId=SEMINAR_ADD, VersionStage="AWSCURRENT")
    token = create_token(http, operator.kintone.url, 2, permissions)

    staged, stage_output = run_sekisho(capsys, "token", "stage", SEMINAR_ADD, stdin=token + "\n")
    status, output = run_rotate(capsys, SEMINAR_ADD)

    assert staged == 0, stage_output
    assert status == 1, output
    assert "testSecret: failed: token_privilege_mismatch" in output
    assert mismatch in output
    assert "AWSCURRENT is unchanged" in output
    after = secretsmanager.get_secret_value(SecretId=SEMINAR_ADD, VersionStage="AWSCURRENT")
    assert after["SecretString"] == before["SecretString"]
    assert token not in stage_output + output
    answer = http.post(f"{operator.router_url}/forms/seminar-apply", json=APPLICATION, timeout=30)
    assert answer.status_code == 201


# -- (c) kintone's webhook URL token -----------------------------------------------------


def registered_token(stack: RunningStack) -> str:
    """The token in the URL the emulator posts its notifications to (a test may look)."""
    (registration,) = stack.kintone.emulator.webhooks.registrations()
    return parse_qs(urlsplit(registration["url"]).query)["token"][0]


def deliveries(stack: RunningStack) -> tuple[int, int]:
    (registration,) = stack.kintone.emulator.webhooks.registrations()
    return int(registration["delivered"]), int(registration["failed"])


def queued_events(stack: RunningStack) -> list[dict[str, Any]]:
    sqs = aws(stack, "sqs")
    return [json.loads(m["Body"]) for m in peek(sqs, stack.queue("WebhookQueue").url)]


def test_a_rotated_kintone_url_token_lets_kintones_notifications_in_during_the_grace_period(
    operator: RunningStack,
    secretsmanager: Any,
    http: requests.Session,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old = value(secretsmanager, DEMO_KINTONE, "AWSCURRENT")
    assert registered_token(operator) == old["secret"]
    delivered, failed = deliveries(operator)

    status, output = run_rotate(capsys, DEMO_KINTONE)

    assert status == 0, output
    new = value(secretsmanager, DEMO_KINTONE, "AWSCURRENT")
    assert new["kind"] == "hmac"
    assert new["secret"] != old["secret"]
    assert abs(time.time() - new["rotated_at"]) < 600
    assert value(secretsmanager, DEMO_KINTONE, "AWSPREVIOUS")["secret"] == old["secret"]
    assert old["secret"] not in output
    assert new["secret"] not in output
    # kintone still has the old URL. No notification reached the webhook function before
    # in this module, so it reads the new current key, which the old token does not match:
    # the delivery passes only as AWSPREVIOUS, inside the grace period the new
    # version's rotated_at opened.
    added = http.post(
        f"{operator.kintone.url}/k/v1/record.json",
        json={"app": 1, "record": {"取引ID": {"value": "D000950"}, "取引名": {"value": "更新後"}}},
        headers={"X-Cybozu-API-Token": "deals-add-token"},
        timeout=10,
    ).json()
    eventually(lambda: sum(deliveries(operator)) == delivered + failed + 1)

    assert deliveries(operator) == (delivered + 1, failed)
    events = [event for event in queued_events(operator) if event["source"] == "demo-kintone"]
    assert [(event["record_id"], event["refetched"]) for event in events] == [(added["id"], True)]
    assert registered_token(operator) == old["secret"]


# -- (d) nothing staged ------------------------------------------------------------------


@pytest.mark.parametrize(
    "secret",
    [
        "sekisho/kintone/deals-view",  # kintone-token
        "sekisho/webhook/demo-github",  # webhook-key
        "sekisho/webhook/demo-box",  # webhook-key with two keys
    ],
)
def test_a_rotation_with_nothing_staged_fails_loudly_and_changes_nothing(
    operator: RunningStack,
    secretsmanager: Any,
    capsys: pytest.CaptureFixture[str],
    secret: str,
) -> None:
    before = secretsmanager.get_secret_value(SecretId=secret, VersionStage="AWSCURRENT")

    status, output = run_rotate(capsys, secret)

    assert status == 1
    assert "createSecret: failed: nothing_staged" in output
    assert f"sekisho token stage {secret}" in output
    assert f"{secret} was not rotated: AWSCURRENT is unchanged" in output
    # The first local rotation of a secret turns rotation on in moto, which copies the
    # current value to a new version (docs/rotation.md: `make rotate` on the local stack); the
    # value is what must not change.
    after = secretsmanager.get_secret_value(SecretId=secret, VersionStage="AWSCURRENT")
    assert after["SecretString"] == before["SecretString"]
    assert "AWSPENDING" not in labels(secretsmanager, secret)


# -- (e) the guard's hash key ------------------------------------------------------------


def test_the_guards_hash_key_rotates_without_an_operator_and_lookups_keep_answering(
    operator: RunningStack,
    secretsmanager: Any,
    http: requests.Session,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old = value(secretsmanager, HASH_KEY, "AWSCURRENT")

    status, output = run_rotate(capsys, HASH_KEY)

    assert status == 0, output
    new = value(secretsmanager, HASH_KEY, "AWSCURRENT")
    assert (new["kind"], len(new["key"])) == ("hmac", 64)
    assert new["key"] != old["key"]
    assert old["key"] not in output
    assert new["key"] not in output
    answer = http.post(f"{operator.router_url}/views/deal-status", json=LOOKUP, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["records"]


# -- (f) a partner's key -----------------------------------------------------------------


def test_make_rotate_renews_the_demo_partners_key_and_keeps_the_old_one_as_previous(
    operator: RunningStack,
    secretsmanager: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old = value(secretsmanager, PARTNER_KEY, "AWSCURRENT")
    assert len(partner_key_bytes(old)) == 32, "the stack seeds a usable key"

    status, output = run_rotate(capsys, PARTNER_KEY)

    assert status == 0, output
    new = value(secretsmanager, PARTNER_KEY, "AWSCURRENT")
    assert new["kind"] == "partner-key"
    assert new["secret"] != old["secret"]
    assert len(partner_key_bytes(new)) == 32
    assert new["rotated_at"] == pytest.approx(time.time(), abs=60)
    assert value(secretsmanager, PARTNER_KEY, "AWSPREVIOUS")["secret"] == old["secret"]
    assert old["secret"] not in output
    assert new["secret"] not in output
