"""The emulator's unique fields ("値の重複を禁止する") are checked against an index kept beside
the records: a value is taken while a record holds it, and free again once none does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from kintone_emulator import server
from kintone_emulator.server import RunningEmulator

pytestmark = pytest.mark.emulator

DEALS, SEMINAR = 1, 2
ADD, EDITOR = "deals-add-token", "deals-unique-editor-token"
SEMINAR_ADD = "seminar-add-token"
DUPLICATE = "This value already exists in another record."


@pytest.fixture
def call(kintone: RunningEmulator, http: requests.Session):
    token = {"token": EDITOR, "app": DEALS, "permissions": ["view", "edit", "delete"]}
    http.post(kintone.url + "/_emulator/tokens", json=token).raise_for_status()

    def call(method: str, path: str, token: str, body: dict[str, Any]) -> requests.Response:
        headers = {"X-Cybozu-API-Token": token}
        return http.request(method, kintone.url + path, headers=headers, json=body, timeout=10)

    return call


def add(call, app: int, token: str, record: dict[str, str]) -> requests.Response:
    body = {"app": app, "record": {code: {"value": value} for code, value in record.items()}}
    return call("POST", "/k/v1/record.json", token, body)


def refused_as_duplicate(answer: requests.Response, code: str) -> bool:
    if answer.status_code != 400:
        return False
    errors = answer.json()["errors"]
    return errors == {f"record.{code}.value": {"messages": [DUPLICATE]}}


def test_a_value_added_once_is_refused_the_second_time(call) -> None:
    first = add(call, SEMINAR, SEMINAR_ADD, {"受付ID": "r-1", "氏名": "x", "メール": "x@e.com"})
    second = add(call, SEMINAR, SEMINAR_ADD, {"受付ID": "r-1", "氏名": "y", "メール": "y@e.com"})

    assert first.status_code == 200
    assert refused_as_duplicate(second, "受付ID")


def test_a_value_freed_by_deleting_its_record_can_be_added_again(call) -> None:
    call("DELETE", "/k/v1/records.json", EDITOR, {"app": DEALS, "ids": [1]})

    answer = add(call, DEALS, ADD, {"取引ID": "D000001"})

    assert answer.status_code == 200, answer.text


def test_a_value_freed_by_updating_its_record_can_be_taken_by_another(call) -> None:
    moved = {"app": DEALS, "id": 1, "record": {"取引ID": {"value": "D000101"}}}
    call("PUT", "/k/v1/record.json", EDITOR, moved).raise_for_status()

    freed = add(call, DEALS, ADD, {"取引ID": "D000001"})
    taken = add(call, DEALS, ADD, {"取引ID": "D000101"})

    assert freed.status_code == 200, freed.text
    assert refused_as_duplicate(taken, "取引ID")


def test_unique_values_still_hold_when_the_database_file_is_opened_again(tmp_path: Path) -> None:
    db = str(tmp_path / "kintone.sqlite")
    with server.start(db=db) as first, requests.Session() as http:
        http.trust_env = False
        body = {
            "app": SEMINAR,
            "record": {
                "受付ID": {"value": "kept"},
                "氏名": {"value": "x"},
                "メール": {"value": "x@e.com"},
            },
        }
        headers = {"X-Cybozu-API-Token": SEMINAR_ADD}
        http.post(f"{first.url}/k/v1/record.json", json=body, headers=headers).raise_for_status()

    with server.start(db=db) as again, requests.Session() as http:
        http.trust_env = False
        answer = http.post(f"{again.url}/k/v1/record.json", json=body, headers=headers)

    assert refused_as_duplicate(answer, "受付ID")
