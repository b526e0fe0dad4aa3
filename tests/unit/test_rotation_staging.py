"""`sekisho token stage`: the next token comes from stdin, is checked, staged, never shown."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sekisho.rotation.cli import add_token
from sekisho.rotation.errors import StageInputInvalid
from sekisho.rotation.staging import clean_input
from sekisho.rotation.versions import STAGED

VIEW_TOKEN = "sekisho/kintone/deals-view"
HASH_KEY = "sekisho/guard/hash-key"
BOX = "sekisho/webhook/demo-box"
STRIPE = "sekisho/webhook/demo-stripe"
OLD_TOKEN = "OldTokenFromTheKintoneSettings9876543210"
NEW_TOKEN = "NewTokenFromTheKintoneSettings0123456789"


class Stdin(io.StringIO):
    def __init__(self, text: str, *, tty: bool = False) -> None:
        super().__init__(text)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def sekisho(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="sekisho")
    commands = parser.add_subparsers(required=True)
    add_token(commands)
    args = parser.parse_args(argv)
    out = io.StringIO()
    return args.handler(args, out), out.getvalue()


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        sm = boto3.client("secretsmanager")
        for name, value in {
            VIEW_TOKEN: {"kind": "kintone-token", "token": OLD_TOKEN},
            HASH_KEY: {"kind": "hmac", "key": "k" * 64},
            BOX: {"kind": "webhook-key", "primary": "p-old", "secondary": "s-old"},
            STRIPE: {"kind": "webhook-key", "secret": "whsec_old", "rotated_at": 1},
        }.items():
            sm.create_secret(Name=name, SecretString=json.dumps(value))
        yield sm


def staged(sm: Any, name: str) -> dict[str, Any]:
    return json.loads(sm.get_secret_value(SecretId=name, VersionStage=STAGED)["SecretString"])


def stage(monkeypatch, text: str, *argv: str, tty: bool = False) -> tuple[int, str]:
    monkeypatch.setattr("sys.stdin", Stdin(text, tty=tty))
    return sekisho("token", "stage", *argv)


# ------------------------------------------------------------------- what stdin holds


@pytest.mark.parametrize(
    ("raw", "value"),
    [("tok", "tok"), ("tok\n", "tok"), ("tok\r\n", "tok"), ("whsec_a1+b/2=\n", "whsec_a1+b/2=")],
)
def test_one_line_with_or_without_its_newline_is_a_value(raw, value):
    assert clean_input(raw) == value


@pytest.mark.parametrize(
    "raw",
    [
        "",  # nothing piped in
        "\n",
        "tok\n\n",  # two newlines: a second, empty line
        "first\nsecond\n",  # two values
        "tok en",
        " tok",
        "tok ",
        "tok\t",
        "tok\r",
        "to\x00k",
        "to\x1bk",
        "tok\u200b",  # zero-width space: invisible, surely pasted by mistake
        "t" * 4097,
    ],
)
def test_anything_but_one_clean_line_is_refused(raw):
    with pytest.raises(StageInputInvalid) as caught:
        clean_input(raw)
    assert caught.value.status == 400


# ------------------------------------------------------------------------- the command


def test_a_token_piped_in_is_staged_from_the_current_version(client, monkeypatch):
    code, out = stage(monkeypatch, NEW_TOKEN + "\n", VIEW_TOKEN)
    assert code == 0
    assert staged(client, VIEW_TOKEN) == {"kind": "kintone-token", "token": NEW_TOKEN}
    assert f"make rotate SECRET={VIEW_TOKEN}" in out
    assert f"aws secretsmanager rotate-secret --secret-id {VIEW_TOKEN}" in out
    current = client.get_secret_value(SecretId=VIEW_TOKEN, VersionStage="AWSCURRENT")
    assert json.loads(current["SecretString"])["token"] == OLD_TOKEN


def test_the_staged_value_is_never_printed(client, monkeypatch, capsys):
    code, out = stage(monkeypatch, NEW_TOKEN, VIEW_TOKEN)
    captured = capsys.readouterr()
    assert code == 0
    assert NEW_TOKEN not in out + captured.out + captured.err


@pytest.mark.parametrize(
    "argv",
    [
        ("token", "stage", VIEW_TOKEN, NEW_TOKEN),
        ("token", "stage", VIEW_TOKEN, "--token", NEW_TOKEN),
        ("token", "stage", VIEW_TOKEN, f"--value={NEW_TOKEN}"),
    ],
)
def test_a_value_on_the_command_line_is_refused(client, monkeypatch, argv):
    monkeypatch.setattr("sys.stdin", Stdin(""))
    with pytest.raises(SystemExit) as caught:
        sekisho(*argv)
    assert caught.value.code == 2
    assert len(client.list_secret_version_ids(SecretId=VIEW_TOKEN)["Versions"]) == 1


def test_a_terminal_is_asked_without_echo(client, monkeypatch):
    prompts: list[str] = []

    def getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return NEW_TOKEN

    monkeypatch.setattr("getpass.getpass", getpass)
    code, _ = stage(monkeypatch, "", VIEW_TOKEN, tty=True)
    assert code == 0
    assert len(prompts) == 1
    assert staged(client, VIEW_TOKEN)["token"] == NEW_TOKEN


@pytest.mark.parametrize(
    ("text", "argv", "code"),
    [
        ("", (VIEW_TOKEN,), "stage_input_invalid"),
        ("a\nb\n", (VIEW_TOKEN,), "stage_input_invalid"),
        (OLD_TOKEN + "\n", (VIEW_TOKEN,), "stage_input_invalid"),  # that is the current one
        ("tok1,tok2\n", (VIEW_TOKEN,), "stage_input_invalid"),  # kintone splits on commas
        ("トークン1\n", (VIEW_TOKEN,), "stage_input_invalid"),  # cannot be sent in a header
        ("ｔｏｋｅｎ１\n", (VIEW_TOKEN,), "stage_input_invalid"),  # full-width: not ASCII
        ("tökén1\n", (VIEW_TOKEN,), "stage_input_invalid"),  # latin-1, still no kintone token
        ("new-token\n", (VIEW_TOKEN,), "stage_input_invalid"),  # kintone's are letters, digits
        ("new_token\n", (VIEW_TOKEN,), "stage_input_invalid"),
        ("new-key\n", (HASH_KEY,), "staging_refused"),  # sekisho generates hmac keys
        ("new-key\n", (BOX,), "staging_refused"),  # two keys: which one?
        ("new-key\n", (BOX, "--field", "secret"), "staging_refused"),
        ("new-key\n", (VIEW_TOKEN, "--field", "secret"), "staging_refused"),
        ("new-key\n", ("sekisho/kintone/nowhere",), "staging_refused"),  # no such secret
    ],
)
def test_a_value_that_cannot_be_staged_is_refused_and_nothing_is_stored(
    client, monkeypatch, text, argv, code
):
    status, out = stage(monkeypatch, text, *argv)
    assert status == 1
    assert out.startswith(f"error: {code}: ")
    for name in (VIEW_TOKEN, HASH_KEY, BOX):
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.get_secret_value(SecretId=name, VersionStage=STAGED)


def test_staging_a_generated_key_says_how_to_rotate_it_locally_and_on_aws(client, monkeypatch):
    status, out = stage(monkeypatch, "new-key\n", HASH_KEY)
    assert status == 1
    assert f"rotate it with `make rotate SECRET={HASH_KEY}` on the local stack" in out
    assert f"`aws secretsmanager rotate-secret --secret-id {HASH_KEY}` on AWS" in out
    assert "sekisho rotate" not in out


def test_one_box_key_is_staged_and_the_other_kept(client, monkeypatch):
    code, _ = stage(monkeypatch, "p-new\n", BOX, "--field", "primary")
    assert code == 0
    assert staged(client, BOX) == {"kind": "webhook-key", "primary": "p-new", "secondary": "s-old"}


def test_a_captcha_secret_is_staged_like_a_sender_key(client, monkeypatch):
    name = "sekisho/captcha/seminar-apply"
    client.create_secret(
        Name=name, SecretString=json.dumps({"kind": "captcha", "secret": "old-siteverify"})
    )
    assert stage(monkeypatch, "new-siteverify\n", name)[0] == 0
    assert staged(client, name) == {"kind": "captcha", "secret": "new-siteverify"}


def test_a_staged_sender_key_drops_the_old_rotation_time(client, monkeypatch):
    code, _ = stage(monkeypatch, "whsec_new\n", STRIPE)
    assert code == 0
    assert staged(client, STRIPE) == {"kind": "webhook-key", "secret": "whsec_new"}


def test_staging_again_moves_the_label_to_the_newer_value(client, monkeypatch):
    assert stage(monkeypatch, "FirstNewToken\n", VIEW_TOKEN)[0] == 0
    assert stage(monkeypatch, "SecondNewToken\n", VIEW_TOKEN)[0] == 0
    assert staged(client, VIEW_TOKEN)["token"] == "SecondNewToken"
    labelled = [
        v
        for v in client.list_secret_version_ids(SecretId=VIEW_TOKEN)["Versions"]
        if STAGED in v.get("VersionStages", [])
    ]
    assert len(labelled) == 1
