"""Seats at intake: taken before kintone or the queue, given back when no record comes of
the submission, a waitlist past them, and the receipt's state (moto's DynamoDB)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from sekisho.entries.errors import CapacityFull
from sekisho.entries.facts import FormFacts
from sekisho.entries.ledger import EntryLedger
from sekisho.entries.status import ReceiptStatus
from sekisho.errors import NotFound, RateLimited, UpstreamError
from sekisho.guard.guard import Guard
from sekisho.guard.memory import InMemoryGuardStore
from sekisho.intake.attachments import InMemoryAttachmentStore
from sekisho.intake.idempotency import Idempotency, InMemoryPersistenceLayer
from sekisho.intake.outbox import Outbox
from sekisho.intake.queue import InMemoryQueue
from sekisho.intake.receipts import normalize_receipt
from sekisho.intake.request import IntakeRequest
from sekisho.intake.service import IntakeService
from sekisho.kintone.client import TokenSource
from sekisho.kintone.errors import KintoneMaintenance, KintoneValidationError
from sekisho.policy.validation import parse_policy
from sekisho.switches import RouteSwitches

IP = "203.0.113.7"
POLICY = """
kintone: {base_url: https://example.cybozu.com}
apps:
  2:
    name: seminar
    fields:
      受付ID: SINGLE_LINE_TEXT
      氏名: SINGLE_LINE_TEXT
      人数: NUMBER
      回: DROP_DOWN
      申込状況: DROP_DOWN
forms:
  seats:
    app: 2
    token_secret: sekisho/kintone/seminar-add
    receipt_field: 受付ID
    guard: {per_ip: 1000/hour, receipts_per_ip: 3/hour}
    fields:
      name: {code: 氏名, type: text, required: true}
      people: {code: 人数, type: number, min: 1, max: 5, decimals: 0}
      session: {code: 回, type: choice, options: [A, B, C]}
    set: {申込状況: 申込}
    capacity: {seats: 6, by: session, choices: {A: 4, B: 3}, count: people}
  waiting:
    app: 2
    token_secret: sekisho/kintone/seminar-add
    receipt_field: 受付ID
    guard: {per_ip: 1000/hour}
    fields:
      name: {code: 氏名, type: text, required: true}
    set: {申込状況: 申込}
    capacity: {seats: 1}
    waitlist: {field: 申込状況, value: キャンセル待ち}
  honeypot:
    app: 2
    token_secret: sekisho/kintone/seminar-add
    receipt_field: 受付ID
    honeypot: website
    guard: {per_ip: 1000/hour}
    fields:
      name: {code: 氏名, type: text, required: true}
    capacity: {seats: 1}
  open:
    app: 2
    token_secret: sekisho/kintone/seminar-add
    receipt_field: 受付ID
    fields:
      name: {code: 氏名, type: text, required: true}
"""


class Kintone:
    def __init__(self) -> None:
        self.added: list[dict] = []
        self.failures: list[Exception] = []

    def add_record(self, app: int, record: dict) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.added.append(dict(record))

    def upload_file(self, *args: object) -> str:
        raise AssertionError("no files here")


class World:
    def __init__(self, client) -> None:
        self.policy = parse_policy(POLICY)
        self.kintone = Kintone()
        self.queue = InMemoryQueue()
        self.entries = EntryLedger("entries", client, sleep=lambda _: None)
        guard = Guard(InMemoryGuardStore(), hash_key=b"unit-test-hash-key-0123456789abcdef")
        self.service = IntakeService(
            self.policy,
            lambda name: TokenSource.fixed("unused"),
            guard,
            "https://example.cybozu.com",
            outbox=Outbox(self.queue, InMemoryAttachmentStore()),
            idempotency=Idempotency(InMemoryPersistenceLayer()),
            client_factory=lambda url, token: self.kintone,
            entries=self.entries,
        )
        self.facts = FormFacts(self.policy, self.entries, RouteSwitches())
        self.status = ReceiptStatus(
            self.policy, self.entries, guard, RouteSwitches(), normalize=normalize_receipt
        )

    def submit(self, form: str = "seats", **fields: object):
        body = {"fields": {"name": "山田", **fields}}
        return self.service.submit(IntakeRequest(form, body, IP))

    def left(self, form: str = "seats") -> dict:
        seats = self.facts.facts(form)["seats"]
        left = {key: value["left"] for key, value in seats.get("choices", {}).items()}
        if seats["total"] is not None:
            left["total"] = seats["total"]["left"]
        return left


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-northeast-1")
        client.create_table(
            TableName="entries",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        )
        yield World(client)


def test_an_entry_takes_as_many_seats_as_its_people_on_its_session_and_the_form(world):
    world.submit(people=3, session="B")
    assert world.left() == {"A": 4, "B": 0, "total": 3}


def test_a_full_session_is_refused_without_calling_kintone(world):
    world.submit(people=3, session="B")
    with pytest.raises(CapacityFull) as caught:
        world.submit(people=1, session="B")
    assert caught.value.status == 409
    assert caught.value.code == "capacity_full"
    assert len(world.kintone.added) == 1


def test_the_form_total_bounds_every_session_together(world):
    world.submit(people=4, session="A")
    world.submit(people=2, session="B")
    with pytest.raises(CapacityFull):
        world.submit(people=1, session="C")  # C has no seats of its own, the form is full


def test_an_entry_without_a_count_takes_one_seat(world):
    world.submit(session="A")
    assert world.left()["A"] == 3


def test_a_submission_kintone_refuses_gives_its_seats_back(world):
    world.kintone.failures.append(
        KintoneValidationError("bad", kintone_code="CB_VA01", http_status=400, field_errors={})
    )
    with pytest.raises(UpstreamError):
        world.submit(people=3, session="B")
    assert world.left() == {"A": 4, "B": 3, "total": 6}


def test_a_queued_submission_holds_its_seats_and_says_queued(world):
    world.kintone.failures.append(KintoneMaintenance("down"))
    result = world.submit(people=2, session="B")
    assert result.status_code == 202
    assert world.left()["B"] == 1
    assert world.status.status("seats", result.receipt, IP) == {"status": "queued"}


def test_a_recorded_submission_says_recorded_and_never_a_value(world):
    result = world.submit(people=1, session="A")
    assert world.status.status("seats", result.receipt, IP) == {"status": "recorded"}


def test_an_unknown_receipt_and_another_forms_receipt_are_the_same_404(world):
    result = world.submit(form="open")
    for form, receipt in [("seats", result.receipt), ("open", "not-a-receipt"), ("nope", "x")]:
        with pytest.raises(NotFound):
            world.status.status(form, receipt, IP)


def test_receipt_status_reads_are_counted_per_ip(world):
    result = world.submit(form="seats", session="A")
    for _ in range(3):
        world.status.status("seats", result.receipt, IP)
    with pytest.raises(RateLimited):
        world.status.status("seats", result.receipt, IP)


def test_a_full_form_with_a_waitlist_records_the_entry_as_waitlisted(world):
    first = world.submit(form="waiting")
    second = world.submit(form="waiting")
    assert not first.waitlisted
    assert second.waitlisted
    assert second.body() == {"receipt": second.receipt, "status": "recorded", "waitlisted": True}
    assert [r["申込状況"] for r in world.kintone.added] == ["申込", "キャンセル待ち"]
    assert world.status.status("waiting", second.receipt, IP)["waitlisted"] is True


def test_a_form_without_capacity_has_no_seats_in_its_facts(world):
    assert world.facts.facts("open") == {
        "form": "open",
        "open": True,
        "state": "open",
        "opens": None,
        "closes": None,
        "next_open": None,
        "hours": None,
        "seats": None,
    }


def test_a_filled_honeypot_takes_no_seat_and_its_receipt_says_recorded(world):
    body = {"fields": {"name": "bot", "website": "https://spam.example"}}
    answer = world.service.submit(IntakeRequest("honeypot", body, IP))
    assert answer.status_code == 201
    assert world.kintone.added == []
    assert world.left("honeypot") == {"total": 1}
    assert world.status.status("honeypot", answer.receipt, IP) == {"status": "recorded"}


@pytest.mark.parametrize("people", [2, 2.0, "2"])
def test_a_whole_count_takes_its_seats_however_the_number_is_written(world, people):
    world.submit(people=people, session="A")
    assert world.left()["A"] == 2
