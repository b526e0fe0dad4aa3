"""The intake and deliver Lambda handlers end to end: events/ files against moto and the
emulator — recorded once, queued through maintenance, delivered once."""

from __future__ import annotations

import base64
import contextlib
import copy
import importlib.util
import json
import logging
import re
import secrets
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from devstack.sqs_event import sqs_record
from sekisho import aws, runtime
from sekisho.intake.receipts import SHORT_PATTERN
from sekisho.kintone import client as kintone_client
from sekisho.secrets.errors import SecretNotAllowed
from sekisho.wiring import deliver as deliver_wiring
from sekisho.wiring import intake as intake_wiring
from tests.integration.conftest import entries_table

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
ORIGIN = "http://127.0.0.1:3000"
FORM_FIELDS = {"受付ID", "氏名", "メール", "人数", "履歴書", "受付経路"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
MAIL_IDENTITY = "sekisho.example"
MAIL_FROM_ADDRESS = "no-reply@sekisho.example"

pytestmark = pytest.mark.emulator


class Context:
    function_name = "IntakeFunction"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:ap-northeast-1:123456789012:function:IntakeFunction"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/IntakeFunction"
    log_stream_name = "local"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


class DeliverContext(Context):
    function_name = "DeliverFunction"
    invoked_function_arn = "arn:aws:lambda:ap-northeast-1:123456789012:function:DeliverFunction"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


class Stack:
    """The template's intake resources in moto, and the two handlers over them."""

    def __init__(self, moto_url: str, kintone) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.kintone = kintone
        self.guard_table = f"GuardTable-{suffix}"
        self.idempotency_table = f"IdempotencyTable-{suffix}"
        self.bucket = f"attachmentbucket-{suffix}"
        self.dynamodb = boto3.client("dynamodb", endpoint_url=moto_url)
        self.sqs = boto3.client("sqs", endpoint_url=moto_url)
        self.s3 = boto3.client("s3", endpoint_url=moto_url)
        for table, key in ((self.guard_table, "pk"), (self.idempotency_table, "id")):
            self.dynamodb.create_table(
                TableName=table,
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        dlq = self.sqs.create_queue(QueueName=f"IntakeDeadLetterQueue-{suffix}")["QueueUrl"]
        self.dlq_url = dlq
        dlq_arn = self._arn(dlq)
        # Visibility 0: a failed message would be back at once unless the deliverer
        # pushed it out with its backoff (which these tests check).
        self.queue_url = self.sqs.create_queue(
            QueueName=f"IntakeQueue-{suffix}",
            Attributes={
                "VisibilityTimeout": "0",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}),
            },
        )["QueueUrl"]
        self.queue_arn = self._arn(self.queue_url)
        self.s3.create_bucket(
            Bucket=self.bucket,
            CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"},
        )
        # The template's MailIdentity, verified, as the operator makes it in SES.
        self.sesv2 = boto3.client("sesv2", endpoint_url=moto_url)
        with contextlib.suppress(self.sesv2.exceptions.AlreadyExistsException):
            self.sesv2.create_email_identity(EmailIdentity=MAIL_IDENTITY)
        sm = boto3.client("secretsmanager", endpoint_url=moto_url)
        values = {
            "sekisho/kintone/seminar-add": {"kind": "kintone-token", "token": "seminar-add-token"},
            "sekisho/kintone/deals-view": {"kind": "kintone-token", "token": "deals-view-token"},
            "sekisho/guard/hash-key": {"kind": "hmac", "key": secrets.token_urlsafe(48)},
        }
        for name, value in values.items():
            try:
                sm.create_secret(Name=name, SecretString=json.dumps(value))
            except sm.exceptions.ResourceExistsException:
                sm.put_secret_value(SecretId=name, SecretString=json.dumps(value))
        self.env = {
            "AWS_ENDPOINT_URL": moto_url,
            "GUARD_TABLE": self.guard_table,
            "IDEMPOTENCY_TABLE": self.idempotency_table,
            "INTAKE_QUEUE_URL": self.queue_url,
            "ATTACHMENT_BUCKET": self.bucket,
            "ENTRIES_TABLE": entries_table(moto_url),
            "SEKISHO_POLICY": str(ROOT / "policy.yaml"),
            "KINTONE_BASE_URL": kintone.url,
            "ALLOWED_ORIGINS": f"{ORIGIN},http://localhost:3000",
            "MAX_BODY_BYTES": "5500000",
            "POWERTOOLS_SERVICE_NAME": "sekisho",
            "MAIL_FROM_ADDRESS": MAIL_FROM_ADDRESS,
            "MAIL_CONFIGURATION_SET": "sekisho-mail",
        }
        self.handles: list[str] = []

    def _arn(self, url: str) -> str:
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return attributes["Attributes"]["QueueArn"]

    # -- invoking --------------------------------------------------------------------

    def intake(self, event_file: str, *, body: Any = None, headers: dict | None = None):
        event = json.loads((EVENTS / event_file).read_text(encoding="utf-8"))
        if body is not None:
            event["body"] = json.dumps(body, ensure_ascii=False)
        for name, value in (headers or {}).items():
            event["headers"][name] = value
            event["multiValueHeaders"][name] = [value]
        response = self.intake_handler(event, Context())
        headers = {k: v[0] for k, v in (response.get("multiValueHeaders") or {}).items()}
        headers.update(response.get("headers") or {})
        payload = json.loads(response["body"]) if response.get("body") else None
        return response["statusCode"], headers, payload

    def receive(self) -> list[dict]:
        """The next batch as Lambda's event source mapping would build it."""
        answer = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return [sqs_record(m, self.queue_arn) for m in answer.get("Messages", [])]

    def deliver(self, records: list[dict]) -> dict:
        """One DeliverFunction invocation; successes are deleted as Lambda would."""
        response = self.deliver_handler({"Records": records}, DeliverContext())
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        for record in records:
            if record["messageId"] in failed:
                self.handles.append(record["receiptHandle"])
            else:
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=record["receiptHandle"]
                )
        return response

    def time_passes(self) -> None:
        """The backoff is over: failed messages are visible again."""
        for handle in self.handles:
            self.sqs.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=handle, VisibilityTimeout=0
            )
        self.handles.clear()

    # -- looking -----------------------------------------------------------------------

    def records(self) -> list[dict[str, Any]]:
        """The records of app 2 that the test's submissions made: the seed's demo
        application (a record from before the test) is left out."""
        seeded = {str(r.get("受付ID")) for r in self.kintone.emulator.store.seed.apps[2].records}
        return [
            r for r in self.kintone.emulator.store.records(2) if r["受付ID"]["value"] not in seeded
        ]

    def queued(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def objects(self) -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=self.bucket)
        return sorted(o["Key"] for o in listing.get("Contents", []))


