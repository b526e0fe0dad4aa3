"""Direct uploads at the intake: the presigned POST a browser is given, and a submission
naming uploads, each object checked before anything is queued."""

from __future__ import annotations

import base64
import json
import re

import pytest

from sekisho import aws
from sekisho.errors import NotFound, RateLimited, RouteDisabled, ValidationFailed
from sekisho.forms.uploads import UPLOAD_ID_PATTERN
from sekisho.guard.guard import Guard
from sekisho.guard.memory import InMemoryGuardStore
from sekisho.intake.attachments import InMemoryAttachmentStore
from sekisho.intake.errors import OutboxUnavailable, UploadsUnavailable
from sekisho.intake.message import QueuedSubmission
from sekisho.intake.outbox import Outbox
from sekisho.intake.queue import InMemoryQueue
from sekisho.intake.request import IntakeRequest
from sekisho.intake.service import IntakeService
from sekisho.intake.upload_objects import (
    UPLOAD_EXPIRES_SECONDS,
    InMemoryUploadObjects,
    S3UploadObjects,
)
from sekisho.intake.uploads import UploadService, upload_rate
from sekisho.kintone.client import TokenSource
from sekisho.policy.snapshot import restore, snapshot_bytes
from sekisho.switches import RouteSwitches
from tests.upload_support import FORM, OTHER_ID, PDF, PNG, POLICY, UPLOAD_ID, put_upload, sha

IP = "203.0.113.30"
NOW = 1_765_000_000.0
GOOD = {
    "field": "materials",
    "name": "資料.pdf",
    "size": 20_000_000,
    "content_type": "application/pdf",
}


class NoKintone:
    def __getattr__(self, name: str):
        raise AssertionError(f"a direct upload's submission called kintone's {name}")


def guard() -> Guard:
    return Guard(InMemoryGuardStore(), hash_key=b"unit-test-hash-key-0123456789abcdef")


def uploads_service(objects: InMemoryUploadObjects, **options) -> UploadService:
    ids = iter(["a" * 22, "b" * 22, "c" * 22, "d" * 22, "e" * 22, "f" * 22, "g" * 22])
    return UploadService(
        POLICY, guard(), objects, new_id=lambda: next(ids), now=lambda: NOW, **options
    )


def grant(service: UploadService, body: dict, form: str = "seminar-apply"):
    return service.grant(IntakeRequest(form, body, IP))


# ---------------------------------------------------------------------- the route


def test_a_declared_direct_field_gets_a_presigned_post_for_its_exact_key_size_and_type():
    objects = InMemoryUploadObjects()
    answer = grant(uploads_service(objects), GOOD | {"sha256": sha(b"x")})
    body = answer.body()
    assert set(body) == {"upload", "url", "fields", "expires_at"}
    assert re.fullmatch(UPLOAD_ID_PATTERN, body["upload"])
    assert body["expires_at"] == "2025-12-06T05:56:40Z"
    (asked,) = objects.presigned
    assert asked == {
        "key": f"uploads/seminar-apply/{body['upload']}",
        "size": 20_000_000,
        "content_type": "application/pdf",
        "metadata": {"field": "materials", "name": "%E8%B3%87%E6%96%99.pdf", "sha256": sha(b"x")},
    }


def test_every_upload_gets_a_fresh_random_id():
    service = UploadService(POLICY, guard(), InMemoryUploadObjects())
    ids = {grant(service, GOOD).upload for _ in range(3)}
    assert len(ids) == 3
    assert all(re.fullmatch(UPLOAD_ID_PATTERN, upload_id) for upload_id in ids)


BAD_REQUESTS = [
    # (body, pointer, code)
    pytest.param({**GOOD, "field": "cv"}, "/field", "unknown", id="an-inline-file-field"),
    pytest.param({**GOOD, "field": "name"}, "/field", "unknown", id="a-text-field"),
    pytest.param({**GOOD, "field": "nope"}, "/field", "unknown", id="no-such-field"),
    pytest.param({**GOOD, "size": 0}, "/size", "file_size", id="empty"),
    pytest.param({**GOOD, "size": 26_214_401}, "/size", "file_size", id="over-max-bytes"),
    pytest.param({**GOOD, "size": "20"}, "/size", "type", id="size-as-text"),
    pytest.param({**GOOD, "size": True}, "/size", "type", id="size-as-bool"),
    pytest.param({**GOOD, "content_type": "image/png"}, "/content_type", "file_type", id="type"),
    pytest.param({**GOOD, "name": "../../etc/passwd.pdf"}, "/name", "file_name", id="a-path"),
    pytest.param({**GOOD, "name": "cv\u202efdp.exe"}, "/name", "file_name", id="bidi"),
    pytest.param({**GOOD, "name": "invoice.html"}, "/name", "file_name", id="wrong-extension"),
    pytest.param({**GOOD, "sha256": "ABC"}, "/sha256", "encoding", id="sha-not-hex"),
    pytest.param({**GOOD, "data": "JVBERi0="}, "/data", "unknown", id="inline-bytes"),
    pytest.param({"field": "materials"}, "/name", "required", id="missing-members"),
]


