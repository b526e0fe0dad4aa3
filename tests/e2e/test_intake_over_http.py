"""The intake route over HTTP on the local stack: what a browser can and cannot write into
kintone, and exactly-once delivery through maintenance, duplicates and retries."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests

from devstack import stack as devstack
from devstack.stack import RunningStack
from sekisho.intake.receipts import SHORT_PATTERN, normalize_receipt
from sekisho.kintone.client import KintoneClient, TokenSource

REPO = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
VALID = {"name": "山田 花子", "email": "hanako@example.com", "seats": 2}


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    # The pump is driven by hand (pump_once) so delivery happens when the test says.
    with devstack.start(repo_root=REPO, pump=False) as running:
        yield running


@pytest.fixture
def clean(stack) -> RunningStack:
    requests.post(f"{stack.kintone.url}/_emulator/reset", json={}, timeout=10)
    return stack


def submit(stack, fields, *, key=None, raw=None) -> requests.Response:
    headers = {"content-type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    return requests.post(
        f"{stack.router_url}/forms/seminar-apply",
        json=None if raw is not None else {"fields": fields},
        data=raw,
        headers=headers,
        timeout=60,
    )


def applications(stack) -> list[dict]:
    """Every record of the seminar app the test's applications made (the seed's demo
    application is left out), read with the emulator's demo view token (the intake path
    holds no token that can read this app)."""
    client = KintoneClient(stack.kintone.url, TokenSource.fixed("seminar-view-token"))
    seeded = {str(r.get("受付ID")) for r in stack.kintone.emulator.store.seed.apps[2].records}
    records = client.get_records(2, "order by $id asc limit 500").records
    return [r for r in records if r["受付ID"]["value"] not in seeded]


def pdf(name="cv.pdf", data=PDF, content_type="application/pdf"):
    return [
        {"filename": name, "content_type": content_type, "data": base64.b64encode(data).decode()}
    ]


def test_a_valid_application_records_exactly_the_declared_fields_presets_and_receipt(clean):
    answer = submit(clean, {**VALID, "cv": pdf()})
    assert answer.status_code == 201, answer.text
    receipt = answer.json()["receipt"]
    assert answer.json()["status"] == "recorded"
    assert re.fullmatch(SHORT_PATTERN, receipt)
    assert normalize_receipt(receipt.lower().replace("-", "")) == receipt
    (record,) = applications(clean)
    written = {
        code: cell["value"] for code, cell in record.items() if cell["value"] not in ("", [])
    }
    assert written.pop("履歴書")[0]["name"] == "cv.pdf"
    for system in ("$id", "$revision", "レコード番号", "作成日時", "更新日時"):
        written.pop(system)
    assert written == {
        "氏名": "山田 花子",
        "メール": "hanako@example.com",
        "人数": "2",
        "受付経路": "web",
        "支払状況": "未払い",
        "申込状況": "申込",
        "受付ID": receipt,
    }


@pytest.mark.parametrize(
    ("fields", "pointer", "code"),
    [
        ({**VALID, "社内メモ": "x"}, "/fields/社内メモ", "unknown"),
        ({**VALID, "受付経路": "phone"}, "/fields/受付経路", "unknown"),
        ({**VALID, "受付ID": "mine"}, "/fields/受付ID", "unknown"),
        ({**VALID, "seats": "two"}, "/fields/seats", "type"),
        ({**VALID, "seats": 9}, "/fields/seats", "range"),
        ({**VALID, "name": "x" * 101}, "/fields/name", "length"),
        ({**VALID, "email": "not-an-email"}, "/fields/email", "email"),
        ({"email": "a@example.com"}, "/fields/name", "required"),
        ({**VALID, "cv": pdf(data=PNG)}, "/fields/cv", "file_type"),
        ({**VALID, "cv": pdf(data=PDF + b"0" * 2_100_000)}, "/fields/cv", "file_size"),
        ({**VALID, "cv": pdf(name="../../etc/passwd.pdf")}, "/fields/cv", "file_name"),
        ({**VALID, "cv": pdf(name="C:\\cv.pdf")}, "/fields/cv", "file_name"),
        ({**VALID, "cv": pdf() + pdf()}, "/fields/cv", "file_count"),
    ],
)
def test_bad_applications_get_field_errors_and_write_nothing(clean, fields, pointer, code):
    answer = submit(clean, fields)
    assert answer.status_code == 400, answer.text
    assert (pointer, code) in {(e["pointer"], e["code"]) for e in answer.json()["errors"]}
    assert applications(clean) == []


def test_a_filled_honeypot_looks_accepted_and_writes_nothing(clean):
    answer = submit(clean, {**VALID, "website": "http://spam.example"})
    assert answer.status_code == 201
    assert re.fullmatch(SHORT_PATTERN, answer.json()["receipt"])
    assert applications(clean) == []


def test_in_maintenance_applications_are_queued_then_recorded_once_each(clean):
    admin = f"{clean.kintone.url}/_emulator/maintenance"
    requests.post(admin, json={"enabled": True}, timeout=10)
    key = str(uuid.uuid4())
    first = submit(clean, {**VALID, "cv": pdf()}, key=key)
    retry = submit(clean, {**VALID, "cv": pdf()}, key=key)  # the browser retries
    other = submit(clean, {**VALID, "name": "鈴木 一郎"})
    assert (first.status_code, first.json()["status"]) == (202, "queued")
    assert retry.json() == first.json()
    assert other.status_code == 202
    requests.post(admin, json={"enabled": False}, timeout=10)

    while clean.pump_once("DeliverFunction").received:
        pass
    receipts = [r["受付ID"]["value"] for r in applications(clean)]
    assert sorted(receipts) == sorted([first.json()["receipt"], other.json()["receipt"]])


def test_the_same_key_with_a_different_body_is_refused(clean):
    key = str(uuid.uuid4())
    assert submit(clean, VALID, key=key).status_code == 201
    again = submit(clean, {**VALID, "seats": 3}, key=key)
    assert (again.status_code, again.json()["code"]) == (422, "idempotency_key_reused")
    assert len(applications(clean)) == 1


@pytest.fixture
def spent(clean) -> Iterator[RunningStack]:
    """The stack with the form's per-IP counters cleared afterwards: the test spends the
    hour's submissions of the one address the local stack sees."""
    yield clean
    table = (
        boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="ap-northeast-1",
        )
        .resource("dynamodb", endpoint_url=clean.moto_url)
        .Table("GuardTable")
    )
    for item in table.scan()["Items"]:
        if str(item["pk"]).startswith("form:"):
            table.delete_item(Key={"pk": item["pk"]})


def test_a_replay_after_the_limit_is_reached_still_gets_its_first_answer(spent):
    key = str(uuid.uuid4())
    first = submit(spent, VALID, key=key)
    assert first.status_code == 201, first.text
    # Spend what is left of the hour with refused bodies (they count too).
    for _ in range(25):
        refused = submit(spent, {"email": "a@example.com"})
        if refused.status_code == 429:
            break
        assert refused.status_code == 400
    assert submit(spent, VALID, key=str(uuid.uuid4())).status_code == 429
    again = submit(spent, VALID, key=key)
    assert (again.status_code, again.json()) == (201, first.json())
    other = submit(spent, {**VALID, "seats": 3}, key=key)
    assert (other.status_code, other.json()["code"]) == (429, "rate_limited")
    assert [r["受付ID"]["value"] for r in applications(spent)] == [first.json()["receipt"]]
