"""ActionFunction's handler over moto and the local kintone, fed the events in events/."""

from __future__ import annotations

import importlib.util
import json
import uuid
from pathlib import Path

import boto3
import pytest

from sekisho import aws, runtime
from sekisho.kintone import client as kintone_client
from sekisho.wiring import action as action_wiring
from tests.action_support import DEMO_RECEIPT

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
TOKENS = {
    "sekisho/kintone/seminar-edit": "seminar-edit-token",
    "sekisho/kintone/seminar-payment-view": "seminar-view-token",
    "sekisho/kintone/audit-add": "audit-add-token",
    "sekisho/kintone/deals-refetch": "deals-view-token",
}

pytestmark = pytest.mark.emulator


class Context:
    function_name = "ActionFunction"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:ap-northeast-1:123456789012:function:ActionFunction"
    aws_request_id = "00000000-0000-0000-0000-000000000002"
    log_group_name = "/aws/lambda/ActionFunction"
    log_stream_name = "local"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


@pytest.fixture
def action(kintone, moto_url, monkeypatch):
    """A fresh ActionFunction container with its table, dead-letter queue and tokens."""
    suffix = uuid.uuid4().hex[:8]
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_url)
    table = f"GuardTable-{suffix}"
    dynamodb.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    sqs = boto3.client("sqs", endpoint_url=moto_url)
    dlq = sqs.create_queue(QueueName=f"WebhookDeadLetterQueue-{suffix}")["QueueUrl"]
    sm = boto3.client("secretsmanager", endpoint_url=moto_url)
    for name, token in TOKENS.items():
        value = json.dumps({"kind": "kintone-token", "token": token})
        try:
            sm.create_secret(Name=name, SecretString=value)
        except sm.exceptions.ResourceExistsException:
            sm.put_secret_value(SecretId=name, SecretString=value)
    env = {
        "AWS_ENDPOINT_URL": moto_url,
        "GUARD_TABLE": table,
        "WEBHOOK_DEAD_LETTER_QUEUE_URL": dlq,
        "SEKISHO_POLICY": str(ROOT / "policy.yaml"),
        "KINTONE_BASE_URL": kintone.url,
        "POWERTOOLS_SERVICE_NAME": "sekisho",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(kintone_client, "_breakers", {})
    caches = (
        runtime.settings,
        runtime.policy,
        action_wiring.action_service,
        aws.client,
    )
    for cached in caches:
        cached.cache_clear()
    spec = importlib.util.spec_from_file_location(
        f"action_app_{suffix}", ROOT / "functions" / "action" / "app.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def dead_letters() -> list[dict]:
        answer = sqs.receive_message(
            QueueUrl=dlq, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        )
        return answer.get("Messages", [])

    yield module.lambda_handler, kintone, dead_letters
    for cached in caches:
        cached.cache_clear()


def seminar(kintone) -> dict[str, str]:
    (record,) = [
        r for r in kintone.emulator.store.records(2) if r["受付ID"]["value"] == DEMO_RECEIPT
    ]
    return {code: cell["value"] for code, cell in record.items()}


def test_the_mixed_batch_applies_once_drops_the_unmapped_and_dead_letters_the_bad_type(action):
    handler, kintone, dead_letters = action
    event = json.loads((EVENTS / "action_batch.json").read_text(encoding="utf-8"))
    revision = int(seminar(kintone)["$revision"])

    assert handler(event, Context()) == {"batchItemFailures": []}

    paid = seminar(kintone)
    assert (paid["支払状況"], paid["決済額"]) == ("支払済", "12000")
    assert paid["決済イベントID"] == "demo-stripe#evt_1QbatchGood00000001"
    assert int(paid["$revision"]) == revision + 1  # the duplicate changed nothing
    (letter,) = dead_letters()
    reason = {k: v["StringValue"] for k, v in letter["MessageAttributes"].items()}
    assert reason["reason"] == "value_invalid"
    assert reason["field"] == "決済額"
    assert reason["dedupe_key"] == "evt_1QbatchBadType00001"
    assert letter["Body"] == event["Records"][3]["body"]


def test_the_same_batch_again_is_all_duplicates_and_changes_nothing(action):
    handler, kintone, dead_letters = action
    event = json.loads((EVENTS / "action_batch.json").read_text(encoding="utf-8"))
    handler(event, Context())
    revision = seminar(kintone)["$revision"]
    dead_letters()  # the first run's letter, received (and left invisible)

    assert handler(event, Context()) == {"batchItemFailures": []}
    assert seminar(kintone)["$revision"] == revision


def test_in_maintenance_the_applicable_events_are_reported_failed_and_refusals_are_not(action):
    handler, kintone, dead_letters = action
    event = json.loads((EVENTS / "action_batch.json").read_text(encoding="utf-8"))
    kintone.emulator.controls.maintenance = True
    try:
        response = handler(event, Context())
    finally:
        kintone.emulator.controls.maintenance = False
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    ids = [r["messageId"] for r in event["Records"]]
    # The good event and its duplicate wait for kintone; the unmapped one is dropped and
    # the badly typed one is refused before kintone is asked.
    assert failed == {ids[0], ids[1]}
    assert len(dead_letters()) == 1


def test_a_delayed_payment_is_skipped_while_unpaid_paid_on_success_and_never_on_failure(action):
    handler, kintone, dead_letters = action
    # A konbini payment: completed unpaid, then its success; another session's failure.
    event = json.loads((EVENTS / "action_delayed_payment.json").read_text(encoding="utf-8"))
    revision = int(seminar(kintone)["$revision"])

    assert handler(event, Context()) == {"batchItemFailures": []}

    paid = seminar(kintone)
    assert (paid["支払状況"], paid["決済額"]) == ("支払済", "12000")
    assert paid["決済イベントID"] == "demo-stripe#evt_1QkonbiniPaid000001"
    assert int(paid["$revision"]) == revision + 1  # the success alone wrote
    assert dead_letters() == []


def test_in_maintenance_only_the_delayed_payments_success_waits_for_kintone(action):
    handler, kintone, dead_letters = action
    event = json.loads((EVENTS / "action_delayed_payment.json").read_text(encoding="utf-8"))
    before = seminar(kintone)
    kintone.emulator.controls.maintenance = True
    try:
        response = handler(event, Context())
    finally:
        kintone.emulator.controls.maintenance = False
    ids = [r["messageId"] for r in event["Records"]]
    # The unpaid completion and the failure are decided without kintone, and acknowledged.
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == {ids[1]}
    assert seminar(kintone) == before
    assert dead_letters() == []
