"""The entries table: seats taken and given back atomically, each exactly once (moto)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from sekisho.entries.errors import CapacityFull, EntryMoved, ReceiptTaken
from sekisho.entries.ledger import CANCELLED, RECORDED, REFUSED, EntryLedger

TABLE = "entries"
LIMITS = {"form": 5, "choice:B": 3}


@pytest.fixture
def serializable_transactions(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB runs each TransactWriteItems serializably; moto's in-process backend checks
    the conditions and writes without a lock, so threads can interleave inside one (two
    transactions then both see a seat left). The lock gives moto the guarantee the
    service has: what the tests check is the ledger's use of it."""
    lock = threading.Lock()
    original = DynamoDBBackend.transact_write_items

    def serialized(self: DynamoDBBackend, *args: object, **kwargs: object) -> None:
        with lock:
            original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", serialized)


@pytest.fixture
def ledger(serializable_transactions: None) -> Iterator[EntryLedger]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-northeast-1")
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        )
        yield EntryLedger(TABLE, client, sleep=lambda _: None)


def test_an_entry_takes_its_seats_on_every_counter_it_names(ledger: EntryLedger) -> None:
    ledger.open("f", "R1", claim={"form": 2, "choice:B": 2}, limits=LIMITS)
    assert ledger.taken("f", ["form", "choice:B", "choice:A"]) == {
        "form": 2,
        "choice:B": 2,
        "choice:A": 0,
    }
    entry = ledger.read("f", "R1")
    assert entry is not None
    assert entry.holds == {"form": 2, "choice:B": 2}


def test_a_full_choice_takes_nothing_from_any_counter(ledger: EntryLedger) -> None:
    ledger.open("f", "R1", claim={"form": 2, "choice:B": 2}, limits=LIMITS)
    with pytest.raises(CapacityFull):
        ledger.open("f", "R2", claim={"form": 2, "choice:B": 2}, limits=LIMITS)
    assert ledger.taken("f", ["form", "choice:B"]) == {"form": 2, "choice:B": 2}
    assert ledger.read("f", "R2") is None


def test_an_entry_larger_than_the_capacity_is_full_at_once(ledger: EntryLedger) -> None:
    with pytest.raises(CapacityFull):
        ledger.open("f", "R1", claim={"choice:B": 4}, limits=LIMITS)


def test_a_receipt_drawn_twice_is_refused_before_any_seat_moves(ledger: EntryLedger) -> None:
    ledger.open("f", "R1", claim={"form": 1}, limits=LIMITS)
    with pytest.raises(ReceiptTaken):
        ledger.open("f", "R1", claim={"form": 1}, limits=LIMITS)
    with pytest.raises(ReceiptTaken):
        ledger.open("f", "R1", claim={}, limits=LIMITS)
    assert ledger.taken("f", ["form"]) == {"form": 1}


def test_seats_are_given_back_once_however_often_it_is_asked(ledger: EntryLedger) -> None:
    ledger.open("f", "R1", claim={"form": 2, "choice:B": 2}, limits=LIMITS)
    assert ledger.release("f", "R1", status=REFUSED, reason="kintone_refused")
    assert ledger.release("f", "R1", status=CANCELLED)
    assert ledger.taken("f", ["form", "choice:B"]) == {"form": 0, "choice:B": 0}
    entry = ledger.read("f", "R1")
    assert entry is not None
    assert entry.status == CANCELLED
    assert entry.holds == {}
    assert not ledger.release("f", "unknown", status=REFUSED)


def test_a_correction_takes_only_the_difference_and_checks_it(ledger: EntryLedger) -> None:
    ledger.open("f", "R1", claim={"choice:B": 1}, limits=LIMITS)
    ledger.open("f", "R2", claim={"choice:B": 1}, limits=LIMITS)
    entry = ledger.read("f", "R1")
    assert entry is not None
    with pytest.raises(CapacityFull):
        ledger.move(entry, {"choice:B": 3}, limits=LIMITS)
    moved = ledger.move(entry, {"choice:B": 2}, limits=LIMITS)
    assert ledger.taken("f", ["choice:B"]) == {"choice:B": 3}
    ledger.move(moved, {"choice:B": 1}, limits=LIMITS)
    assert ledger.taken("f", ["choice:B"]) == {"choice:B": 2}


def test_a_change_from_a_stale_read_is_refused(ledger: EntryLedger) -> None:
    ledger.open("f", "R1", claim={"choice:B": 1}, limits=LIMITS)
    entry = ledger.read("f", "R1")
    assert entry is not None
    ledger.move(entry, {"choice:B": 2}, limits=LIMITS)
    with pytest.raises(EntryMoved):
        ledger.move(entry, {"choice:B": 3}, limits=LIMITS)
    assert ledger.taken("f", ["choice:B"]) == {"choice:B": 2}


def test_marking_keeps_the_seats_and_says_the_state(ledger: EntryLedger) -> None:
    ledger.open("f", "R1", claim={"form": 1}, limits=LIMITS)
    ledger.mark("f", "R1", RECORDED)
    entry = ledger.read("f", "R1")
    assert entry is not None
    assert (entry.status, entry.holds) == (RECORDED, {"form": 1})
    ledger.mark("f", "missing", RECORDED)  # no entry: nothing to mark, no error
    assert ledger.read("f", "missing") is None


def test_concurrent_entries_never_take_more_seats_than_there_are(ledger: EntryLedger) -> None:
    results: list[str] = []

    def apply(index: int) -> None:
        try:
            ledger.open("f", f"R{index}", claim={"choice:B": 1}, limits=LIMITS)
            results.append("taken")
        except CapacityFull:
            results.append("full")

    threads = [threading.Thread(target=apply, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results).count("taken") == 3
    assert ledger.taken("f", ["choice:B"]) == {"choice:B": 3}


def test_a_reconcile_sets_a_counter_only_from_the_value_it_read(ledger: EntryLedger) -> None:
    assert ledger.set_taken("f", "form", expected=0, value=4)
    assert not ledger.set_taken("f", "form", expected=0, value=2)
    assert ledger.set_taken("f", "form", expected=4, value=2)
    assert ledger.taken("f", ["form"]) == {"form": 2}
