"""Direct uploads against moto's S3: the browser's POST with the presigned fields, the
submission's checks and the deliverer's, each over the real S3 API."""

from __future__ import annotations

import pytest
import requests
from moto import mock_aws

from sekisho import aws
from sekisho.errors import ValidationFailed
from sekisho.guard.guard import Guard
from sekisho.guard.memory import InMemoryGuardStore
from sekisho.intake.attachments import S3AttachmentStore
from sekisho.intake.delivery import DeliverService
from sekisho.intake.errors import UploadRefused
from sekisho.intake.message import QueuedSubmission
from sekisho.intake.outbox import Outbox
from sekisho.intake.queue import InMemoryQueue
from sekisho.intake.request import IntakeRequest
from sekisho.intake.service import IntakeService
from sekisho.intake.upload_objects import S3UploadObjects
from sekisho.intake.uploads import UploadService
from sekisho.kintone.breaker import CircuitBreaker
from sekisho.kintone.client import TokenSource
from sekisho.redelivery import InMemoryVisibility
from tests.upload_support import PDF, PNG, POLICY, sha

BUCKET = "sekisho-attachments"
IP = "203.0.113.40"


class NoKintone:
    def __getattr__(self, name: str):
        raise AssertionError(f"kintone's {name} was called")


class FakeKintone:
    def __init__(self) -> None:
        self.uploads: list[tuple[str, bytes, str]] = []
        self.added: list[dict] = []

    def upload_file(self, filename: str, content: bytes, content_type: str) -> str:
        self.uploads.append((filename, content, content_type))
        return "file-key"

    def add_record(self, app: int, record: dict) -> None:
        self.added.append(record)


@pytest.fixture
def s3():
    with mock_aws():
        client = aws.fresh_client("s3")
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
        )
        yield client


def guard() -> Guard:
    return Guard(InMemoryGuardStore(), hash_key=b"integration-hash-key-0123456789abcdef")


def upload(s3, data: bytes, *, sent_as: str = "application/pdf", sha256: str | None = None) -> str:
    """What a browser does: ask for a presigned POST, then POST the file to S3 with it."""
    body = {"field": "materials", "name": "資料.pdf", "size": len(data), "content_type": sent_as}
    if sha256 is not None:
        body["sha256"] = sha256
    service = UploadService(POLICY, guard(), S3UploadObjects(BUCKET, s3))
    grant = service.grant(IntakeRequest("seminar-apply", body, IP))
    posted = requests.post(
        grant.url, data=grant.fields, files={"file": ("資料.pdf", data, sent_as)}, timeout=10
    )
    assert posted.status_code == 204, posted.text
    return grant.upload


def intake(s3) -> tuple[IntakeService, InMemoryQueue]:
    queue = InMemoryQueue()
    service = IntakeService(
        POLICY,
        lambda name: TokenSource.fixed("unused"),
        guard(),
        "https://example.cybozu.com",
        outbox=Outbox(queue, S3AttachmentStore(BUCKET, s3)),
        client_factory=lambda url, token: NoKintone(),
        uploads=S3UploadObjects(BUCKET, s3),
    )
    return service, queue


def submit(service: IntakeService, upload_id: str):
    body = {"fields": {"name": "山田 花子", "materials": {"upload": upload_id}}}
    return service.submit(IntakeRequest("seminar-apply", body, IP))


def deliverer(s3, kintone) -> DeliverService:
    return DeliverService(
        POLICY,
        lambda name: TokenSource.fixed("unused"),
        "https://example.cybozu.com",
        attachments=S3AttachmentStore(BUCKET, s3),
        visibility=InMemoryVisibility(),
        uploads=S3UploadObjects(BUCKET, s3),
        client_factory=lambda url, token, breaker: kintone,
        breaker=CircuitBreaker(),
    )


def test_a_pdf_posted_to_s3_is_queued_claimed_delivered_and_removed(s3):
    upload_id = upload(s3, PDF, sha256=sha(PDF))
    service, queue = intake(s3)
    assert submit(service, upload_id).status_code == 202
    key = f"uploads/seminar-apply/{upload_id}"
    tags = s3.get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]
    assert tags == [{"Key": "sekisho", "Value": "claimed"}]

    kintone = FakeKintone()
    message = QueuedSubmission.from_json(queue.messages[0].body)
    assert deliverer(s3, kintone).deliver(message) == "recorded"
    assert kintone.uploads == [("資料.pdf", PDF, "application/pdf")]
    assert kintone.added[0]["資料"] == [{"fileKey": "file-key"}]
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="uploads/")


def test_a_png_posted_as_a_pdf_is_refused_by_the_submission_and_nothing_is_queued(s3):
    upload_id = upload(s3, PNG)
    service, queue = intake(s3)
    with pytest.raises(ValidationFailed) as caught:
        submit(service, upload_id)
    assert caught.value.errors == [
        {
            "pointer": "/fields/materials",
            "code": "file_type",
            "detail": "the upload is not a application/pdf file",
        }
    ]
    assert queue.messages == []


def test_bytes_replaced_after_the_submission_never_reach_kintone(s3):
    upload_id = upload(s3, PDF, sha256=sha(PDF))
    service, queue = intake(s3)
    submit(service, upload_id)
    # The presigned POST is still valid: the same size and type, other bytes.
    key = f"uploads/seminar-apply/{upload_id}"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"%PDF-" + b"9" * (len(PDF) - 5))
    kintone = FakeKintone()
    with pytest.raises(UploadRefused) as caught:
        deliverer(s3, kintone).deliver(QueuedSubmission.from_json(queue.messages[0].body))
    assert caught.value.reason == "sha256"
    assert kintone.uploads == kintone.added == []
