"""The least-privilege probe and `sekisho probe` against the local kintone and moto."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
import yaml
from moto import mock_aws

from kintone_emulator.server import RunningEmulator
from sekisho.policy.validation import read_policy
from sekisho.tokens import PROBE_RECORD_ID, declared_tokens, probe_client, probe_token
from sekisho.tokens.cli import add_probe

pytestmark = pytest.mark.emulator

REPO_POLICY = Path(__file__).resolve().parents[2] / "policy.yaml"
DEALS_VIEW, SEMINAR_ADD = "sekisho/kintone/deals-view", "sekisho/kintone/seminar-add"
DEALS_REFETCH = "sekisho/kintone/deals-refetch"
SEMINAR_EDIT, SEMINAR_PAYMENT_VIEW = (
    "sekisho/kintone/seminar-edit",
    "sekisho/kintone/seminar-payment-view",
)
AUDIT_ADD = "sekisho/kintone/audit-add"
DEALS, SEMINAR, AUDIT = 1, 2, 3

# Tokens added for a test beside the seed's (deals-view-token, deals-add-token,
# seminar-add-token, seminar-view-token, seminar-edit-token, audit-add-token).
EXTRA_TOKENS = [
    {"token": "deals-view-add-token", "app": DEALS, "permissions": ["view", "add"]},
    {"token": "deals-edit-token", "app": DEALS, "permissions": ["edit"]},
    {"token": "deals-manage-token", "app": DEALS, "permissions": ["manage"]},
    {
        "token": "deals-everything-token",
        "app": DEALS,
        "permissions": ["view", "add", "edit", "delete", "manage"],
    },
    {"token": "deals-inactive-token", "app": DEALS, "permissions": ["view"], "active": False},
    {"token": "seminar-edit-view-token", "app": SEMINAR, "permissions": ["edit", "view"]},
    {"token": "seminar-edit-delete-token", "app": SEMINAR, "permissions": ["edit", "delete"]},
]
SEED_TOKENS = [
    "deals-view-token",
    "deals-add-token",
    "seminar-add-token",
    "seminar-view-token",
    "seminar-edit-token",
    "audit-add-token",
]
ALL_TOKENS = SEED_TOKENS + [t["token"] for t in EXTRA_TOKENS]
POLICY = read_policy(REPO_POLICY)


@pytest.fixture
def kintone(kintone: RunningEmulator, http: requests.Session) -> RunningEmulator:
    for token in EXTRA_TOKENS:
        http.post(f"{kintone.url}/_emulator/tokens", json=token).raise_for_status()
    return kintone


def admin(http: requests.Session, kintone: RunningEmulator, path: str, body: Any) -> None:
    http.post(f"{kintone.url}/_emulator/{path}", json=body).raise_for_status()


def stored(kintone: RunningEmulator) -> dict[int, list[dict[str, Any]]]:
    """Every record of every app, revisions and timestamps included."""
    return {app: kintone.emulator.store.records(app) for app in (DEALS, SEMINAR, AUDIT)}


def observed(report) -> dict[str, str]:
    return {row.permission: row.observed for row in report.rows}


def allowed(*permissions: str) -> dict[str, str]:
    return {
        p: "allowed" if p in permissions else "denied"
        for p in ("view", "add", "edit", "delete", "manage")
    }


# -- the probe --------------------------------------------------------------------------

PROBE_CASES = [
    pytest.param("deals-view-token", DEALS_VIEW, allowed("view"), True, id="view_token_as_view"),
    pytest.param("seminar-add-token", SEMINAR_ADD, allowed("add"), True, id="add_token_as_add"),
    pytest.param(
        "deals-view-token", DEALS_REFETCH, allowed("view"), True, id="view_token_as_refetch"
    ),
    pytest.param(
        "seminar-edit-token", SEMINAR_EDIT, allowed("edit"), True, id="edit_token_as_action_edit"
    ),
    pytest.param(
        "seminar-view-token",
        SEMINAR_PAYMENT_VIEW,
        allowed("view"),
        True,
        id="view_token_as_action_read",
    ),
    pytest.param("audit-add-token", AUDIT_ADD, allowed("add"), True, id="add_token_as_action_add"),
    pytest.param(
        "seminar-view-token",
        SEMINAR_EDIT,
        allowed("view"),
        False,
        id="view_token_declared_edit_cannot_edit",
    ),
    pytest.param(
        "seminar-edit-view-token",
        SEMINAR_EDIT,
        allowed("edit", "view"),
        False,
        id="update_token_that_can_also_view_fails",
    ),
    pytest.param(
        "seminar-edit-delete-token",
        SEMINAR_EDIT,
        allowed("edit", "delete"),
        False,
        id="update_token_that_can_also_delete_fails",
    ),
    pytest.param(
        "deals-add-token",
        DEALS_VIEW,
        allowed("add"),
        False,
        id="add_token_declared_view_shows_excess_add_and_no_view",
    ),
    pytest.param(
        "deals-view-add-token",
        DEALS_VIEW,
        allowed("view", "add"),
        False,
        id="view_token_that_can_also_add_fails",
    ),
    pytest.param(
        "seminar-view-token",
        SEMINAR_ADD,
        allowed("view"),
        False,
        id="view_token_declared_add_cannot_add",
    ),
    pytest.param(
        "deals-edit-token",
        DEALS_VIEW,
        allowed("edit"),
        False,
        id="edit_only_token_shows_excess_edit",
    ),
    pytest.param(
        "deals-manage-token",
        DEALS_VIEW,
        allowed("manage"),
        False,
        id="app_management_token_shows_excess_manage",
    ),
    pytest.param(
        "deals-everything-token",
        DEALS_VIEW,
        allowed("view", "add", "edit", "delete", "manage"),
        False,
        id="token_with_every_permission_shows_every_excess",
    ),
    pytest.param(
        "seminar-view-token",
        DEALS_VIEW,
        allowed(),
        False,
        id="token_of_another_app_can_do_nothing",
    ),
    pytest.param(
        "no-such-token",
        DEALS_VIEW,
        dict.fromkeys(("view", "add", "edit", "delete", "manage"), "invalid_token"),
        False,
        id="unknown_token_is_invalid",
    ),
    pytest.param(
        "deals-inactive-token",
        DEALS_VIEW,
        dict.fromkeys(("view", "add", "edit", "delete", "manage"), "invalid_token"),
        False,
        id="token_not_yet_active_is_invalid",
    ),
]


@pytest.mark.parametrize(("token", "secret", "expected", "ok"), PROBE_CASES)
def test_the_probe_observes_exactly_the_tokens_permissions_and_writes_nothing(
    kintone: RunningEmulator,
    token: str,
    secret: str,
    expected: dict[str, str],
    ok: bool,
) -> None:
    declared = declared_tokens(POLICY)[secret]
    before = stored(kintone)

    report = probe_token(probe_client(kintone.url, token), declared, POLICY.apps[declared.app])

    assert observed(report) == expected
    assert report.ok is ok
    assert stored(kintone) == before


def test_an_over_privileged_token_names_its_excess(kintone: RunningEmulator) -> None:
    declared = declared_tokens(POLICY)[DEALS_VIEW]

    report = probe_token(
        probe_client(kintone.url, "deals-view-add-token"), declared, POLICY.apps[DEALS]
    )

    assert (report.excess, report.missing) == (("add",), ())


def test_maintenance_leaves_every_row_unknown_and_each_request_is_sent_once(
    kintone: RunningEmulator, http: requests.Session
) -> None:
    declared = declared_tokens(POLICY)[DEALS_VIEW]
    admin(http, kintone, "maintenance", {"enabled": True})
    served_before = http.get(f"{kintone.url}/_emulator/stats").json()["requests"]

    report = probe_token(
        probe_client(kintone.url, "deals-view-token"), declared, POLICY.apps[DEALS]
    )

    served = http.get(f"{kintone.url}/_emulator/stats").json()["requests"] - served_before
    assert set(observed(report).values()) == {"unknown:KintoneMaintenance"}
    assert not report.ok
    # view, the live form (to confirm the probe field), edit, delete, manage: no retries,
    # and no add without a confirmed field.
    assert served == 5


# -- the emulator answers the probe's requests as kintone does --------------------------

VALUE = {"金額": {"value": "sekisho-probe"}}
PROBE_REQUESTS = {
    "add": ("POST", "/k/v1/record.json", {"app": DEALS, "record": VALUE}),
    "edit": ("PUT", "/k/v1/record.json", {"app": DEALS, "id": PROBE_RECORD_ID, "record": VALUE}),
    "delete": (
        "DELETE",
        "/k/v1/records.json",
        {"app": DEALS, "ids": [PROBE_RECORD_ID], "revisions": [1]},
    ),
    "manage": ("GET", "/k/v1/preview/app/form/fields.json", {"app": DEALS}),
    "live form": ("GET", "/k/v1/app/form/fields.json", {"app": DEALS}),
}

EMULATOR_CASES = [
    pytest.param(
        "deals-view-token", "add", (403, "GAIA_NO01"), id="no_add_is_refused_before_values"
    ),
    pytest.param("deals-add-token", "add", (400, "CB_VA01"), id="add_is_refused_on_the_value"),
    pytest.param("deals-view-token", "edit", (403, "GAIA_NO01"), id="no_edit_before_the_lookup"),
    pytest.param("deals-edit-token", "edit", (404, "GAIA_RE01"), id="edit_finds_no_record"),
    pytest.param("deals-view-token", "delete", (403, "GAIA_NO01"), id="no_delete_before_lookup"),
    pytest.param("deals-everything-token", "delete", (404, "GAIA_RE01"), id="delete_finds_none"),
    pytest.param("deals-view-token", "manage", (403, "GAIA_NO01"), id="preview_needs_management"),
    pytest.param("deals-manage-token", "manage", (200, None), id="management_reads_the_preview"),
    pytest.param("deals-edit-token", "live form", (403, "GAIA_NO01"), id="live_form_not_for_edit"),
    pytest.param("deals-manage-token", "live form", (200, None), id="live_form_for_management"),
    pytest.param("deals-add-token", "live form", (200, None), id="live_form_for_add"),
]


@pytest.mark.parametrize(("token", "request_name", "answer"), EMULATOR_CASES)
def test_the_emulator_checks_the_permission_before_anything_else(
    kintone: RunningEmulator,
    http: requests.Session,
    token: str,
    request_name: str,
    answer: tuple[int, str | None],
) -> None:
    method, path, body = PROBE_REQUESTS[request_name]
    params = body if method == "GET" else None
    before = stored(kintone)

    response = http.request(
        method,
        kintone.url + path,
        headers={"X-Cybozu-API-Token": token},
        params=params,
        json=None if params else body,
        timeout=10,
    )

    code = response.json().get("code") if response.status_code != 200 else None
    assert (response.status_code, code) == answer, response.text
    assert stored(kintone) == before


def test_an_add_refused_on_the_value_names_the_number_field(
    kintone: RunningEmulator, http: requests.Session
) -> None:
    method, path, body = PROBE_REQUESTS["add"]

    answer = http.request(
        method, kintone.url + path, headers={"X-Cybozu-API-Token": "deals-add-token"}, json=body
    )

    assert "record[金額].value" in answer.json()["errors"]


# -- sekisho probe ------------------------------------------------------------------------

# As local/devstack/secrets.yaml resolves them against the seed.
DEMO_TOKENS = {
    DEALS_VIEW: "deals-view-token",
    SEMINAR_ADD: "seminar-add-token",
    DEALS_REFETCH: "deals-view-token",
    SEMINAR_EDIT: "seminar-edit-token",
    SEMINAR_PAYMENT_VIEW: "seminar-view-token",
    AUDIT_ADD: "audit-add-token",
    # The applicants realm, my-applications and the seminar form's corrections.
    "sekisho/kintone/seminar-people": "seminar-view-token",
    "sekisho/kintone/seminar-mine": "seminar-view-token",
    "sekisho/kintone/seminar-correct": "seminar-edit-token",
    # The partner-deals view's own secret; the seed's one view-only token of the deals app.
    "sekisho/kintone/partner-deals-view": "deals-view-token",
}
DEMO_COUNT = len(DEMO_TOKENS)
# One row per route and permission: a secret two routes use (the realm's view token is also
# the capacity's reconcile token) has a row block for each.
DEMO_ROUTES = sum(len(token.routes) for token in declared_tokens(read_policy(REPO_POLICY)).values())


@pytest.fixture
def secretsmanager(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's Secrets Manager holding the demo policy's token secrets."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("KINTONE_BASE_URL", raising=False)
    monkeypatch.delenv("SEKISHO_POLICY", raising=False)
    with mock_aws():
        client = boto3.client("secretsmanager")
        for name, token in DEMO_TOKENS.items():
            value = {"kind": "kintone-token", "token": token}
            client.create_secret(Name=name, SecretString=json.dumps(value))
        yield client


def sekisho_probe(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="sekisho")
    add_probe(parser.add_subparsers())
    args = parser.parse_args(["probe", *argv])
    out = io.StringIO()
    status = args.handler(args, out)
    return status, out.getvalue()


def table_rows(output: str) -> list[list[str]]:
    lines = output.splitlines()
    rows = [line for line in lines if line.count(" | ") == 6]
    return [[cell.strip() for cell in row.split(" | ")] for row in rows[1:]]


def assert_no_token_value(output: str) -> None:
    for token in ALL_TOKENS:
        assert token not in output


def put_token(client: Any, name: str, token: str) -> None:
    value = {"kind": "kintone-token", "token": token}
    client.put_secret_value(SecretId=name, SecretString=json.dumps(value))


def test_sekisho_probe_passes_the_demo_tokens_and_prints_the_table(
    kintone: RunningEmulator, secretsmanager: Any
) -> None:
    before = stored(kintone)

    status, output = sekisho_probe(str(REPO_POLICY), "--base-url", kintone.url)

    assert status == 0, output
    assert output.splitlines()[0].split(" | ")[0].strip() == "route"
    rows = table_rows(output)
    assert len(rows) == DEMO_ROUTES * 5
    assert [row[:2] for row in rows[:5]] == [["views.deal-status", DEALS_VIEW]] * 5
    assert ["forms.seminar-apply", SEMINAR_ADD, "2", "add", "allowed", "allowed", "ok"] in rows
    assert [
        "webhooks.demo-kintone.actions.audit-new-deal",
        AUDIT_ADD,
        "3",
        "add",
        "allowed",
        "allowed",
        "ok",
    ] in rows
    assert all(row[-1] == "ok" for row in rows)
    assert f"ok: {DEMO_COUNT} tokens" in output
    assert_no_token_value(output)
    assert stored(kintone) == before


def test_sekisho_probe_fails_on_an_over_privileged_token(
    kintone: RunningEmulator, secretsmanager: Any
) -> None:
    put_token(secretsmanager, DEALS_VIEW, "deals-view-add-token")

    status, output = sekisho_probe(str(REPO_POLICY), "--base-url", kintone.url)

    assert status == 1, output
    assert ["views.deal-status", DEALS_VIEW, "1", "add", "denied", "allowed", "FAIL"] in (
        table_rows(output)
    )
    assert f"FAIL: {DEALS_VIEW} (app 1): excess add" in output
    assert f"1 of {DEMO_COUNT} tokens FAILED" in output
    assert_no_token_value(output)


def test_sekisho_probe_fails_on_an_invalid_token(
    kintone: RunningEmulator, secretsmanager: Any
) -> None:
    put_token(secretsmanager, SEMINAR_ADD, "revoked-seminar-token")

    status, output = sekisho_probe(str(REPO_POLICY), "--base-url", kintone.url)

    assert status == 1
    assert "GAIA_IA02" in output
    assert "revoked-seminar-token" not in output


def test_sekisho_probe_fails_on_a_token_that_cannot_be_sent_in_a_header(
    kintone: RunningEmulator, secretsmanager: Any, http: requests.Session
) -> None:
    put_token(secretsmanager, SEMINAR_ADD, "トークン1")
    served_before = http.get(f"{kintone.url}/_emulator/stats").json()["requests"]

    status, output = sekisho_probe(str(REPO_POLICY), "--base-url", kintone.url)

    served = http.get(f"{kintone.url}/_emulator/stats").json()["requests"] - served_before
    assert status == 1, output
    assert {row[5] for row in table_rows(output) if row[1] == SEMINAR_ADD} == {"invalid_token"}
    assert f"FAIL: {SEMINAR_ADD} (app 2): " in output
    assert "トークン1" not in output
    # view, live form, add, edit, delete, manage for each other token; the edit-only one
    # cannot read the live form, so it is sent no add (sekisho.tokens.probe).
    edit_only = {SEMINAR_EDIT, "sekisho/kintone/seminar-correct"}
    expected = sum(5 if name in edit_only else 6 for name in DEMO_TOKENS if name != SEMINAR_ADD)
    assert served == expected, "the other tokens only"


def test_sekisho_probe_takes_kintone_from_the_environment(
    kintone: RunningEmulator, secretsmanager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KINTONE_BASE_URL", kintone.url)

    status, output = sekisho_probe(str(REPO_POLICY))

    assert status == 0, output
    assert kintone.url in output


def test_sekisho_probe_reports_a_missing_secret_as_a_configuration_error(
    kintone: RunningEmulator, secretsmanager: Any
) -> None:
    secretsmanager.delete_secret(SecretId=DEALS_REFETCH, ForceDeleteWithoutRecovery=True)

    status, output = sekisho_probe(str(REPO_POLICY), "--base-url", kintone.url)

    assert status == 2
    assert DEALS_REFETCH in output
    assert f"1 of {DEMO_COUNT} token secrets were not probed" in output
    assert len(table_rows(output)) == (DEMO_ROUTES - 1) * 5
    assert_no_token_value(output)


def test_sekisho_probe_refuses_a_secret_that_is_no_kintone_token(
    kintone: RunningEmulator, secretsmanager: Any
) -> None:
    secretsmanager.put_secret_value(
        SecretId=SEMINAR_ADD, SecretString=json.dumps({"kind": "hmac", "key": "k" * 32})
    )

    status, output = sekisho_probe(str(REPO_POLICY), "--base-url", kintone.url)

    assert status == 2
    assert f"{SEMINAR_ADD}' is not a kintone-token" in output
    assert "k" * 32 not in output


def test_sekisho_probe_refuses_an_invalid_policy(tmp_path: Path, secretsmanager: Any) -> None:
    broken = yaml.safe_load(REPO_POLICY.read_text(encoding="utf-8"))
    broken["views"]["deal-status"]["app"] = 99
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(broken, allow_unicode=True), encoding="utf-8")

    status, output = sekisho_probe(str(path))

    assert status == 2
    assert "error: views.deal-status.app: app 99 is not declared under apps" in output


def test_sekisho_probe_refuses_a_base_url_that_is_no_url(secretsmanager: Any) -> None:
    status, output = sekisho_probe(str(REPO_POLICY), "--base-url", "kintone.example")

    assert status == 2
    assert "kintone base URL" in output
