"""The deliverer and the seats: a delivered entry is marked recorded; one kintone refuses,
or one on the queue's last receive, gives its seats back, once."""

from __future__ import annotations

import pytest

from sekisho.entries.ledger import QUEUED, RECORDED, REFUSED
from sekisho.entries.memory import InMemoryEntryLedger
from sekisho.intake.delivery import DeliverService
from sekisho.kintone.client import TokenSource
from sekisho.kintone.errors import KintoneMaintenance, KintoneValidationError
from sekisho.policy.validation import load_policy
from sekisho.redelivery import InMemoryVisibility
from tests.unit.test_intake_delivery import (
    ROOT,
    SENT,
    FakeKintone,
    _record,
    submission,
)

FORM = "seminar-apply"
SESSION_B = {"form": 3, "choice:B": 3}
LIMITS = {"choice:B": 3}


class World:
    def __init__(self, max_receives: int = 300) -> None:
        self.kintone = FakeKintone()
        self.entries = InMemoryEntryLedger()
        self.service = DeliverService(
            load_policy(ROOT / "policy.yaml"),
            lambda name: TokenSource.fixed("unused"),
            "https://example.cybozu.com",
            attachments=None,  # type: ignore[arg-type]  # no attachments here
            visibility=InMemoryVisibility(),
            client_factory=lambda url, token, breaker: self.kintone,
            rand=lambda low, high: high,
            clock=lambda: SENT + 600,
            entries=self.entries,
            max_receives=max_receives,
        )
        self.message = submission(record={"氏名": "鈴木", "人数": "3", "回": "B"})
        self.entries.open(FORM, self.message.receipt, claim={"choice:B": 3}, limits=LIMITS)

    def deliver(self, receive_count: int = 1) -> None:
        self.service.deliver_record(_record(self.message, receive_count))

    def entry(self):
        return self.entries.read(FORM, self.message.receipt)

    def taken(self) -> int:
        return self.entries.taken(FORM, ["choice:B"])["choice:B"]


def test_a_delivered_entry_is_recorded_and_keeps_its_seats():
    world = World()
    world.deliver()
    assert world.entry().status == RECORDED
    assert world.taken() == 3


def test_a_duplicate_delivery_is_a_record_already_and_keeps_its_seats():
    world = World()
    world.deliver()
    world.deliver()
    assert (world.entry().status, world.taken()) == (RECORDED, 3)


def test_an_entry_kintone_refuses_gives_its_seats_back_once():
    world = World()
    refusal = KintoneValidationError(
        "bad", kintone_code="CB_VA01", http_status=400, field_errors={"record.人数.value": []}
    )
    world.kintone.failures += [refusal, refusal]
    for _ in range(2):
        with pytest.raises(KintoneValidationError):
            world.deliver()
    assert (world.entry().status, world.entry().reason, world.taken()) == (
        REFUSED,
        "upstream_error",
        0,
    )


def test_a_transient_failure_keeps_the_seats_until_the_last_receive():
    world = World(max_receives=5)
    world.kintone.failures.append(KintoneMaintenance("down"))
    with pytest.raises(KintoneMaintenance):
        world.deliver(receive_count=4)
    assert (world.entry().status, world.taken()) == (QUEUED, 3)
    world.kintone.failures.append(KintoneMaintenance("down"))
    with pytest.raises(KintoneMaintenance):
        world.deliver(receive_count=5)
    assert (world.entry().status, world.entry().reason, world.taken()) == (
        REFUSED,
        "dead_lettered",
        0,
    )


def test_a_failure_after_the_record_is_written_keeps_its_seats():
    world = World(max_receives=5)
    world.deliver()  # recorded
    world.kintone.failures.append(KintoneMaintenance("down"))
    with pytest.raises(KintoneMaintenance):
        world.deliver(receive_count=5)  # the queue's last receive, and it failed
    assert (world.entry().status, world.taken()) == (RECORDED, 3)
