"""The deliverer over in-memory twins: exactly once, never dropped, never hammering."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)

from sekisho.errors import OutOfTime
from sekisho.intake.attachments import InMemoryAttachmentStore
from sekisho.intake.delivery import (
    DELIVER_BREAKER_RESET_SECONDS,
    MAX_VISIBILITY_SECONDS,
    DeliverService,
    backoff_seconds,
)
from sekisho.intake.errors import (
    AttachmentMissing,
    AttachmentsUnavailable,
    MalformedMessage,
)
from sekisho.intake.message import QueuedAttachment, QueuedSubmission
from sekisho.intake.queue import InMemoryQueue
from sekisho.intake.receipts import new_receipt
from sekisho.intake.reply import Replies
from sekisho.intake.reply_job import ReplyJob
from sekisho.kintone import client as kintone_client
from sekisho.kintone.breaker import CircuitBreaker
from sekisho.kintone.client import TokenSource
from sekisho.kintone.errors import (
    KintoneCircuitOpen,
    KintoneMaintenance,
    KintonePermissionDenied,
    KintoneUniqueViolation,
)
from sekisho.mail.sender import InMemoryMailer
from sekisho.once import InMemoryPersistenceLayer
from sekisho.policy.validation import load_policy
from sekisho.redelivery import InMemoryVisibility

ROOT = Path(__file__).resolve().parents[2]
SENT = 1_763_700_000  # the SentTimestamp InMemoryQueue gives every message, in seconds
ARN = "arn:aws:sqs:ap-northeast-1:123456789012:IntakeQueue"
PDF = b"%PDF-1.4\n%%EOF\n"
RECORD = {"氏名": "鈴木 次郎", "メール": "jiro@example.com", "人数": "3", "受付経路": "web"}
DUPLICATE = "This value already exists in another record."


class FakeKintone:
    def __init__(self) -> None:
        self.failures: list[Exception] = []
        self.uploads: list[tuple[str, bytes, str]] = []
        self.added: list[tuple[int, dict]] = []
        self.receipts: set[str] = set()

    def _maybe_fail(self) -> None:
        if self.failures:
            raise self.failures.pop(0)

    def upload_file(self, filename: str, content: bytes, content_type: str) -> str:
        self._maybe_fail()
        self.uploads.append((filename, content, content_type))
        return f"file-key-{len(self.uploads)}"

    def add_record(self, app: int, record: dict) -> None:
        self._maybe_fail()
        # Like kintone: the receipt field is unique.
        if record["受付ID"] in self.receipts:
            raise KintoneUniqueViolation(
                DUPLICATE,
                kintone_code="CB_VA01",
                http_status=400,
                field_errors={"record.受付ID.value": [DUPLICATE]},
            )
        self.receipts.add(record["受付ID"])
        self.added.append((app, dict(record)))

    def __getattr__(self, name: str):
        raise AssertionError(f"the deliverer called kintone's {name}")


class Context:
    def __init__(self, remaining_ms: int = 30_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class Harness:
    def __init__(self) -> None:
        self.kintone = FakeKintone()
        self.files = InMemoryAttachmentStore()
        self.visibility = InMemoryVisibility()
        self.queue = InMemoryQueue(ARN)
        self.breaker = CircuitBreaker()
        self.mailer = InMemoryMailer()
        self.service = DeliverService(
            load_policy(ROOT / "policy.yaml"),
            lambda name: TokenSource.fixed("unused"),
            "https://example.cybozu.com",
            attachments=self.files,
            visibility=self.visibility,
            client_factory=lambda url, token, breaker: self.kintone,
            breaker=self.breaker,
            rand=lambda low, high: high,
            # Every test message was sent at SentTimestamp 1763700000000 (see
            # InMemoryQueue); this clock reads ten minutes later.
            clock=lambda: SENT + 600,
            replies=Replies(self.mailer, InMemoryPersistenceLayer()),
        )

    def enqueue(self, message: QueuedSubmission | str) -> None:
        body = message if isinstance(message, str) else message.to_json()
        receipt = message.receipt if isinstance(message, QueuedSubmission) else "x"
        self.queue.send(body, receipt)

    def run_batch(self, context: Context | None = None) -> dict:
        """One invocation of DeliverFunction over the queue's next batch."""
        event = self.queue.sqs_event()
        response = process_partial_response(
            event=event,
            record_handler=self.service.deliver_record,
            processor=BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False),
            context=context or Context(),
        )
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        self.queue.remove(r["messageId"] for r in event["Records"] if r["messageId"] not in failed)
        return response


@pytest.fixture
def deliver() -> Harness:
    return Harness()


