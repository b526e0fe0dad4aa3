"""Direct uploads in the queue and at the deliverer: a message names only its form's
quarantine, and every byte is checked before kintone sees one."""

from __future__ import annotations

import json
import uuid

import pytest

from sekisho.errors import UpstreamUnavailable
from sekisho.intake.attachments import InMemoryAttachmentStore
from sekisho.intake.delivery import DeliverService
from sekisho.intake.errors import (
    AttachmentMissing,
    AttachmentsUnavailable,
    MalformedMessage,
    UploadRefused,
)
from sekisho.intake.message import QueuedAttachment, QueuedSubmission
from sekisho.intake.upload_delivery import verify_uploads
from sekisho.intake.upload_objects import InMemoryUploadObjects, upload_key
from sekisho.kintone.breaker import CircuitBreaker
from sekisho.kintone.client import TokenSource
from sekisho.redelivery import InMemoryVisibility
from tests.upload_support import PDF, PNG, POLICY, UPLOAD_ID, put_upload, sha

KEY = upload_key("seminar-apply", UPLOAD_ID)


def queued(size: int = len(PDF), digest: str | None = None, **changes) -> QueuedAttachment:
    values = {
        "field": "資料",
        "filename": "資料.pdf",
        "content_type": "application/pdf",
        "size": size,
        "sha256": digest,
        "s3_key": KEY,
        "upload": UPLOAD_ID,
    }
    return QueuedAttachment(**(values | changes))


def message(*attachments: QueuedAttachment) -> QueuedSubmission:
    return QueuedSubmission(
        str(uuid.uuid4()),
        "seminar-apply",
        {"氏名": "山田 花子"},
        attachments,
        "2026-12-07T05:00:00Z",
    )


# ---------------------------------------------------------------------- the message


def test_an_upload_travels_in_the_message_by_its_id_and_comes_back_the_same():
    sent = message(
        queued(digest=sha(PDF)),
        queued(upload="B" * 22, s3_key=upload_key("seminar-apply", "B" * 22)),
    )
    assert QueuedSubmission.from_json(sent.to_json()) == sent


def _forged(**changes) -> str:
    body = json.loads(message(queued()).to_json())
    body["attachments"][0] |= changes
    return json.dumps(body)


FORGED = [
    pytest.param({"s3_key": "uploads/other-form/" + UPLOAD_ID}, id="another-forms-upload"),
    pytest.param({"s3_key": "attachments/x/0"}, id="another-receipts-attachment"),
    pytest.param({"s3_key": "uploads/seminar-apply/" + UPLOAD_ID + "/../x"}, id="a-path"),
    pytest.param(
        {"upload": "../../secret", "s3_key": "uploads/seminar-apply/../../secret"}, id="id"
    ),
    pytest.param({"upload": None}, id="no-id"),
    pytest.param({"sha256": "z" * 64}, id="a-sha-that-is-not-hex"),
]


@pytest.mark.parametrize("changes", FORGED)
def test_a_forged_upload_attachment_is_a_malformed_message(changes):
    with pytest.raises(MalformedMessage):
        QueuedSubmission.from_json(_forged(**changes))


def test_only_an_upload_may_travel_without_a_sha256():
    body = json.loads(message(queued()).to_json())
    del body["attachments"][0]["upload"]
    body["attachments"][0]["s3_key"] = f"attachments/{body['receipt']}/0"
    with pytest.raises(MalformedMessage):
        QueuedSubmission.from_json(json.dumps(body))


# ---------------------------------------------------------------------- the deliverer


class FakeKintone:
    def __init__(self) -> None:
        self.uploads: list[tuple[str, bytes, str]] = []
        self.added: list[dict] = []

    def upload_file(self, filename: str, content: bytes, content_type: str) -> str:
        self.uploads.append((filename, content, content_type))
        return f"file-key-{len(self.uploads)}"

    def add_record(self, app: int, record: dict) -> None:
        self.added.append(dict(record))

    def __getattr__(self, name: str):
        raise AssertionError(f"the deliverer called kintone's {name}")


class Deliverer:
    def __init__(self) -> None:
        self.kintone = FakeKintone()
        self.files = InMemoryAttachmentStore()
        self.objects = InMemoryUploadObjects()
        self.service = DeliverService(
            POLICY,
            lambda name: TokenSource.fixed("unused"),
            "https://example.cybozu.com",
            attachments=self.files,
            visibility=InMemoryVisibility(),
            uploads=self.objects,
            client_factory=lambda url, token, breaker: self.kintone,
            breaker=CircuitBreaker(),
        )


@pytest.fixture
def deliver() -> Deliverer:
    return Deliverer()


def test_a_checked_upload_is_attached_to_its_record_and_then_deleted(deliver):
    put_upload(deliver.objects)
    sent = message(queued(digest=sha(PDF)))
    assert deliver.service.deliver(sent) == "recorded"
    assert deliver.kintone.uploads == [("資料.pdf", PDF, "application/pdf")]
    (record,) = deliver.kintone.added
    assert record["資料"] == [{"fileKey": "file-key-1"}]
    assert record["受付ID"] == sent.receipt
    assert deliver.objects.keys() == []
    # The marker that tells a duplicate delivery the files were delivered, not lost.
    assert deliver.files.keys() == [f"attachments/{sent.receipt}/delivered"]


REFUSALS = [
    # (the object's bytes, the message's attachment, reason)
    pytest.param(PNG, queued(size=len(PNG)), "type", id="a-png-named-as-pdf"),
    pytest.param(PDF, queued(size=len(PDF) + 1), "size", id="another-size"),
    pytest.param(PDF, queued(digest=sha(b"other bytes")), "sha256", id="another-sha256"),
    pytest.param(None, queued(), "gone", id="gone"),
]


@pytest.mark.parametrize(("data", "attachment", "reason"), REFUSALS)
def test_an_upload_that_is_not_what_was_declared_is_refused_before_any_kintone_call(
    deliver, data, attachment, reason
):
    if data is not None:
        put_upload(deliver.objects, data)
    with pytest.raises(UploadRefused) as caught:
        deliver.service.deliver(message(attachment))
    assert caught.value.reason == reason
    assert caught.value.log_fields() == {"reason": reason}
    # Permanent, like a missing attachment: never deferred as kintone's trouble would be.
    assert isinstance(caught.value, AttachmentMissing)
    assert not isinstance(caught.value, UpstreamUnavailable)
    assert (deliver.kintone.uploads, deliver.kintone.added) == ([], [])


def test_an_upload_written_again_after_it_was_checked_is_refused(deliver):
    put_upload(deliver.objects)
    (checked,) = verify_uploads(deliver.objects, [queued()])
    put_upload(deliver.objects, PDF + b"% appended\n")
    with pytest.raises(UploadRefused) as caught:
        checked.data  # noqa: B018 - the read is what is tested
    assert caught.value.reason == "changed"


def test_an_unreadable_quarantine_is_transient(deliver):
    put_upload(deliver.objects)
    deliver.objects.fail = True
    with pytest.raises(AttachmentsUnavailable):
        deliver.service.deliver(message(queued()))
    assert deliver.kintone.added == []


def test_a_checked_upload_never_shows_its_bytes_in_a_repr(deliver):
    put_upload(deliver.objects)
    (checked,) = verify_uploads(deliver.objects, [queued()])
    assert "PDF" not in repr(checked)
    assert KEY not in repr(checked)
