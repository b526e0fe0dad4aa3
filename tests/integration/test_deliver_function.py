"""DeliverFunction end to end: SQS batches from moto into the emulator, exactly once,
failures reported per record and, in the end, in the dead-letter queue."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import uuid
from pathlib import Path

import boto3
import pytest

from devstack.sqs_event import sqs_record
from sekisho import aws, runtime
from sekisho.kintone import client as kintone_client
from sekisho.kintone.client import KintoneClient, TokenSource
from sekisho.wiring import deliver as deliver_wiring
from tests.integration.conftest import entries_table
from tests.metrics_support import dimensions

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
BATCH_RECEIPT = "0d8e9c1a-2b3c-4d5e-8f90-a1b2c3d4e5f6"
MAX_RECEIVE_COUNT = 3

pytestmark = pytest.mark.emulator


class Context:
    function_name = "DeliverFunction"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:ap-northeast-1:123456789012:function:DeliverFunction"
    aws_request_id = "00000000-0000-0000-0000-000000000001"
    log_group_name = "/aws/lambda/DeliverFunction"
    log_stream_name = "local"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


class Queues:
    def __init__(self, moto_url: str) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.sqs = boto3.client("sqs", endpoint_url=moto_url)
        self.dlq_url = self.sqs.create_queue(QueueName=f"IntakeDeadLetterQueue-{suffix}")[
            "QueueUrl"
        ]
        redrive = {
            "deadLetterTargetArn": self.arn(self.dlq_url),
            "maxReceiveCount": MAX_RECEIVE_COUNT,
        }
        self.url = self.sqs.create_queue(
            QueueName=f"IntakeQueue-{suffix}",
            Attributes={"VisibilityTimeout": "0", "RedrivePolicy": json.dumps(redrive)},
        )["QueueUrl"]
        self.queue_arn = self.arn(self.url)

    def arn(self, url: str) -> str:
        answer = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return answer["Attributes"]["QueueArn"]

    def send(self, body: str, receipt: str | None = None) -> None:
        attributes = {"receipt": {"DataType": "String", "StringValue": receipt}} if receipt else {}
        self.sqs.send_message(QueueUrl=self.url, MessageBody=body, MessageAttributes=attributes)

    def receive(self) -> list[dict]:
        answer = self.sqs.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return [sqs_record(m, self.queue_arn) for m in answer.get("Messages", [])]

    def settle(self, records: list[dict], response: dict) -> None:
        """What Lambda does with a partial batch response: delete the successes and let
        the failures come back (the test plays the backoff's time passing)."""
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        for record in records:
            handle = record["receiptHandle"]
            if record["messageId"] in failed:
                self.sqs.change_message_visibility(
                    QueueUrl=self.url, ReceiptHandle=handle, VisibilityTimeout=0
                )
            else:
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=handle)

    def dead_letters(self) -> list[str]:
        answer = self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10)
        return [m["Body"] for m in answer.get("Messages", [])]


