"""Webhook dedupe and queueing against moto's DynamoDB and SQS: exactly once under
concurrent redeliveries, and a refused enqueue that does not poison the dedupe record."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from botocore.config import Config

from sekisho.once import RunOnce
from sekisho.policy.validation import validate_policy
from sekisho.secrets.memory import InMemorySecretBackend
from sekisho.secrets.store import SecretStore
from sekisho.webhooks.delivery import Delivery
from sekisho.webhooks.errors import DeliveryInProgress, WebhookQueueUnavailable
from sekisho.webhooks.keys import SigningKeys
from sekisho.webhooks.queue import SqsEventQueue
from sekisho.webhooks.service import DEDUPE_SECONDS, KEY_PREFIX, WebhookService
from webhook_senders import sign

REGION = "ap-northeast-1"
SECRET = {"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
NOW = 1_795_000_000
# Many threads against one moto server: enough connections for all of them.
POOL = Config(max_pool_connections=64, retries={"mode": "standard", "max_attempts": 3})


def _client(service: str, moto_url: str) -> Any:
    return boto3.client(service, endpoint_url=moto_url, region_name=REGION, config=POOL)


@pytest.fixture
def aws(moto_url: str) -> dict[str, Any]:
    dynamodb, sqs = _client("dynamodb", moto_url), _client("sqs", moto_url)
    table = f"GuardTable-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    queue_url = sqs.create_queue(QueueName=f"WebhookQueue-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    return {"dynamodb": dynamodb, "sqs": sqs, "table": table, "queue_url": queue_url}


def _service(aws: dict[str, Any], queue_url: str | None = None) -> WebhookService:
    backend = InMemorySecretBackend()
    backend.put("sekisho/webhook/std", json.dumps(SECRET))
    policy = validate_policy(
        {
            "kintone": {"base_url": "https://example.cybozu.com"},
            "webhooks": {"std": {"scheme": "standard", "secret": "sekisho/webhook/std"}},
        }
    )
    persistence = DynamoDBPersistenceLayer(
        table_name=aws["table"],
        key_attr="pk",
        expiry_attr="expires_at",
        boto3_client=aws["dynamodb"],
    )
    return WebhookService(
        policy,
        SigningKeys(SecretStore(backend, allowed=frozenset({"sekisho/webhook/std"}))),
        SqsEventQueue(queue_url or aws["queue_url"], client=aws["sqs"]),
        RunOnce(persistence, key_prefix=KEY_PREFIX, expires_after_seconds=DEDUPE_SECONDS),
        clock=lambda: NOW,
    )


def _delivery(event_id: str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W") -> Delivery:
    body = json.dumps({"type": "invoice.paid", "data": {"顧客": "株式会社サンプル"}}).encode()
    signed = sign("standard", body, SECRET, now=NOW, delivery_id=event_id)
    return Delivery.build(body, signed.headers)


def _queued(aws: dict[str, Any]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while True:
        got = (
            aws["sqs"]
            .receive_message(
                QueueUrl=aws["queue_url"], MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            )
            .get("Messages", [])
        )
        if not got:
            return messages
        messages.extend(got)


def test_fifty_concurrent_redeliveries_of_one_event_enqueue_it_exactly_once(aws):
    service = _service(aws)
    delivery = _delivery()

    def deliver(_: int) -> str:
        try:
            return service.receive("std", delivery).status
        except DeliveryInProgress:
            return "in_progress"  # a 503: the sender retries and is then told "duplicate"

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(deliver, range(50)))

    messages = _queued(aws)
    assert len(messages) == 1
    assert outcomes.count("queued") == 1
    assert set(outcomes) <= {"queued", "duplicate", "in_progress"}
    attributes = messages[0]["MessageAttributes"]
    assert attributes["dedupe_key"]["StringValue"] == "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
    assert attributes["source"]["StringValue"] == "std"
    # Every later redelivery is a duplicate, and still nothing more is queued.
    assert service.receive("std", delivery).status == "duplicate"
    assert _queued(aws) == []


def test_the_dedupe_record_lives_in_the_guard_table_under_the_webhook_prefix_for_days(aws):
    _service(aws).receive("std", _delivery())
    items = aws["dynamodb"].scan(TableName=aws["table"])["Items"]
    assert len(items) == 1
    assert items[0]["pk"]["S"].startswith("sekisho.webhook#")
    assert items[0]["status"]["S"] == "COMPLETED"
    # Powertools counts the expiry from the real clock: days, not the minutes an SQS FIFO
    # queue remembers a deduplication id.
    assert int(items[0]["expires_at"]["N"]) - time.time() >= DEDUPE_SECONDS - 60


def test_when_sqs_refuses_the_answer_is_503_and_a_later_redelivery_is_enqueued(aws):
    missing_queue = aws["queue_url"].rsplit("/", 1)[0] + "/no-such-queue"
    with pytest.raises(WebhookQueueUnavailable) as refused:
        _service(aws, queue_url=missing_queue).receive("std", _delivery())
    assert refused.value.status == 503
    assert aws["dynamodb"].scan(TableName=aws["table"])["Items"] == []

    assert _service(aws).receive("std", _delivery()).status == "queued"
    assert len(_queued(aws)) == 1
