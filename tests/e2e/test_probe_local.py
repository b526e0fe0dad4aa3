"""`sekisho probe` on the local stack (`make dev`): every kintone token the policy names is
read from moto and probed in the emulator, the table shows route × permission, and a
token that can do more (or less) than declared makes it exit non-zero, naming the excess.
No token value ever reaches the output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from devstack import stack as devstack
from devstack.kintone_tokens import create_token
from devstack.operator_env import AWS_IDENTITY_VARIABLES, operator_environment
from devstack.provision import LOCAL_SECRET_PREFIX
from devstack.stack import RunningStack
from kintone_emulator.schema import load_seed
from sekisho.cli import main as sekisho
from sekisho.policy.validation.loader import read_policy
from sekisho.secrets.names import prefixed
from sekisho.tokens import PERMISSIONS, declared_tokens

REPO = Path(__file__).resolve().parents[2]
POLICY_FILE = REPO / "policy.yaml"
DECLARED = declared_tokens(read_policy(POLICY_FILE))
SEMINAR_ADD = "sekisho/kintone/seminar-add"
SEED_TOKENS = [token.token for token in load_seed().tokens]


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    with devstack.start(repo_root=REPO, pump=False) as running:
        yield running


@pytest.fixture(scope="module")
def secretsmanager(stack: RunningStack) -> Any:
    """moto's Secrets Manager by declared names, under the local stack's prefix."""
    return prefixed(
        boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="ap-northeast-1",
        ).client("secretsmanager", endpoint_url=stack.moto_url),
        LOCAL_SECRET_PREFIX,
    )


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


@pytest.fixture
def operator(stack: RunningStack, monkeypatch: pytest.MonkeyPatch) -> RunningStack:
    """This process set up as `eval "$(python -m devstack env)"` sets up a shell."""
    for name in AWS_IDENTITY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in operator_environment(stack.moto_url, stack.kintone.url, POLICY_FILE).items():
        monkeypatch.setenv(name, value)
    return stack


@pytest.fixture
def misconfigure(
    secretsmanager: Any, http: requests.Session, operator: RunningStack
) -> Iterator[Callable[[str, list[str]], str]]:
    """Make a seminar-app token with `permissions` in the emulator and put it straight into
    `secret`'s AWSCURRENT, as a misconfigured operator would (stage + rotate would refuse
    it); the original goes back afterwards."""
    originals: dict[str, str] = {}

    def put(secret: str, permissions: list[str]) -> str:
        token = create_token(http, operator.kintone.url, 2, permissions)
        current = secretsmanager.get_secret_value(SecretId=secret, VersionStage="AWSCURRENT")
        originals.setdefault(secret, current["SecretString"])
        secretsmanager.put_secret_value(
            SecretId=secret, SecretString=json.dumps({"kind": "kintone-token", "token": token})
        )
        return token

    yield put
    for secret, value in originals.items():
        secretsmanager.put_secret_value(SecretId=secret, SecretString=value)


def probed(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = sekisho(["probe"])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def table(output: str) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(route, permission) -> (expected, observed, ok), from the printed table."""
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) == 7 and cells[0] != "route":
            route, _secret, _app, permission, expected, observed, ok = cells
            rows[route, permission] = (expected, observed, ok)
    return rows


def all_tokens(secretsmanager: Any, *extra: str) -> list[str]:
    """Every token value the output must not hold: the seed's, the secrets', and `extra`."""
    current = [
        json.loads(
            secretsmanager.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")[
                "SecretString"
            ]
        )["token"]
        for name in DECLARED
    ]
    return [*SEED_TOKENS, *current, *extra]


def test_probe_prints_every_route_and_permission_as_declared_and_exits_0(
    operator: RunningStack, secretsmanager: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    status, output = probed(capsys)

    assert status == 0, output
    expected = {
        (route, permission): ("allowed", "allowed", "ok")
        if permission in token.permissions
        else ("denied", "denied", "ok")
        for token in DECLARED.values()
        for route in token.routes
        for permission in PERMISSIONS
    }
    assert table(output) == expected
    assert output.rstrip().endswith(
        f"ok: {len(DECLARED)} tokens have exactly the declared permissions at "
        f"{operator.kintone.url}"
    )
    assert not [token for token in all_tokens(secretsmanager) if token in output]


# A form's token must add and do nothing else; each row is a token an operator might
# mistakenly put in its place, and what the probe must say about it.
MISCONFIGURED = [
    pytest.param((["add", "view"], {"view"}, "excess view"), id="add_token_that_can_also_view"),
    pytest.param(
        (["add", "edit", "delete"], {"edit", "delete"}, "excess edit, delete"),
        id="add_edit_delete",
    ),
    pytest.param((["add", "manage"], {"manage"}, "excess manage"), id="add_and_app_management"),
    pytest.param(
        (["view"], {"view", "add"}, "excess view; missing add"), id="view_token_instead_of_add"
    ),
    pytest.param(([], {"add"}, "missing add"), id="token_with_no_permission"),
]


@pytest.mark.parametrize("case", MISCONFIGURED)
def test_a_token_with_other_permissions_than_declared_fails_the_probe_and_is_named(
    misconfigure: Callable[[str, list[str]], str],
    secretsmanager: Any,
    capsys: pytest.CaptureFixture[str],
    case: tuple[list[str], set[str], str],
) -> None:
    permissions, failing, summary = case
    token = misconfigure(SEMINAR_ADD, permissions)

    status, output = probed(capsys)

    assert status == 1, output
    rows = table(output)
    assert {permission for (route, permission), row in rows.items() if row[2] == "FAIL"} == failing
    assert {route for (route, _), row in rows.items() if row[2] == "FAIL"} == {
        "forms.seminar-apply"
    }
    assert f"FAIL: {SEMINAR_ADD} (app 2): {summary}" in output.splitlines()
    assert f"1 of {len(DECLARED)} tokens FAILED" in output
    assert not [value for value in all_tokens(secretsmanager, token) if value in output]


def test_a_token_deleted_in_kintone_fails_the_probe_as_invalid(
    misconfigure: Callable[[str, list[str]], str],
    http: requests.Session,
    stack: RunningStack,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = misconfigure(SEMINAR_ADD, ["add"])
    http.delete(
        f"{stack.kintone.url}/_emulator/tokens", json={"token": token}, timeout=10
    ).raise_for_status()

    status, output = probed(capsys)

    assert status == 1
    assert {
        row[1] for (route, _), row in table(output).items() if route == "forms.seminar-apply"
    } == {"invalid_token"}
    assert "GAIA_IA02" in output
    assert token not in output


def test_the_shell_lines_of_devstack_env_are_all_sekisho_probe_needs(
    stack: RunningStack, tmp_path: Path
) -> None:
    bin_dir = Path(sys.executable).parent
    moto_port = stack.moto_url.rsplit(":", 1)[1]
    kintone_port = stack.kintone.url.rsplit(":", 1)[1]
    script = (
        f'eval "$("{sys.executable}" -m devstack env --moto-port {moto_port} '
        f'--kintone-port {kintone_port} --policy "{POLICY_FILE}")" && "{bin_dir}/sekisho" probe'
    )
    # A developer's shell: a real profile that must not be used, no region, another cwd.
    shell = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "AWS_PROFILE": "production"}

    done = subprocess.run(
        ["/bin/bash", "-c", script],
        env=shell,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"ok: {len(DECLARED)} tokens have exactly the declared permissions" in done.stdout