@pytest.fixture
def deliver(kintone, moto_url, monkeypatch):
    """A fresh DeliverFunction container and its queue."""
    queues = Queues(moto_url)
    s3 = boto3.client("s3", endpoint_url=moto_url)
    bucket = f"attachmentbucket-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
    )
    # The form has reply: the deliverer remembers each mail sent, from the SES identity.
    table = f"IdempotencyTable-{uuid.uuid4().hex[:8]}"
    boto3.client("dynamodb", endpoint_url=moto_url).create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    sesv2 = boto3.client("sesv2", endpoint_url=moto_url)
    with contextlib.suppress(sesv2.exceptions.AlreadyExistsException):
        sesv2.create_email_identity(EmailIdentity="sekisho.example")
    sm = boto3.client("secretsmanager", endpoint_url=moto_url)
    token = json.dumps({"kind": "kintone-token", "token": "seminar-add-token"})
    try:
        sm.create_secret(Name="sekisho/kintone/seminar-add", SecretString=token)
    except sm.exceptions.ResourceExistsException:
        sm.put_secret_value(SecretId="sekisho/kintone/seminar-add", SecretString=token)
    env = {
        "AWS_ENDPOINT_URL": moto_url,
        "ATTACHMENT_BUCKET": bucket,
        "ENTRIES_TABLE": entries_table(moto_url),
        "SEKISHO_POLICY": str(ROOT / "policy.yaml"),
        "KINTONE_BASE_URL": kintone.url,
        "POWERTOOLS_SERVICE_NAME": "sekisho",
        "IDEMPOTENCY_TABLE": table,
        "MAIL_FROM_ADDRESS": "no-reply@sekisho.example",
        # As the template sets it: the queue's maxReceiveCount.
        "DELIVER_MAX_RECEIVES": str(MAX_RECEIVE_COUNT),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(kintone_client, "_breakers", {})
    caches = (runtime.settings, runtime.policy, deliver_wiring.deliver_service, aws.client)
    for cached in caches:
        cached.cache_clear()
    spec = importlib.util.spec_from_file_location(
        f"deliver_app_{uuid.uuid4().hex}", ROOT / "functions" / "deliver" / "app.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    queues.handler = module.lambda_handler
    queues.kintone = kintone
    yield queues
    for cached in caches:
        cached.cache_clear()


def added(kintone) -> list[dict]:
    """The records of app 2 the test made: the seed's demo application is left out."""
    seeded = {str(r.get("受付ID")) for r in kintone.emulator.store.seed.apps[2].records}
    return [r for r in kintone.emulator.store.records(2) if r["受付ID"]["value"] not in seeded]


def records(kintone) -> list[str]:
    return [r["受付ID"]["value"] for r in added(kintone)]


def batch_event() -> dict:
    return json.loads((EVENTS / "deliver_batch.json").read_text(encoding="utf-8"))


def test_the_batch_event_with_a_duplicate_delivery_records_the_submission_once(deliver):
    response = deliver.handler(batch_event(), Context())
    assert response == {"batchItemFailures": []}
    assert records(deliver.kintone) == [BATCH_RECEIPT]
    [record] = added(deliver.kintone)
    assert {code: record[code]["value"] for code in ("氏名", "人数", "受付経路")} == {
        "氏名": "鈴木 次郎",
        "人数": "3",
        "受付経路": "web",
    }


def test_a_receipt_kintone_already_has_is_success_not_a_second_record(deliver):
    # The intake's add timed out after kintone had written it.
    first = KintoneClient(deliver.kintone.url, TokenSource.fixed("seminar-add-token"))
    first.add_record(
        2, {"受付ID": BATCH_RECEIPT, "氏名": "鈴木 次郎", "メール": "jiro@example.com"}
    )
    event = batch_event()
    event["Records"] = event["Records"][:1]
    assert deliver.handler(event, Context()) == {"batchItemFailures": []}
    assert records(deliver.kintone) == [BATCH_RECEIPT]


def test_in_maintenance_every_record_of_the_batch_is_reported_failed(deliver):
    deliver.kintone.emulator.controls.maintenance = True
    response = deliver.handler(batch_event(), Context())
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == {
        r["messageId"] for r in batch_event()["Records"]
    }
    assert records(deliver.kintone) == []


def test_messages_through_sqs_are_recorded_once_and_deleted(deliver):
    body = batch_event()["Records"][0]["body"]
    deliver.send(body, BATCH_RECEIPT)
    deliver.send(body, BATCH_RECEIPT)
    batch = deliver.receive()
    deliver.settle(batch, deliver.handler({"Records": batch}, Context()))
    assert records(deliver.kintone) == [BATCH_RECEIPT]
    assert deliver.receive() == []


def test_a_malformed_message_is_never_dropped_it_ends_in_the_dead_letter_queue(deliver, capsys):
    deliver.send('{"v": 1, "receipt": "not a uuid"}')
    capsys.readouterr()
    for _ in range(MAX_RECEIVE_COUNT):
        batch = deliver.receive()
        assert len(batch) == 1
        response = deliver.handler({"Records": batch}, Context())
        assert len(response["batchItemFailures"]) == 1
        deliver.settle(batch, response)
    assert deliver.receive() == []  # moved by the redrive policy on the next receive
    assert deliver.dead_letters() == ['{"v": 1, "receipt": "not a uuid"}']
    assert records(deliver.kintone) == []
    # Aged at each receive (moto sends SentTimestamp); a dead letter on the last one only.
    lines = capsys.readouterr().out
    outcomes = [d["outcome"] for d in dimensions(lines, "Deliveries")]
    assert outcomes == ["retried"] * (MAX_RECEIVE_COUNT - 1) + ["dead_lettered"]
    assert {d["route"] for d in dimensions(lines, "Deliveries")} == {"undeclared"}
    assert dimensions(lines, "DeadLetters") == [{"queue": "intake"}]
    assert dimensions(lines, "QueueAge") == [{"queue": "intake"}] * MAX_RECEIVE_COUNT
