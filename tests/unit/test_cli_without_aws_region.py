"""Operator commands without an AWS region: a clear error and exit 1, never a traceback."""

from __future__ import annotations

import io
import os

import pytest

from devstack.__main__ import main as devstack
from devstack.operator_env import AWS_IDENTITY_VARIABLES
from sekisho.cli import main as sekisho


@pytest.mark.parametrize(
    "command",
    [
        (sekisho, ["token", "stage", "sekisho/kintone/deals-view"], "new-token\n"),
        (devstack, ["rotate", "sekisho/kintone/deals-view"], ""),
    ],
    ids=["sekisho_token_stage", "devstack_rotate"],
)
def test_a_command_without_a_region_says_so_and_fails(monkeypatch, tmp_path, capsys, command):
    main, argv, stdin = command
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", *AWS_IDENTITY_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    # devstack points its commands away from every credentials file: undone after the test.
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "configuration_error: cannot reach Secrets Manager: NoRegionError" in out
    assert "new-token" not in out
