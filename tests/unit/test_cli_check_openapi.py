"""`sekisho check --openapi FILE` (`make check`): a warning when the contract has drifted.

The contract is regenerated in memory as `sekisho openapi` writes it; a file that differs
(or is missing) draws one warning line, and the exit status stays the check's own.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sekisho.cli import main

REPO = Path(__file__).resolve().parents[2]
REPO_POLICY = REPO / "policy.yaml"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    status = main(list(argv))
    return status, capsys.readouterr().out.splitlines()


def drift_warnings(lines: list[str]) -> list[str]:
    return [line for line in lines if "does not match" in line]


@pytest.fixture
def contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """openapi.json exactly as `sekisho openapi` writes it for the repository's policy."""
    path = tmp_path / "openapi.json"
    status, _ = run(capsys, "openapi", str(REPO_POLICY), "--output", str(path))
    assert status == 0
    return path


def test_a_contract_that_matches_the_policy_draws_no_warning(
    contract: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, lines = run(capsys, "check", str(REPO_POLICY), "--openapi", str(contract))

    assert status == 0
    assert drift_warnings(lines) == []
    assert lines[-1].startswith("ok: ")


def test_a_contract_that_no_longer_matches_the_policy_draws_a_warning_and_nothing_else(
    contract: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(contract.read_text(encoding="utf-8"))
    document["paths"].pop(next(iter(document["paths"])))
    contract.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    status_without, lines_without = run(capsys, "check", str(REPO_POLICY))

    status, lines = run(capsys, "check", str(REPO_POLICY), "--openapi", str(contract))

    assert drift_warnings(lines) == [
        f"warning: {contract} does not match {REPO_POLICY}: run make openapi"
    ]
    # Only the warning is added: same exit status, same other lines.
    assert status == status_without == 0
    assert [line for line in lines if line not in drift_warnings(lines)] == lines_without


def test_the_warning_names_the_files_as_make_check_passes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(REPO_POLICY, tmp_path / "policy.yaml")
    (tmp_path / "openapi.json").write_text("{}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    status, lines = run(capsys, "check", "policy.yaml", "--openapi", "openapi.json")

    assert status == 0
    assert drift_warnings(lines) == [
        "warning: openapi.json does not match policy.yaml: run make openapi"
    ]


def test_a_missing_contract_draws_the_warning_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "openapi.json"

    status, lines = run(capsys, "check", str(REPO_POLICY), "--openapi", str(missing))

    assert status == 0
    assert drift_warnings(lines) == [
        f"warning: {missing} does not match {REPO_POLICY}: run make openapi"
    ]


def test_the_drift_warning_does_not_fail_a_strict_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "openapi.json"
    stale.write_text("{}\n", encoding="utf-8")
    status_without, _ = run(capsys, "check", str(REPO_POLICY), "--strict")

    status, lines = run(capsys, "check", str(REPO_POLICY), "--strict", "--openapi", str(stale))

    assert status == status_without
    assert len(drift_warnings(lines)) == 1