def submission(*, attachments: tuple[QueuedAttachment, ...] = (), **changes) -> QueuedSubmission:
    values = {
        "receipt": new_receipt(),
        "form": "seminar-apply",
        "record": dict(RECORD),
        "attachments": attachments,
        "accepted_at": "2025-11-21T05:00:00Z",
    }
    return QueuedSubmission(**(values | changes))


def with_cv(deliver: Harness, data: bytes = PDF) -> QueuedSubmission:
    receipt = new_receipt()
    key = f"attachments/{receipt}/0"
    deliver.files.put(key, data)
    cv = QueuedAttachment(
        "履歴書", "cv.pdf", "application/pdf", len(PDF), hashlib.sha256(PDF).hexdigest(), key
    )
    return submission(receipt=receipt, attachments=(cv,))


# ------------------------------------------------------------------------ delivered


def test_a_queued_submission_is_recorded_with_its_receipt(deliver):
    message = submission()
    deliver.enqueue(message)
    response = deliver.run_batch()
    assert response == {"batchItemFailures": []}
    assert deliver.kintone.added == [(2, {**RECORD, "受付ID": message.receipt})]
    assert deliver.queue.messages == []


def test_a_submission_queued_with_a_legacy_uuid_receipt_is_still_recorded(deliver):
    # Queued before receipts were short, delivered after the deploy.
    message = submission(receipt="0d8e9c1a-2b3c-4d5e-8f90-a1b2c3d4e5f6")
    deliver.enqueue(message)
    assert deliver.run_batch() == {"batchItemFailures": []}
    assert deliver.kintone.added == [(2, {**RECORD, "受付ID": message.receipt})]


def test_the_same_message_delivered_twice_is_recorded_once(deliver):
    message = submission()
    deliver.enqueue(message)
    deliver.enqueue(message)
    assert deliver.run_batch() == {"batchItemFailures": []}
    assert len(deliver.kintone.added) == 1


def test_a_unique_violation_on_the_receipt_means_already_recorded(deliver):
    message = submission()
    deliver.kintone.receipts.add(message.receipt)
    outcome = deliver.service.deliver(message)
    assert outcome == "duplicate"


def test_a_unique_violation_on_another_field_is_a_failure(deliver):
    deliver.kintone.failures.append(
        KintoneUniqueViolation(
            DUPLICATE,
            kintone_code="CB_VA01",
            http_status=400,
            field_errors={"record.メール.value": [DUPLICATE]},
        )
    )
    deliver.enqueue(submission())
    assert len(deliver.run_batch()["batchItemFailures"]) == 1
    assert len(deliver.queue.messages) == 1


def test_the_delivery_batch_event_records_its_submission_once(deliver):
    event = json.loads((ROOT / "events" / "deliver_batch.json").read_text(encoding="utf-8"))
    response = process_partial_response(
        event=event,
        record_handler=deliver.service.deliver_record,
        processor=BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False),
        context=Context(),
    )
    assert response == {"batchItemFailures": []}
    [(_, record)] = deliver.kintone.added
    assert record["受付ID"] == "0d8e9c1a-2b3c-4d5e-8f90-a1b2c3d4e5f6"


# ---------------------------------------------------------------------- attachments


def test_attachments_come_back_from_the_bucket_and_are_attached(deliver):
    message = with_cv(deliver)
    deliver.enqueue(message)
    deliver.run_batch()
    assert deliver.kintone.uploads == [("cv.pdf", PDF, "application/pdf")]
    assert deliver.kintone.added[0][1]["履歴書"] == [{"fileKey": "file-key-1"}]


def test_after_delivery_the_files_are_deleted_and_a_marker_remains(deliver):
    message = with_cv(deliver)
    deliver.service.deliver(message)
    assert deliver.files.keys() == [f"attachments/{message.receipt}/delivered"]


def test_a_duplicate_delivery_after_the_files_are_gone_is_done_without_kintone(deliver):
    message = with_cv(deliver)
    deliver.service.deliver(message)
    deliver.kintone.uploads.clear()
    assert deliver.service.deliver(message) == "duplicate"
    assert deliver.kintone.uploads == []
    assert len(deliver.kintone.added) == 1


def test_an_altered_attachment_is_never_written(deliver):
    message = with_cv(deliver, data=b"%PDF-1.4\nsomething else\n")
    with pytest.raises(AttachmentMissing):
        deliver.service.deliver(message)
    assert deliver.kintone.added == []
    assert deliver.kintone.uploads == []


def test_a_missing_attachment_without_a_marker_is_a_failure_not_a_record(deliver):
    message = with_cv(deliver)
    deliver.files.delete([message.attachments[0].s3_key])
    deliver.enqueue(message)
    assert len(deliver.run_batch()["batchItemFailures"]) == 1
    assert deliver.kintone.added == []


