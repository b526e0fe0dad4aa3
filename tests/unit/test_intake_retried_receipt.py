"""A retried submission keeps its receipt: a try that wrote the record and died before its
answer was stored is found by kintone's unique receipt field, never written twice."""

from __future__ import annotations

import pytest

from sekisho.entries.ledger import QUEUED, RECORDED, REFUSED
from sekisho.entries.memory import InMemoryEntryLedger
from sekisho.intake.entries import IntakeEntries
from sekisho.intake.message import QueuedSubmission
from sekisho.intake.receipts import normalize_receipt, receipt_from, retried_receipt
from sekisho.kintone.errors import KintoneMaintenance
from sekisho.policy.validation import parse_policy
from tests.unit.test_intake_service import VALID, Harness, receipt_taken

KEY = "8b0f6a52-3c1d-4e0a-9f55-2f1e6c7d8a90"


def unique_receipts(intake: Harness) -> None:
    """The fake kintone refuses a second record with a receipt it holds, as kintone's
    unique field does."""
    add = intake.kintone.add_record

    def add_unique(app: int, record: dict) -> None:
        if any(held["受付ID"] == record["受付ID"] for _, held in intake.kintone.added):
            raise receipt_taken()
        add(app, record)

    intake.kintone.add_record = add_unique


def die_once_after_the_write(intake: Harness) -> None:
    """The first try's worker goes down after kintone has the record and before the
    answer is stored (the in-progress claim is then taken over by the next try)."""
    mark = intake.entries.mark
    died: list[str] = []

    def mark_or_die(*args, **kwargs):
        if not died:
            died.append("died")
            raise RuntimeError("the worker died")
        return mark(*args, **kwargs)

    intake.entries.mark = mark_or_die


def test_a_derived_receipt_is_canonical_and_the_same_for_the_same_digest():
    digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

    receipt = receipt_from(digest)

    assert normalize_receipt(receipt) == receipt
    assert receipt_from(digest) == receipt
    assert receipt_from("0" + digest[1:]) != receipt


def test_a_retried_receipt_depends_on_the_form_the_key_and_the_body_each():
    receipt = retried_receipt("seminar-apply", KEY, "ab" * 32)

    assert normalize_receipt(receipt) == receipt
    assert retried_receipt("seminar-apply", KEY, "ab" * 32) == receipt
    assert retried_receipt("other-form", KEY, "ab" * 32) != receipt
    assert retried_receipt("seminar-apply", KEY + "0", "ab" * 32) != receipt
    assert retried_receipt("seminar-apply", KEY, "cd" * 32) != receipt
    # Framed: moving a character from one part to the next is another submission.
    assert retried_receipt("seminar-appl", "y" + KEY, "ab" * 32) != receipt


def test_every_try_of_one_submission_gets_the_same_receipt_and_another_body_another():
    first, again, other = Harness(), Harness(), Harness()

    one = first.submit(idempotency_key=KEY).receipt
    two = again.submit(idempotency_key=KEY).receipt
    changed = {"fields": {**VALID["fields"], "seats": 3}}

    assert one == two
    assert other.submit(changed, idempotency_key=KEY).receipt != one
    assert Harness().submit(idempotency_key="another-key-0001").receipt != one


def test_without_a_key_each_submission_draws_a_fresh_receipt():
    intake = Harness()

    assert intake.submit().receipt != intake.submit().receipt


def test_a_retry_after_a_try_died_past_its_write_is_recorded_once_under_the_first_receipt():
    intake = Harness()
    unique_receipts(intake)
    die_once_after_the_write(intake)

    with pytest.raises(RuntimeError):
        intake.submit(idempotency_key=KEY)
    retried = intake.submit(idempotency_key=KEY)

    assert (retried.status_code, retried.status) == (201, "recorded")
    [(_, record)] = intake.kintone.added
    assert record["受付ID"] == retried.receipt
    assert intake.queue.messages == []


def test_a_retry_after_a_try_died_past_queueing_leaves_one_record_for_the_deliverer():
    intake = Harness()
    unique_receipts(intake)
    intake.kintone.failures.append(KintoneMaintenance("maintenance", http_status=503))
    send = intake.queue.send

    def send_and_die(body: str, receipt: str) -> None:
        send(body, receipt)
        intake.queue.send = send
        raise RuntimeError("the worker died")

    intake.queue.send = send_and_die

    with pytest.raises(RuntimeError):
        intake.submit(idempotency_key=KEY)
    retried = intake.submit(idempotency_key=KEY)

    [message] = intake.queue.messages
    assert QueuedSubmission.from_json(message.body).receipt == retried.receipt
    [(_, record)] = intake.kintone.added
    assert record["受付ID"] == retried.receipt  # the deliverer's add is then refused as done


POLICY = """
kintone: {base_url: https://example.cybozu.com}
apps:
  2:
    name: seminar
    fields: {受付ID: SINGLE_LINE_TEXT, 氏名: SINGLE_LINE_TEXT, 申込状況: DROP_DOWN}
forms:
  waiting:
    app: 2
    token_secret: sekisho/kintone/seminar-add
    receipt_field: 受付ID
    fields:
      name: {code: 氏名, type: text, required: true}
    set: {申込状況: 申込}
    capacity: {seats: 1}
    waitlist: {field: 申込状況, value: キャンセル待ち}
"""


@pytest.mark.parametrize(
    ("earlier", "kept"),
    [(QUEUED, True), (RECORDED, True), (REFUSED, False)],
    ids=["queued_entry_kept", "recorded_entry_kept", "refused_entry_not_reused"],
)
def test_a_retried_submission_keeps_the_entry_its_earlier_try_opened(earlier, kept):
    form = parse_policy(POLICY).form("waiting")
    ledger = InMemoryEntryLedger()
    drawn = iter(["0D8E-9C1A-2BD"])
    entries = IntakeEntries(ledger, lambda: next(drawn))
    first = receipt_from("ab" * 16)
    entries.open("waiting", form, {"氏名": "山田"}, first=first)  # the seat
    entries.open("waiting", form, {"氏名": "佐藤"}, first=receipt_from("cd" * 16))  # waitlisted
    if earlier == RECORDED:
        ledger.mark("waiting", first, RECORDED)
    elif earlier == REFUSED:
        ledger.release("waiting", first, status=REFUSED)

    receipt, waitlisted = entries.open("waiting", form, {"氏名": "山田"}, first=first)

    assert receipt == (first if kept else "0D8E-9C1A-2BD")
    # Kept: the seat its earlier try holds, not a place on the waitlist; refused: the
    # seat it gave back is free again.
    assert waitlisted is False


def test_a_retried_submission_keeps_its_place_on_the_waitlist():
    form = parse_policy(POLICY).form("waiting")
    entries = IntakeEntries(InMemoryEntryLedger(), lambda: "0D8E-9C1A-2BD")
    entries.open("waiting", form, {"氏名": "山田"}, first=receipt_from("ab" * 16))
    waiting = receipt_from("cd" * 16)
    assert entries.open("waiting", form, {"氏名": "佐藤"}, first=waiting) == (waiting, True)

    assert entries.open("waiting", form, {"氏名": "佐藤"}, first=waiting) == (waiting, True)
