"""`sekisho probe`'s reading of secrets, settings and reports, kintone's answers scripted.

The probe against a real (emulated) kintone is tests/integration/test_token_probe.py; here
`probe_token` is replaced by scripted reports, so each case is one thing the command must
say or refuse.
"""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sekisho.kintone.errors import KintoneError
from sekisho.policy.validation import read_policy
from sekisho.tokens import PERMISSIONS, ProbeReport, ProbeRow, declared_tokens
from sekisho.tokens import cli as tokens_cli

POLICY_FILE = Path(__file__).resolve().parents[2] / "policy.yaml"
DECLARED = declared_tokens(read_policy(POLICY_FILE))
DEALS_VIEW = "sekisho/kintone/deals-view"
KINTONE = "https://example.cybozu.com"

Script = Callable[[Any, Any, Any], ProbeReport]


def as_declared(declared: Any) -> ProbeReport:
    rows = tuple(
        ProbeRow(p, p in declared.permissions, "allowed" if p in declared.permissions else "denied")
        for p in PERMISSIONS
    )
    return ProbeReport(declared.secret, declared.app, rows)


@pytest.fixture
def secretsmanager(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto holding a kintone-token secret for every token the repository's policy names."""
    for name in ("AWS_ENDPOINT_URL", "KINTONE_BASE_URL", "SEKISHO_POLICY"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        client = boto3.client("secretsmanager")
        for name in DECLARED:
            value = {"kind": "kintone-token", "token": "SomeToken0123"}
            client.create_secret(Name=name, SecretString=json.dumps(value))
        yield client


@pytest.fixture
def kintone(monkeypatch: pytest.MonkeyPatch) -> Callable[[Script], None]:
    """Replace the probe: each token's report comes from ``script``."""

    def answer_with(script: Script) -> None:
        monkeypatch.setattr(tokens_cli, "probe_token", script)

    answer_with(lambda _client, declared, _app: as_declared(declared))
    return answer_with


def sekisho_probe(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="sekisho")
    tokens_cli.add_probe(parser.add_subparsers())
    args = parser.parse_args(["probe", str(POLICY_FILE), *argv])
    out = io.StringIO()
    return args.handler(args, out), out.getvalue()


def test_tokens_with_exactly_their_permissions_pass(secretsmanager, kintone):
    status, output = sekisho_probe("--base-url", KINTONE)

    assert status == 0, output
    assert f"ok: {len(DECLARED)} tokens have exactly the declared permissions" in output


# -- the secret -----------------------------------------------------------------------

UNUSABLE_SECRETS = [
    pytest.param({"token": "SomeToken0123"}, "it says no kind", id="no_kind"),
    pytest.param({"kind": None, "token": "SomeToken0123"}, "it says no kind", id="null_kind"),
    pytest.param({"kind": "hmac", "key": "k" * 64}, "it has kind 'hmac'", id="other_kind"),
    pytest.param({"kind": "kintone-token"}, "without a non-empty token", id="no_token"),
    pytest.param({"kind": "kintone-token", "token": ""}, "without a non-empty", id="empty"),
]


@pytest.mark.parametrize(("value", "said"), UNUSABLE_SECRETS)
def test_a_secret_that_is_no_kintone_token_is_not_probed(secretsmanager, kintone, value, said):
    secretsmanager.put_secret_value(SecretId=DEALS_VIEW, SecretString=json.dumps(value))

    status, output = sekisho_probe("--base-url", KINTONE)

    assert status == 2, output
    assert f"secret {DEALS_VIEW!r} is " in output
    assert said in output
    assert f"1 of {len(DECLARED)} token secrets were not probed" in output
    assert "k" * 64 not in output


# -- where kintone is ---------------------------------------------------------------------


def test_an_invalid_kintone_base_url_setting_is_refused(secretsmanager, kintone, monkeypatch):
    monkeypatch.setenv("KINTONE_BASE_URL", "ftp://example.cybozu.com")

    status, output = sekisho_probe()

    assert status == 2
    assert "error: invalid settings: kintone_base_url" in output


def test_the_base_url_option_comes_before_the_setting(secretsmanager, kintone, monkeypatch):
    monkeypatch.setenv("KINTONE_BASE_URL", "ftp://example.cybozu.com")

    status, output = sekisho_probe("--base-url", KINTONE)

    assert status == 0, output
    assert output.rstrip().endswith(f"at {KINTONE}")


def test_the_setting_comes_before_the_policy(secretsmanager, kintone, monkeypatch):
    monkeypatch.setenv("KINTONE_BASE_URL", "https://other.cybozu.com")

    status, output = sekisho_probe()

    assert status == 0, output
    assert output.rstrip().endswith("at https://other.cybozu.com")


# -- the probe's failures and verdicts -----------------------------------------------------


def test_a_probe_that_fails_is_reported_not_raised(secretsmanager, kintone):
    def failing(_client: Any, declared: Any, _app: Any) -> ProbeReport:
        if declared.secret == DEALS_VIEW:
            raise KintoneError("the answer could not be read")
        return as_declared(declared)

    kintone(failing)

    status, output = sekisho_probe("--base-url", KINTONE)

    assert status == 2, output
    assert f"error: {DEALS_VIEW}: the probe failed: the answer could not be read" in output
    assert f"1 of {len(DECLARED)} token secrets were not probed" in output


# view is declared for deals-view; add, edit, delete and manage are not.
VERDICTS = [
    pytest.param({"view": "denied"}, "missing view", id="declared_but_denied"),
    pytest.param(
        {"view": "unknown:KintoneTimeout"}, "missing view", id="declared_but_unclear_is_missing"
    ),
    pytest.param({"add": "allowed"}, "excess add", id="undeclared_but_allowed"),
    pytest.param(
        {"delete": "unknown:KintoneMaintenance"},
        "not established delete",
        id="undeclared_and_unclear",
    ),
    pytest.param(
        {"view": "unknown:KintoneTimeout", "add": "allowed", "manage": "unknown:KintoneTimeout"},
        "excess add; missing view; not established manage",
        id="all_three",
    ),
]


@pytest.mark.parametrize(("seen", "summary"), VERDICTS)
def test_the_summary_says_what_the_report_says(secretsmanager, kintone, seen, summary):
    def scripted(_client: Any, declared: Any, _app: Any) -> ProbeReport:
        report = as_declared(declared)
        if declared.secret != DEALS_VIEW:
            return report
        rows = tuple(
            ProbeRow(r.permission, r.expected, seen.get(r.permission, r.observed))
            for r in report.rows
        )
        return ProbeReport(report.secret, report.app, rows)

    kintone(scripted)

    status, output = sekisho_probe("--base-url", KINTONE)

    assert status == 1, output
    assert f"FAIL: {DEALS_VIEW} (app 1): {summary}" in output.splitlines()


def test_the_probe_reads_each_declared_token_under_the_stacks_prefix(
    secretsmanager, kintone, monkeypatch
):
    for name in DECLARED:
        value = {"kind": "kintone-token", "token": "DevToken0123"}
        secretsmanager.create_secret(Name=f"sekisho-dev/{name}", SecretString=json.dumps(value))
    read: list[str] = []
    monkeypatch.setattr(
        tokens_cli, "probe_client", lambda base_url, token: read.append(token) or object()
    )

    status, output = sekisho_probe("--base-url", KINTONE, "--secret-prefix", "sekisho-dev")

    assert status == 0, output
    assert read == ["DevToken0123"] * len(DECLARED)
    # The table names the declared secrets, as the policy does.
    assert f"| {DEALS_VIEW} " in output
    assert "sekisho-dev/" not in output
    monkeypatch.setenv("SEKISHO_SECRET_PREFIX", "sekisho-dev")
    read.clear()
    assert sekisho_probe("--base-url", KINTONE)[0] == 0
    assert read == ["DevToken0123"] * len(DECLARED)


def test_a_stack_whose_prefix_holds_no_tokens_is_not_probed(secretsmanager, kintone):
    status, output = sekisho_probe("--base-url", KINTONE, "--secret-prefix", "sekisho-prod")

    assert status == 2
    assert f"error: secret {DEALS_VIEW!r} (AWSCURRENT) does not exist or may not be read" in output