def test_an_unreadable_bucket_defers_the_delivery(deliver):
    message = with_cv(deliver)
    deliver.files.fail = True
    with pytest.raises(AttachmentsUnavailable):
        deliver.service.deliver_record(_record(message))
    assert deliver.visibility.delays


# ------------------------------------------------------------------------ refusals

MALFORMED = {
    "not-json": "{",
    "wrong-version": submission().to_json().replace('"v":1', '"v":2'),
    "unknown-form": submission(form="all-records").to_json(),
    "undeclared-field": submission(record={**RECORD, "社内メモ": "x"}).to_json(),
    "receipt-field-in-record": submission(record={**RECORD, "受付ID": "x"}).to_json(),
    "file-field-as-value": submission(record={**RECORD, "履歴書": "x"}).to_json(),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_message_fails_every_time_and_is_never_written(deliver, body, caplog):
    caplog.set_level(logging.INFO)
    deliver.enqueue(body)
    for _ in range(3):
        assert len(deliver.run_batch()["batchItemFailures"]) == 1
    assert len(deliver.queue.messages) == 1  # until the redrive policy takes it to the DLQ
    assert deliver.kintone.added == []
    assert [seconds for _, seconds in deliver.visibility.delays] == [60] * 3
    assert any(r.levelno == logging.ERROR for r in caplog.records)


def test_a_message_whose_receipt_attribute_differs_from_its_body_is_malformed(deliver):
    record = _record(submission())
    record["messageAttributes"]["receipt"]["stringValue"] = new_receipt()
    with pytest.raises(MalformedMessage):
        deliver.service.deliver_record(record)


def test_a_permanent_kintone_refusal_fails_and_backs_off_like_the_rest(deliver):
    deliver.kintone.failures.append(
        KintonePermissionDenied("no", kintone_code="GAIA_NO01", http_status=403)
    )
    deliver.enqueue(submission())
    assert len(deliver.run_batch()["batchItemFailures"]) == 1
    assert [seconds for _, seconds in deliver.visibility.delays] == [60]


# ------------------------------------------------------------------------- backoff


def test_a_transient_failure_fails_the_record_and_pushes_its_visibility_out(deliver):
    deliver.kintone.failures.append(KintoneMaintenance("maintenance", http_status=503))
    message = submission()
    deliver.enqueue(message)
    deliver.enqueue(submission())
    response = deliver.run_batch()
    assert len(response["batchItemFailures"]) == 1
    assert [seconds for _, seconds in deliver.visibility.delays] == [60]
    assert len(deliver.kintone.added) == 1


@pytest.mark.parametrize(
    ("age", "low", "high"),
    [
        (0, 2, 5),  # just sent: the minimum
        (30, 2, 5),
        (120, 6, 12),  # two minutes old: a tenth of it
        (3600, 180, 360),  # an hour: six minutes
        (9000, 450, 900),  # two and a half hours: the cap
        (4 * 86400, 450, 900),
    ],
)
def test_the_backoff_is_a_tenth_of_the_messages_age_within_bounds(age, low, high):
    assert backoff_seconds(age, lambda a, b: a) == low
    assert backoff_seconds(age, lambda a, b: b) == high
    assert high <= MAX_VISIBILITY_SECONDS


def test_the_backoff_follows_the_time_since_the_message_was_sent(deliver):
    deliver.kintone.failures.append(KintoneMaintenance("maintenance", http_status=503))
    record = _record(submission(), receive_count=4)
    record["attributes"]["SentTimestamp"] = str((SENT - 3000) * 1000)
    with pytest.raises(KintoneMaintenance):
        deliver.service.deliver_record(record)
    assert deliver.visibility.delays == [(record["receiptHandle"], 360)]


def test_with_the_breaker_open_the_rest_of_the_batch_fails_fast_without_kintone(deliver):
    for _ in range(deliver.breaker.failure_threshold):
        deliver.breaker.record_failure()
    message = with_cv(deliver)
    deliver.enqueue(message)
    deliver.enqueue(submission())
    deliver.files.fail = True  # not even the bucket is touched
    response = deliver.run_batch()
    assert len(response["batchItemFailures"]) == 2
    assert deliver.kintone.added == []
    assert len(deliver.visibility.delays) == 2


def test_the_breaker_open_error_is_transient(deliver):
    for _ in range(deliver.breaker.failure_threshold):
        deliver.breaker.record_failure()
    with pytest.raises(KintoneCircuitOpen):
        deliver.service.deliver(submission())


def test_with_too_little_time_left_the_message_is_left_for_a_later_invocation(deliver):
    deliver.enqueue(submission())
    response = deliver.run_batch(Context(remaining_ms=5_000))
    assert len(response["batchItemFailures"]) == 1
    assert deliver.kintone.added == []
    with pytest.raises(OutOfTime):
        deliver.service.deliver(submission(), Context(remaining_ms=5_000))


# --------------------------------------------------------------------------- audit


def test_each_delivery_is_audited_with_its_receipt_and_no_values(deliver, caplog):
    caplog.set_level(logging.INFO)
    message = submission()
    deliver.enqueue(message)
    deliver.enqueue(message)
    deliver.run_batch()
    lines = [r for r in caplog.records if getattr(r, "audit", False)]
    # The form has reply: its mail is sent once, after the record exists.
    assert [(r.action, r.outcome, r.receipt) for r in lines] == [
        ("reply", "sent", message.receipt),
        ("deliver", "recorded", message.receipt),
        ("reply", "already_sent", message.receipt),
        ("deliver", "duplicate", message.receipt),
    ]
    everything = json.dumps([vars(r) for r in caplog.records], ensure_ascii=False, default=str)
    assert "jiro@example.com" not in everything
    assert "鈴木" not in everything


def _record(message: QueuedSubmission, receive_count: int = 1) -> dict:
    queue = InMemoryQueue(ARN)
    queue.send(message.to_json(), message.receipt)
    event = queue.sqs_event()
    record = event["Records"][0]
    record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
    return record


def test_the_deliverers_own_breaker_lets_a_trial_through_a_second_after_opening(monkeypatch):
    # So a queue starts draining within a second of kintone's return.
    monkeypatch.setattr(kintone_client, "_breakers", {})
    service = DeliverService(
        load_policy(ROOT / "policy.yaml"),
        lambda name: TokenSource.fixed("unused"),
        "https://drain.example.cybozu.com",
        attachments=InMemoryAttachmentStore(),
        visibility=InMemoryVisibility(),
    )
    assert service._breaker.reset_after == DELIVER_BREAKER_RESET_SECONDS == 1.0
    assert service._breaker is kintone_client.breaker_for("https://drain.example.cybozu.com")


def test_a_domains_breaker_keeps_the_reset_it_was_made_with(monkeypatch):
    monkeypatch.setattr(kintone_client, "_breakers", {})
    made = kintone_client.breaker_for("https://a.example.cybozu.com", reset_after=1.0)
    assert kintone_client.breaker_for("https://a.example.cybozu.com") is made
    assert made.reset_after == 1.0
    assert kintone_client.breaker_for("https://b.example.cybozu.com").reset_after == 5.0


# ------------------------------------------------------------------- the reply's mail


def test_a_queued_submission_is_mailed_once_after_its_record_is_written(deliver):
    message = submission(language="en")
    deliver.enqueue(message)
    deliver.enqueue(message)
    deliver.run_batch()
    assert len(deliver.kintone.added) == 1
    [mail] = deliver.mailer.sent
    assert mail.subject == "We have received your seminar application"
    assert message.receipt in mail.text


def test_a_failed_mail_fails_the_message_and_its_retry_writes_no_second_record(deliver):
    message = with_cv(deliver)
    deliver.enqueue(message)
    deliver.mailer.fail = True
    response = deliver.run_batch()
    assert len(response["batchItemFailures"]) == 1
    assert len(deliver.kintone.added) == 1
    assert deliver.visibility.delays  # backed off like any failed delivery
    deliver.mailer.fail = False
    assert deliver.run_batch() == {"batchItemFailures": []}
    # The files were delivered: the marker says so, kintone is not asked again.
    assert len(deliver.kintone.added) == 1
    assert len(deliver.mailer.sent) == 1


def test_a_reply_job_is_mailed_without_calling_kintone(deliver):
    receipt = new_receipt()
    job = ReplyJob(receipt, "seminar-apply", "jiro@example.com", "ja", {"name": "鈴木"}, "now")
    deliver.queue.send(job.to_json(), receipt)
    deliver.kintone.failures.append(AssertionError("kintone was called"))
    assert deliver.run_batch() == {"batchItemFailures": []}
    assert deliver.kintone.added == []
    [mail] = deliver.mailer.sent
    assert (mail.to, mail.subject) == ("jiro@example.com", "セミナーのお申し込みを受け付けました")


def test_a_reply_job_whose_receipt_attribute_differs_is_refused(deliver):
    job = ReplyJob(new_receipt(), "seminar-apply", "jiro@example.com", "ja", {}, "now")
    deliver.queue.send(job.to_json(), new_receipt())
    assert len(deliver.run_batch()["batchItemFailures"]) == 1
    assert deliver.mailer.sent == []
