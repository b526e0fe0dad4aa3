"""Rotation on the local stack, the parts that need no running stack: every demo secret
says the kind the rotation goes by, `python -m devstack env` points sekisho's commands at
moto and the emulator and at nothing else, and the banner says how to renew a token."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from devstack import commands, demo_secrets
from devstack.__main__ import main
from devstack.cli import _parser
from devstack.demo_secrets import load_secrets_file, secret_strings
from devstack.operator_env import AWS_IDENTITY_VARIABLES, operator_environment, shell_lines
from devstack.rotation_commands import banner_lines
from kintone_emulator.schema import load_seed
from sekisho.policy.validation.loader import read_policy
from sekisho.rotation import kinds as rotation
from sekisho.secrets.partner_key import partner_key_bytes
from sekisho.tokens import declared_tokens

REPO = Path(__file__).resolve().parents[2]
POLICY = read_policy(REPO / "policy.yaml")


def demo_values() -> dict[str, dict[str, str]]:
    strings = secret_strings(load_secrets_file(), load_seed())
    return {name: json.loads(value) for name, value in strings.items()}


# -- the demo secrets' kinds -------------------------------------------------------------


def test_the_kinds_spelled_out_by_the_stack_are_the_rotations() -> None:
    assert (
        demo_secrets.KINTONE_TOKEN,
        demo_secrets.HMAC,
        demo_secrets.WEBHOOK_KEY,
        demo_secrets.PARTNER_KEY,
    ) == (rotation.KINTONE_TOKEN, rotation.HMAC, rotation.WEBHOOK_KEY, rotation.PARTNER_KEY)


def test_every_demo_secret_says_a_kind_the_rotation_knows() -> None:
    known = set(rotation.default_kinds(lambda name, value: ()))

    kinds = {name: value.get("kind") for name, value in demo_values().items()}

    assert set(kinds.values()) <= known, kinds


@pytest.mark.parametrize(
    ("secret", "kind", "keys"),
    [
        ("sekisho/kintone/deals-view", "kintone-token", {"token"}),
        ("sekisho/kintone/deals-refetch", "kintone-token", {"token"}),
        ("sekisho/kintone/seminar-add", "kintone-token", {"token"}),
        ("sekisho/kintone/seminar-edit", "kintone-token", {"token"}),
        ("sekisho/kintone/seminar-payment-view", "kintone-token", {"token"}),
        ("sekisho/kintone/audit-add", "kintone-token", {"token"}),
        ("sekisho/guard/hash-key", "hmac", {"key"}),
        # kintone's URL token is made up by sekisho: the rotation generates the next one.
        ("sekisho/webhook/demo-kintone", "hmac", {"secret"}),
        # Senders issue their own keys: an operator stages the next one.
        ("sekisho/webhook/demo-standard", "webhook-key", {"secret"}),
        ("sekisho/webhook/demo-stripe", "webhook-key", {"secret"}),
        ("sekisho/webhook/demo-github", "webhook-key", {"secret"}),
        ("sekisho/webhook/demo-slack", "webhook-key", {"secret"}),
        ("sekisho/webhook/demo-box", "webhook-key", {"primary", "secondary"}),
        ("sekisho/kintone/partner-deals-view", "kintone-token", {"token"}),
        # A partner's key is generated, like an hmac key, and read as the verifier reads it.
        ("sekisho/partner/demo-erp", "partner-key", {"secret"}),
    ],
)
def test_each_demo_secret_has_the_kind_and_keys_of_what_it_holds(
    secret: str, kind: str, keys: set[str]
) -> None:
    value = demo_values()[secret]

    assert value.pop("kind") == kind
    assert set(value) == keys
    assert all(isinstance(v, str) and v for v in value.values())


def test_the_demo_partner_key_is_fresh_on_every_start_and_reads_as_the_verifier_reads_it() -> None:
    first, second = (demo_values()["sekisho/partner/demo-erp"] for _ in range(2))

    assert first["secret"] != second["secret"]
    assert len(partner_key_bytes(first)) == 32
    # The shape every rotation writes: 43 base64url characters, no padding.
    assert len(first["secret"]) == 43


def test_every_webhook_secret_of_the_policy_is_one_of_the_rotations_kinds() -> None:
    values = demo_values()

    for hook in POLICY.webhooks.values():
        expected = "hmac" if hook.scheme == "kintone" else "webhook-key"
        assert values[hook.secret]["kind"] == expected, hook.secret


# -- python -m devstack env --------------------------------------------------------------


# What the shell itself sets, or the test hands it.
SHELL_OWN = {"PATH", "PWD", "OLDPWD", "SHLVL", "_", "DEVSTACK_LINES"}


def evaluated(lines: str, cwd: Path, **inherited: str) -> dict[str, str]:
    """The environment a shell ends up with after `eval`-ing `lines` in `cwd`."""
    environment = {"PATH": os.environ["PATH"], "DEVSTACK_LINES": lines, **inherited}
    done = subprocess.run(
        ["/bin/sh", "-c", 'eval "$DEVSTACK_LINES" && env -0'],
        env=environment,
        cwd=cwd,
        capture_output=True,
        check=True,
    )
    pairs = (entry.split("=", 1) for entry in done.stdout.decode().split("\0") if entry)
    return {name: value for name, value in pairs if name not in SHELL_OWN}


def test_the_lines_point_sekisho_at_moto_and_the_emulator_and_drop_every_real_identity(
    tmp_path: Path,
) -> None:
    policy = tmp_path / "policy.yaml"
    lines = shell_lines(
        operator_environment("http://127.0.0.1:5000", "http://127.0.0.1:9100", policy)
    )

    shell = evaluated(
        lines,
        tmp_path,
        AWS_PROFILE="production",
        AWS_DEFAULT_PROFILE="production",
        AWS_SESSION_TOKEN="a-real-session",
        AWS_SECURITY_TOKEN="a-real-session",
    )

    assert shell == {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "ap-northeast-1",
        "AWS_DEFAULT_REGION": "ap-northeast-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "KINTONE_BASE_URL": "http://127.0.0.1:9100",
        "SEKISHO_POLICY": str(policy.resolve()),
        # The local stack's secrets: template.yaml's names under the stack's name.
        "SEKISHO_SECRET_PREFIX": "sekisho-local",
        # `sekisho seats reconcile`'s table, by its local name.
        "ENTRIES_TABLE": "EntriesTable",
    }
    assert set(AWS_IDENTITY_VARIABLES) == {
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
    }


@pytest.mark.parametrize(
    "directory", ["with space", "it's", "$(touch pwned)", "`touch pwned`", "日本語"]
)
def test_a_policy_path_survives_the_shell_whatever_its_characters(
    tmp_path: Path, directory: str
) -> None:
    policy = tmp_path / directory / "policy.yaml"
    lines = shell_lines(operator_environment("http://127.0.0.1:1", "http://127.0.0.1:2", policy))

    assert evaluated(lines, tmp_path)["SEKISHO_POLICY"] == str(policy.resolve())
    assert not (tmp_path / "pwned").exists()


def test_the_env_command_prints_the_lines_for_the_ports_and_policy_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.yaml"

    status = main(["env", "--moto-port", "5301", "--kintone-port", "9301", "--policy", str(policy)])

    printed = capsys.readouterr().out
    assert status == 0
    assert printed.rstrip("\n") == shell_lines(
        operator_environment("http://127.0.0.1:5301", "http://127.0.0.1:9301", policy)
    )


def test_the_env_command_passes_another_secret_prefix_on_and_refuses_a_malformed_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.yaml"

    status = main(["env", "--policy", str(policy), "--secret-prefix", "team/sekisho-x"])

    assert status == 0
    assert evaluated(capsys.readouterr().out, tmp_path)["SEKISHO_SECRET_PREFIX"] == (
        "team/sekisho-x"
    )
    with pytest.raises(SystemExit):
        main(["env", "--policy", str(policy), "--secret-prefix", "team//x"])
    assert "--secret-prefix" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command",
    [
        ["env"],
        ["kintone-token", "--app", "2", "--permissions", "add"],
        ["retire-token", "sekisho/kintone/seminar-add"],
    ],
)
def test_the_rotation_commands_talk_to_loopback_only(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "--host", "192.0.2.10"]) == 2
    captured = capsys.readouterr()
    assert "loopback" in captured.err
    assert captured.out == ""


def test_rotate_takes_a_secret_a_policy_and_a_checked_secret_prefix(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = _parser().parse_args(
        ["rotate", "sekisho/guard/hash-key", "--policy", "p.yaml", "--secret-prefix", "team/x"]
    )
    assert (args.command, args.secret, args.policy, args.secret_prefix) == (
        "rotate",
        "sekisho/guard/hash-key",
        "p.yaml",
        "team/x",
    )
    # Unset, the prefix and the policy are the environment's (`python -m devstack env`).
    args = _parser().parse_args(["rotate", "sekisho/guard/hash-key"])
    assert (args.policy, args.secret_prefix) == (None, None)
    with pytest.raises(SystemExit):
        main(["rotate", "sekisho/guard/hash-key", "--secret-prefix", "team//x"])
    assert "--secret-prefix" in capsys.readouterr().err


def test_rotate_talks_to_loopback_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--host", "192.0.2.10", "rotate", "sekisho/guard/hash-key"]) == 2
    captured = capsys.readouterr()
    assert "loopback" in captured.err
    assert captured.out == ""


@pytest.mark.parametrize("permissions", ["", "admin", "add,admin", "read", ",,"])
def test_kintone_token_accepts_only_kintones_permissions(
    permissions: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["kintone-token", "--app", "2", "--permissions", permissions])

    assert refused.value.code == 2
    assert "choose from view, add, edit, delete, manage" in capsys.readouterr().err


def test_kintone_token_without_a_running_emulator_prints_no_token(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(["kintone-token", "--app", "2", "--permissions", "add", "--kintone-port", "1"])

    captured = capsys.readouterr()
    assert status == 1
    assert captured.out == ""  # nothing reaches the pipe into `sekisho token stage`
    assert "is the stack running" in captured.err


# -- the banner --------------------------------------------------------------------------


def stack(moto_port: int, kintone_port: int, tokens: tuple = ()) -> SimpleNamespace:
    return SimpleNamespace(
        moto_url=f"http://127.0.0.1:{moto_port}",
        kintone=SimpleNamespace(url=f"http://127.0.0.1:{kintone_port}"),
        kintone_tokens=tokens,
    )


DECLARED = tuple(declared_tokens(POLICY).values())


def test_the_banner_shows_a_renewal_of_the_add_only_form_token_on_the_default_ports() -> None:
    lines = banner_lines(stack(5000, 9100, DECLARED))

    devstack = commands.devstack()
    assert [line.strip() for line in lines[1:5]] == [
        "make probe",
        f"{devstack} kintone-token --app 2 --permissions add --kintone-port 9100 "
        "| make stage SECRET=sekisho/kintone/seminar-add",
        "make rotate SECRET=sekisho/kintone/seminar-add",
        f"{devstack} retire-token sekisho/kintone/seminar-add --moto-port 5000 --kintone-port 9100",
    ]
    assert f'eval "$({devstack} env --moto-port 5000 --kintone-port 9100)"' in lines[5]
    assert f"{commands.script('sekisho')} probe / token stage, {devstack} rotate" in lines[5]


def test_a_banner_command_names_the_stacks_own_interpreter_so_a_fresh_shell_can_run_it(
    tmp_path, monkeypatch
) -> None:
    venv_python = tmp_path / ".venv" / "bin" / "python"
    monkeypatch.setattr(commands.sys, "executable", str(venv_python))
    monkeypatch.chdir(tmp_path)
    assert commands.devstack() == ".venv/bin/python -m devstack"
    assert commands.script("sekisho") == ".venv/bin/sekisho"
    # Run from a directory beside it, the path is whole rather than a climb of ../
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert commands.python() == str(venv_python)


def test_the_banner_passes_other_ports_on_to_make() -> None:
    lines = banner_lines(stack(5301, 9301, DECLARED))

    assert lines[1].strip() == "make probe MOTO_PORT=5301 KINTONE_PORT=9301"
    assert "make rotate MOTO_PORT=5301 KINTONE_PORT=9301 SECRET=" in lines[3]


def test_a_stack_whose_policy_names_no_token_has_no_rotation_lines() -> None:
    assert banner_lines(stack(5000, 9100)) == []
