"""The outbox: files first, then the message; failures are the relay's 503."""

from __future__ import annotations

import hashlib

import pytest

from sekisho.intake.attachments import InMemoryAttachmentStore
from sekisho.intake.errors import OutboxUnavailable
from sekisho.intake.message import QueuedSubmission
from sekisho.intake.outbox import Outbox
from sekisho.intake.queue import InMemoryQueue
from sekisho.intake.writer import AttachmentFile
from sekisho.redelivery import queue_url_from_arn

RECEIPT = "0d8e9c1a-2b3c-4d5e-8f90-a1b2c3d4e5f6"
FILES = [
    AttachmentFile("履歴書", "cv.pdf", "application/pdf", b"%PDF-1 one"),
    AttachmentFile("履歴書", "cv2.pdf", "application/pdf", b"%PDF-1 two"),
]


@pytest.fixture
def outbox():
    queue, files = InMemoryQueue(), InMemoryAttachmentStore()
    return Outbox(queue, files), queue, files


def test_the_files_go_to_the_bucket_and_the_message_names_them(outbox):
    box, queue, files = outbox
    box.put(receipt=RECEIPT, form="seminar-apply", record={"氏名": "花子"}, files=FILES)
    [sent] = queue.messages
    message = QueuedSubmission.from_json(sent.body)
    assert sent.receipt == RECEIPT
    assert [a.s3_key for a in message.attachments] == [
        f"attachments/{RECEIPT}/0",
        f"attachments/{RECEIPT}/1",
    ]
    for item, queued in zip(FILES, message.attachments, strict=True):
        assert files.get(queued.s3_key) == item.data
        assert queued.sha256 == hashlib.sha256(item.data).hexdigest()
        assert (queued.size, queued.filename) == (len(item.data), item.filename)
    assert message.accepted_at.endswith("Z")


def test_the_message_never_carries_file_bytes(outbox):
    box, queue, _ = outbox
    box.put(receipt=RECEIPT, form="seminar-apply", record={}, files=FILES)
    assert "PDF-1" not in queue.messages[0].body


def test_a_bucket_failure_sends_no_message(outbox):
    box, queue, files = outbox
    files.fail = True
    with pytest.raises(OutboxUnavailable) as caught:
        box.put(receipt=RECEIPT, form="seminar-apply", record={}, files=FILES)
    assert caught.value.status == 503
    assert queue.messages == []


def test_a_queue_failure_is_a_503(outbox):
    box, queue, _ = outbox
    queue.fail = True
    with pytest.raises(OutboxUnavailable):
        box.put(receipt=RECEIPT, form="seminar-apply", record={}, files=())


@pytest.mark.parametrize(
    ("arn", "url"),
    [
        (
            "arn:aws:sqs:ap-northeast-1:123456789012:IntakeQueue",
            "https://sqs.ap-northeast-1.amazonaws.com/123456789012/IntakeQueue",
        ),
        (
            "arn:aws-cn:sqs:cn-north-1:123456789012:q",
            "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q",
        ),
    ],
)
def test_a_queue_url_is_derived_from_the_event_source_arn(arn, url):
    assert queue_url_from_arn(arn) == url


@pytest.mark.parametrize(
    "arn", ["", "arn:aws:sns:ap-northeast-1:1:q", "arn:aws:sqs:ap-northeast-1:1", "x:aws:sqs:r:1:q"]
)
def test_anything_but_a_queue_arn_is_refused(arn):
    with pytest.raises(ValueError, match="SQS"):
        queue_url_from_arn(arn)