@pytest.mark.parametrize(("body", "pointer", "code"), BAD_REQUESTS)
def test_a_bad_upload_request_is_refused_with_a_field_error_and_signs_nothing(body, pointer, code):
    objects = InMemoryUploadObjects()
    with pytest.raises(ValidationFailed) as caught:
        grant(uploads_service(objects), body)
    assert (pointer, code) in {(e["pointer"], e["code"]) for e in caught.value.errors}
    assert objects.presigned == []


def test_an_unknown_form_is_not_found():
    with pytest.raises(NotFound):
        grant(uploads_service(InMemoryUploadObjects()), GOOD, form="other")


def test_a_switched_off_form_signs_no_upload():
    switches = RouteSwitches(lambda: "forms/seminar-apply")
    with pytest.raises(RouteDisabled):
        grant(uploads_service(InMemoryUploadObjects(), switches=switches), GOOD)


def test_uploads_are_counted_per_ip_apart_from_submissions_and_past_the_rate_answer_429():
    # 3 submissions an hour, each with up to 3 direct files (materials, two photos).
    assert (upload_rate(FORM).count, upload_rate(FORM).window_seconds) == (9, 3600)
    service = uploads_service(InMemoryUploadObjects())
    service._new_id = lambda: "z" * 22
    for _ in range(9):
        grant(service, GOOD)
    with pytest.raises(RateLimited):
        grant(service, GOOD)


def test_a_quarantine_that_cannot_sign_is_503_not_500():
    with pytest.raises(UploadsUnavailable) as caught:
        grant(uploads_service(InMemoryUploadObjects(fail=True)), GOOD)
    assert caught.value.status == 503


