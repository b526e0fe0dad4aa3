"""Seats over HTTP on the local stack: GET /forms/seminar-apply shows them, ten browsers
racing for session B's three seats get exactly three, a queued entry can be followed
until it is recorded, and `sekisho seats reconcile` agrees with kintone."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
import requests

from devstack import stack as devstack
from devstack.operator_env import AWS_IDENTITY_VARIABLES, LOCAL_ENTRIES_TABLE, operator_environment
from devstack.stack import RunningStack
from sekisho.cli import main as sekisho
from sekisho.entries.ledger import counter_key
from sekisho.kintone.client import KintoneClient, TokenSource

REPO = Path(__file__).resolve().parents[2]
FORM = "seminar-apply"


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    with devstack.start(repo_root=REPO, pump=False) as running:
        yield running


def facts(stack: RunningStack) -> requests.Response:
    return requests.get(f"{stack.router_url}/forms/{FORM}", timeout=10)


def apply(stack: RunningStack, session: str, seats: int = 1) -> requests.Response:
    body = {"fields": {"name": "山田 花子", "email": "hanako@example.com", "seats": seats}}
    body["fields"]["session"] = session
    return requests.post(
        f"{stack.router_url}/forms/{FORM}",
        json=body,
        headers={"Idempotency-Key": str(uuid.uuid4())},
        timeout=60,
    )


def in_kintone(stack: RunningStack, session: str) -> list[dict]:
    client = KintoneClient(stack.kintone.url, TokenSource.fixed("seminar-view-token"))
    query = f'回 in ("{session}") limit 500'
    return client.get_records(2, query).records


def kintone_requests(stack: RunningStack) -> int:
    return int(requests.get(f"{stack.kintone.url}/_emulator/stats", timeout=10).json()["requests"])


def test_the_form_shows_its_seats_before_anyone_applies(stack):
    answer = facts(stack)
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "public, max-age=5"
    body = answer.json()
    assert (body["form"], body["open"]) == (FORM, True)
    assert body["seats"]["choices"] == {
        "A": {"capacity": 30, "left": 30},
        "B": {"capacity": 3, "left": 3},
    }


def test_ten_concurrent_applications_for_three_seats_get_exactly_three(stack):
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda _: apply(stack, "B"), range(10)))
    statuses = Counter(a.status_code for a in answers)
    assert statuses == {201: 3, 409: 7}
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"capacity_full"}
    assert len(in_kintone(stack, "B")) == 3
    assert facts(stack).json()["seats"]["choices"]["B"] == {"capacity": 3, "left": 0}


def test_a_full_session_is_refused_before_kintone_is_called(stack):
    before = kintone_requests(stack)
    answer = apply(stack, "B")
    assert (answer.status_code, answer.json()["code"]) == (409, "capacity_full")
    assert kintone_requests(stack) == before


def test_a_queued_entry_is_followed_from_queued_to_recorded(stack):
    maintenance = f"{stack.kintone.url}/_emulator/maintenance"
    requests.post(maintenance, json={"enabled": True}, timeout=10).raise_for_status()
    try:
        answer = apply(stack, "A", seats=2)
    finally:
        requests.post(maintenance, json={"enabled": False}, timeout=10).raise_for_status()
    assert (answer.status_code, answer.json()["status"]) == (202, "queued")
    receipt = answer.json()["receipt"]
    status = f"{stack.router_url}/forms/{FORM}/receipts/{receipt}"
    assert requests.get(status, timeout=10).json() == {"status": "queued"}
    assert facts(stack).json()["seats"]["choices"]["A"]["left"] == 28  # held while queued

    stack.pump_once("DeliverFunction")
    assert requests.get(status, timeout=10).json() == {"status": "recorded"}
    unknown = requests.get(f"{stack.router_url}/forms/{FORM}/receipts/{uuid.uuid4()}", timeout=10)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")


@pytest.fixture
def operator(stack: RunningStack, monkeypatch: pytest.MonkeyPatch) -> RunningStack:
    for name in AWS_IDENTITY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    policy = REPO / "policy.yaml"
    for name, value in operator_environment(stack.moto_url, stack.kintone.url, policy).items():
        monkeypatch.setenv(name, value)
    return stack


def test_reconcile_agrees_with_kintone_and_sets_a_drifted_counter_only_when_asked(operator, capsys):
    assert sekisho(["seats", "reconcile", FORM]) == 0
    assert "agrees with kintone" in capsys.readouterr().out

    dynamodb = boto3.client(
        "dynamodb", endpoint_url=operator.moto_url, region_name="ap-northeast-1"
    )
    key = {"pk": {"S": counter_key(FORM, "choice:B")}}
    dynamodb.update_item(
        TableName=LOCAL_ENTRIES_TABLE,
        Key=key,
        UpdateExpression="SET taken = :n",
        ExpressionAttributeValues={":n": {"N": "1"}},
    )
    assert sekisho(["seats", "reconcile", FORM]) == 1
    out = capsys.readouterr().out
    assert "choice:B | 3     | 1            | 3            | -2" in out
    assert "--apply" in out
    assert dynamodb.get_item(TableName=LOCAL_ENTRIES_TABLE, Key=key)["Item"]["taken"]["N"] == "1"

    assert sekisho(["seats", "reconcile", FORM, "--apply"]) == 0
    assert "set: choice:B 1 -> 3" in capsys.readouterr().out
    assert dynamodb.get_item(TableName=LOCAL_ENTRIES_TABLE, Key=key)["Item"]["taken"]["N"] == "3"