def clear_container_caches() -> None:
    for cached in (
        runtime.settings,
        runtime.policy,
        intake_wiring.intake_service,
        intake_wiring.upload_service,
        deliver_wiring.deliver_service,
        aws.client,
    ):
        cached.cache_clear()


def load(function: str):
    spec = importlib.util.spec_from_file_location(
        f"{function}_app_{uuid.uuid4().hex}", ROOT / "functions" / function / "app.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


@pytest.fixture
def stack(kintone, moto_url, monkeypatch):
    """Fresh IntakeFunction and DeliverFunction containers over fresh AWS resources."""
    built = Stack(moto_url, kintone)
    for name, value in built.env.items():
        monkeypatch.setenv(name, value)
    # Each test starts with kintone's breaker closed, as a new container would.
    monkeypatch.setattr(kintone_client, "_breakers", {})
    clear_container_caches()
    built.intake_handler = load("intake")
    built.deliver_handler = load("deliver")
    yield built
    clear_container_caches()


def plain(record: dict[str, Any]) -> dict[str, Any]:
    """The fields a submission may set, with their values (kintone's own left out)."""
    return {code: cell["value"] for code, cell in record.items() if code in FORM_FIELDS}


def event_body(event_file: str) -> dict:
    event = json.loads((EVENTS / event_file).read_text(encoding="utf-8"))
    return json.loads(event["body"])


# --------------------------------------------------------------------------- recorded


def test_a_valid_submission_creates_one_record_with_exactly_the_declared_fields(stack):
    status, headers, body = stack.intake("intake_valid.json")
    assert (status, body["status"]) == (201, "recorded")
    assert re.fullmatch(SHORT_PATTERN, body["receipt"])
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert headers["Content-Type"].startswith("application/json")
    [record] = stack.records()
    assert plain(record) == {
        "受付ID": body["receipt"],
        "氏名": "山田 花子",
        "メール": "hanako@example.com",
        "人数": "2",
        "履歴書": [],
        "受付経路": "web",
    }
    # Only the reply job of the form's confirmation mail waits: the record is written.
    [job] = stack.receive()
    assert json.loads(job["body"])["kind"] == "reply"


def test_an_attachment_is_stored_with_the_record(stack):
    status, _, body = stack.intake("intake_attachment.json")
    assert status == 201
    [record] = stack.records()
    [cv] = record["履歴書"]["value"]
    pdf = base64.b64decode(event_body("intake_attachment.json")["fields"]["cv"][0]["data"])
    assert (cv["name"], cv["contentType"], cv["size"]) == (
        "cv.pdf",
        "application/pdf",
        str(len(pdf)),
    )
    assert record["受付ID"]["value"] == body["receipt"]


def test_a_browser_retry_with_the_same_idempotency_key_gets_the_same_receipt(stack):
    first = stack.intake("intake_attachment.json")
    again = stack.intake("intake_attachment.json")
    assert again[0] == first[0] == 201
    assert again[2] == first[2]
    assert len(stack.records()) == 1


def test_the_same_idempotency_key_with_another_body_is_refused(stack):
    stack.intake("intake_attachment.json")
    body = copy.deepcopy(event_body("intake_attachment.json"))
    body["fields"]["seats"] = 2
    status, _, problem = stack.intake("intake_attachment.json", body=body)
    assert (status, problem["code"]) == (422, "idempotency_key_reused")
    assert len(stack.records()) == 1


def test_a_replay_after_the_per_ip_limit_still_gets_its_first_answer(stack):
    first = stack.intake("intake_attachment.json")
    assert first[0] == 201
    # The policy's 20 an hour: 19 more (refused bodies count too) spend them.
    for _ in range(19):
        assert stack.intake("intake_invalid.json")[0] == 400
    status, _, problem = stack.intake("intake_valid.json")
    assert (status, problem["code"]) == (429, "rate_limited")
    again = stack.intake("intake_attachment.json")
    assert (again[0], again[2]) == (201, first[2])
    assert len(stack.records()) == 1
    # Another body under the same key is not a replay: counted, and past the limit.
    body = copy.deepcopy(event_body("intake_attachment.json"))
    body["fields"]["seats"] = 2
    assert stack.intake("intake_attachment.json", body=body)[0] == 429


# --------------------------------------------------------------------------- refusals


def test_an_invalid_submission_names_each_field_and_records_nothing(stack):
    status, headers, problem = stack.intake("intake_invalid.json")
    assert (status, problem["code"]) == (400, "validation_failed")
    assert headers["Content-Type"].startswith("application/problem+json")
    pointers = {e["pointer"]: e["code"] for e in problem["errors"]}
    assert pointers["/fields/社内メモ"] == "unknown"
    assert pointers["/fields/name"] == "length"
    assert pointers["/fields/email"] == "email"
    assert "/fields/seats" in pointers
    assert stack.records() == []
    assert "値引き" not in json.dumps(problem, ensure_ascii=False)


def cv(filename: str, data: bytes, content_type: str = "application/pdf") -> dict:
    fields = {"name": "佐藤 一郎", "email": "ichiro@example.com"}
    file = {"filename": filename, "content_type": content_type}
    return {"fields": fields | {"cv": [file | {"data": base64.b64encode(data).decode()}]}}


REFUSED_FILES = {
    "pdf-claim-with-png-bytes": (cv("cv.pdf", PNG), "file_type"),
    "png-type": (cv("cv.png", PNG, "image/png"), "file_type"),
    "path-like-name": (cv("../../etc/passwd", b"%PDF-1.4\n"), "file_name"),
    "windows-path": (cv("C:\\Users\\x\\cv.pdf", b"%PDF-1.4\n"), "file_name"),
    "oversized": (cv("cv.pdf", b"%PDF-1.4\n" + b"0" * 2_097_152), "file_size"),
}


@pytest.mark.parametrize(("body", "code"), REFUSED_FILES.values(), ids=REFUSED_FILES.keys())
def test_a_refused_file_is_a_field_error_and_records_nothing(stack, body, code):
    status, _, problem = stack.intake("intake_valid.json", body=body)
    assert (status, problem["code"]) == (400, "validation_failed")
    assert [(e["pointer"], e["code"]) for e in problem["errors"]] == [("/fields/cv", code)]
    assert stack.records() == []


def test_a_filled_honeypot_is_answered_like_a_success_and_records_nothing(stack):
    status, _, body = stack.intake("intake_honeypot.json")
    assert (status, body["status"]) == (201, "recorded")
    assert re.fullmatch(SHORT_PATTERN, body["receipt"])
    assert stack.records() == []
    assert stack.queued() == 0


def test_an_unknown_form_is_not_found(stack):
    event_body_ = event_body("intake_valid.json")
    event = json.loads((EVENTS / "intake_valid.json").read_text(encoding="utf-8"))
    event["path"] = "/forms/deal-status"
    event["pathParameters"] = {"form": "deal-status"}
    event["body"] = json.dumps(event_body_)
    response = stack.intake_handler(event, Context())
    assert response["statusCode"] == 404


def test_a_cors_preflight_allows_the_idempotency_and_captcha_headers(stack):
    status, headers, _ = stack.intake("intake_preflight.json")
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    allowed = headers["Access-Control-Allow-Headers"].lower()
    assert "idempotency-key" in allowed
    assert "x-captcha-token" in allowed


# ----------------------------------------------------------------------- maintenance


def test_during_maintenance_a_submission_is_queued_and_delivered_once_afterwards(stack):
    stack.kintone.emulator.controls.maintenance = True
    status, _, body = stack.intake("intake_attachment.json")
    assert (status, body["status"]) == (202, "queued")
    assert stack.records() == []
    assert stack.objects() == [f"attachments/{body['receipt']}/0"]

    records = stack.receive()
    [message] = records
    assert message["messageAttributes"]["receipt"]["stringValue"] == body["receipt"]
    # Still in maintenance: the delivery fails and the message is pushed out of sight.
    assert len(stack.deliver(records)["batchItemFailures"]) == 1
    assert stack.receive() == []

    stack.kintone.emulator.controls.maintenance = False
    stack.time_passes()
    again = stack.receive()
    assert stack.deliver(again) == {"batchItemFailures": []}
    [record] = stack.records()
    assert record["受付ID"]["value"] == body["receipt"]
    assert [f["name"] for f in record["履歴書"]["value"]] == ["cv.pdf"]
    assert stack.objects() == [f"attachments/{body['receipt']}/delivered"]

    # SQS delivers at least once: the same message again changes nothing.
    assert stack.deliver(again) == {"batchItemFailures": []}
    assert len(stack.records()) == 1


def test_a_retry_during_maintenance_is_queued_once_and_recorded_once(stack):
    stack.kintone.emulator.controls.maintenance = True
    first = stack.intake("intake_attachment.json")
    again = stack.intake("intake_attachment.json")
    assert first[2] == again[2]
    assert first[2]["status"] == "queued"
    assert stack.queued() == 1
    stack.kintone.emulator.controls.maintenance = False
    stack.deliver(stack.receive())
    assert len(stack.records()) == 1
    # The browser's retry after the delivery still gets the first answer.
    assert stack.intake("intake_attachment.json")[2] == first[2]
    assert len(stack.records()) == 1


def test_a_busy_kintone_answering_429_queues_too(stack):
    stack.kintone.emulator.controls.concurrency = 0
    status, _, body = stack.intake("intake_valid.json")
    assert (status, body["status"]) == (202, "queued")
    stack.kintone.emulator.controls.concurrency = 100
    stack.deliver(stack.receive())
    assert [r["受付ID"]["value"] for r in stack.records()] == [body["receipt"]]


def test_an_unreachable_kintone_queues_too(stack, unused_loopback_url, monkeypatch):
    monkeypatch.setenv("KINTONE_BASE_URL", unused_loopback_url)
    clear_container_caches()
    handler = load("intake")
    event = json.loads((EVENTS / "intake_valid.json").read_text(encoding="utf-8"))
    response = handler(event, Context())
    assert response["statusCode"] == 202
    assert stack.queued() == 1


# -------------------------------------------------------------------------- secrets


def test_the_intake_path_can_resolve_only_the_add_only_token_and_the_guard_key(stack):
    stack.intake("intake_valid.json")  # builds the container's service
    tokens = intake_wiring.intake_service()._token_sources
    assert tokens("sekisho/kintone/seminar-add").current() == "seminar-add-token"
    with pytest.raises(SecretNotAllowed):
        tokens("sekisho/kintone/deals-view").current()


def test_the_deliverer_can_resolve_only_the_add_only_token(stack):
    tokens = deliver_wiring.deliver_service()._token_sources
    assert tokens("sekisho/kintone/seminar-add").current() == "seminar-add-token"
    for name in ("sekisho/kintone/deals-view", "sekisho/guard/hash-key"):
        with pytest.raises(SecretNotAllowed):
            tokens(name).current()


def test_the_add_only_token_cannot_read_what_it_wrote(stack):
    stack.intake("intake_valid.json")
    answer = kintone_client.KintoneClient(
        stack.kintone.url, kintone_client.TokenSource.fixed("seminar-add-token")
    )
    with pytest.raises(kintone_client.KintoneError) as caught:
        answer.get_records(2)
    assert caught.value.status == 502
    assert caught.value.http_status == 403


def test_logs_hold_outcome_and_receipt_but_no_values_and_no_token(stack, caplog):
    caplog.set_level(logging.INFO)
    stack.kintone.emulator.controls.maintenance = True
    _, _, body = stack.intake("intake_attachment.json")
    stack.kintone.emulator.controls.maintenance = False
    stack.deliver(stack.receive())
    audits = [r for r in caplog.records if getattr(r, "audit", False)]
    assert [(r.action, r.outcome, r.receipt) for r in audits] == [
        ("intake", "queued", body["receipt"]),
        # The form has reply: the mail goes once the record exists, the address unlogged.
        ("reply", "sent", body["receipt"]),
        ("deliver", "recorded", body["receipt"]),
    ]
    everything = json.dumps([vars(r) for r in caplog.records], ensure_ascii=False, default=str)
    for value in ("佐藤", "ichiro@example.com", "seminar-add-token", "JVBERi0"):
        assert value not in everything


# ----------------------------------------------------------------------- direct uploads


def test_a_direct_upload_is_granted_posted_to_s3_queued_and_delivered_to_kintone(stack):
    status, headers, grant = stack.intake("intake_upload.json")
    assert status == 201, grant
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    pdf = b"%PDF-1.7\n" + b"0" * 1024 + b"\n%%EOF\n"
    assert len(pdf) == event_body("intake_upload.json")["size"]
    posted = requests.post(
        grant["url"], data=grant["fields"], files={"file": ("資料.pdf", pdf)}, timeout=10
    )
    assert posted.status_code == 204, posted.text

    fields = {**event_body("intake_valid.json")["fields"], "materials": {"upload": grant["upload"]}}
    status, _, body = stack.intake("intake_valid.json", body={"fields": fields})
    assert (status, body["status"]) == (202, "queued")
    assert stack.records() == []
    stack.deliver(stack.receive())
    [record] = stack.records()
    [stored] = record["資料"]["value"]
    assert (stored["name"], stored["size"]) == ("資料.pdf", str(len(pdf)))
    assert not [key for key in stack.objects() if key.startswith("uploads/")]