def test_the_presigned_post_fixes_key_size_type_metadata_and_expiry_in_its_policy():
    s3 = aws.fresh_client("s3")
    post = S3UploadObjects("attachments-bucket", s3).presign(
        "uploads/seminar-apply/" + UPLOAD_ID,
        size=20_000_000,
        content_type="application/pdf",
        metadata={"field": "materials", "name": "cv.pdf"},
    )
    # The bucket's own region, not the global endpoint that redirects a new bucket.
    assert post.url == "https://attachments-bucket.s3.ap-northeast-1.amazonaws.com/"
    policy = json.loads(base64.b64decode(post.fields["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", 20_000_000, 20_000_000] in conditions
    for member in (
        {"bucket": "attachments-bucket"},
        {"key": "uploads/seminar-apply/" + UPLOAD_ID},
        {"Content-Type": "application/pdf"},
        {"x-amz-meta-field": "materials"},
        {"x-amz-meta-name": "cv.pdf"},
    ):
        assert member in conditions
    (tagging,) = [c["tagging"] for c in conditions if isinstance(c, dict) and "tagging" in c]
    assert "<Value>unclaimed</Value>" in tagging
    # Every field the browser sends is signed: S3 refuses any it adds.
    signed = {next(iter(c)) for c in conditions if isinstance(c, dict)}
    assert set(post.fields) - {"policy", "x-amz-signature"} <= signed | {"key"}
    # Signature V4: S3 no longer takes V2 for new buckets, and V4 binds the region.
    assert post.fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert UPLOAD_EXPIRES_SECONDS == 600
    assert policy["expiration"].endswith("Z")


# ------------------------------------------------------------------ the submission


class Intake:
    def __init__(self) -> None:
        self.objects = InMemoryUploadObjects()
        self.queue = InMemoryQueue()
        self.service = IntakeService(
            POLICY,
            lambda name: TokenSource.fixed("unused"),
            guard(),
            "https://example.cybozu.com",
            outbox=Outbox(self.queue, InMemoryAttachmentStore()),
            client_factory=lambda url, token: NoKintone(),
            uploads=self.objects,
        )

    def submit(self, fields: dict):
        body = {"fields": {"name": "山田 花子", **fields}}
        return self.service.submit(IntakeRequest("seminar-apply", body, IP))


@pytest.fixture
def intake() -> Intake:
    return Intake()


def test_a_submission_naming_a_checked_upload_is_queued_with_it_and_kintone_is_not_called(intake):
    key = put_upload(intake.objects, sha256=sha(PDF))
    result = intake.submit({"materials": {"upload": UPLOAD_ID}})
    assert (result.status_code, result.status) == (202, "queued")
    (sent,) = intake.queue.messages
    (attachment,) = QueuedSubmission.from_json(sent.body).attachments
    assert (attachment.field, attachment.filename, attachment.size) == (
        "資料",
        "資料.pdf",
        len(PDF),
    )
    assert (attachment.upload, attachment.s3_key, attachment.sha256) == (UPLOAD_ID, key, sha(PDF))
    assert intake.objects.claimed == {key}


def test_a_field_of_several_files_takes_a_list_of_uploads(intake):
    put_upload(intake.objects, PNG, field="photos", name="a.png", content_type="image/png")
    put_upload(
        intake.objects,
        PNG,
        upload_id=OTHER_ID,
        field="photos",
        name="b.png",
        content_type="image/png",
    )
    result = intake.submit({"photos": [{"upload": UPLOAD_ID}, {"upload": OTHER_ID}]})
    assert result.status_code == 202
    attachments = QueuedSubmission.from_json(intake.queue.messages[0].body).attachments
    assert [a.filename for a in attachments] == ["a.png", "b.png"]


REFUSED = [
    # (what is in the quarantine, what the submission names, code)
    pytest.param({}, {"materials": {"upload": UPLOAD_ID}}, "upload", id="never-uploaded"),
    pytest.param(
        {"data": PNG}, {"materials": {"upload": UPLOAD_ID}}, "file_type", id="a-png-sent-as-pdf"
    ),
    pytest.param(
        {"content_type": "image/png", "data": PNG},
        {"materials": {"upload": UPLOAD_ID}},
        "file_type",
        id="an-undeclared-type",
    ),
    pytest.param(
        {"field": "photos"}, {"materials": {"upload": UPLOAD_ID}}, "upload", id="another-field"
    ),
    pytest.param(
        {"form": "other-form"}, {"materials": {"upload": UPLOAD_ID}}, "upload", id="another-form"
    ),
    pytest.param(
        {"data": b"%PDF-" + b"0" * 26_214_400},
        {"materials": {"upload": UPLOAD_ID}},
        "file_size",
        id="larger-than-max-bytes",
    ),
    pytest.param({"name": "x.html"}, {"materials": {"upload": UPLOAD_ID}}, "file_name", id="name"),
    pytest.param({"name": ""}, {"materials": {"upload": UPLOAD_ID}}, "upload", id="no-name"),
    pytest.param(
        {"sha256": "not-a-digest"}, {"materials": {"upload": UPLOAD_ID}}, "upload", id="bad-sha"
    ),
    pytest.param({}, {"materials": [{"upload": UPLOAD_ID}]}, "type", id="a-list-for-one-file"),
    pytest.param({}, {"materials": {"upload": "short"}}, "upload", id="not-an-id"),
    pytest.param(
        {},
        {"materials": {"filename": "a.pdf", "content_type": "application/pdf", "data": "JVBE"}},
        "type",
        id="inline-bytes-for-a-direct-field",
    ),
]


@pytest.mark.parametrize(("stored", "fields", "code"), REFUSED)
def test_a_submission_whose_upload_is_not_what_it_claims_is_refused_before_anything_is_queued(
    intake, stored, fields, code
):
    if stored:
        put_upload(intake.objects, **stored)
    with pytest.raises(ValidationFailed) as caught:
        intake.submit(fields)
    assert [(e["pointer"], e["code"]) for e in caught.value.errors] == [
        (f"/fields/{next(iter(fields))}", code)
    ]
    assert intake.queue.messages == []
    assert intake.objects.claimed == set()


def test_an_upload_names_one_submission_only(intake):
    put_upload(intake.objects)
    assert intake.submit({"materials": {"upload": UPLOAD_ID}}).status_code == 202
    with pytest.raises(ValidationFailed) as caught:
        intake.submit({"materials": {"upload": UPLOAD_ID}})
    assert caught.value.errors[0]["code"] == "upload"
    assert len(intake.queue.messages) == 1


def test_when_the_queue_refuses_the_submission_its_uploads_are_free_for_the_retry(intake):
    put_upload(intake.objects)
    intake.queue.fail = True
    with pytest.raises(OutboxUnavailable):
        intake.submit({"materials": {"upload": UPLOAD_ID}})
    assert intake.objects.claimed == set()
    intake.queue.fail = False
    assert intake.submit({"materials": {"upload": UPLOAD_ID}}).status_code == 202


def test_a_quarantine_that_cannot_be_read_is_503_and_nothing_is_accepted(intake):
    put_upload(intake.objects)
    intake.objects.fail = True
    with pytest.raises(UploadsUnavailable):
        intake.submit({"materials": {"upload": UPLOAD_ID}})
    assert intake.queue.messages == []


def test_a_fields_direct_upload_survives_the_reviewed_snapshot():
    restored = restore(snapshot_bytes(POLICY)).form("seminar-apply")
    assert restored.fields["materials"].upload == "direct"
    assert restored.fields["cv"].upload == "inline"
