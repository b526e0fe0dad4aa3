"""Operator commands without an AWS region: a clear error and exit 1, never a traceback."""

from __future__ import annotations

import io

import pytest

from sekisho.cli import main


@pytest.mark.parametrize(
    ("argv", "stdin"),
    [
        (["token", "stage", "sekisho/kintone/deals-view"], "new-token\n"),
        (["rotate", "sekisho/kintone/deals-view"], ""),
    ],
)
def test_a_command_without_a_region_says_so_and_fails(monkeypatch, tmp_path, capsys, argv, stdin):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "configuration_error: cannot reach Secrets Manager: NoRegionError" in out
    assert "new-token" not in out
