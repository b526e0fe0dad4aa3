"""Queued webhook events as WebhookFunction writes them, for the action consumer's tests."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any

from devstack.send import DEMO_SEMINAR_RECEIPT as DEMO_RECEIPT
from sekisho.webhooks.queue import attributes, encode_event

WEBHOOK_QUEUE_ARN = "arn:aws:sqs:ap-northeast-1:123456789012:WebhookQueue"


COMPLETED = "checkout.session.completed"
# A delayed payment method (konbini, bank transfer): the session completes unpaid, and one
# of these follows once the payer has paid, or has not.
SUCCEEDED = "checkout.session.async_payment_succeeded"
FAILED = "checkout.session.async_payment_failed"


def checkout_event(
    event_type: str,
    event_id: str,
    receipt: str = DEMO_RECEIPT,
    *,
    payment_status: str,
    session_id: str | None = None,
    **session: Any,
) -> dict:
    """A Stripe checkout.session.* event whose Checkout Session names a seminar
    application. ``session_id`` ties the events of one session together (default: one
    made from the event id)."""
    body = {
        "id": session_id or "cs_test_" + hashlib.sha256(event_id.encode()).hexdigest()[:24],
        "object": "checkout.session",
        "amount_total": 12000,
        "currency": "jpy",
        "payment_status": payment_status,
        "metadata": {"seminar_receipt": receipt},
    }
    body.update(session)
    return {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": 1_764_720_000,
        "data": {"object": body},
    }


def checkout_completed(
    event_id: str, receipt: str = DEMO_RECEIPT, *, payment_status: str = "paid", **session: Any
) -> dict:
    """A Stripe checkout.session.completed event naming a seminar application: paid (a
    card) unless ``payment_status`` says otherwise (``unpaid``: konbini, bank transfer)."""
    return checkout_event(COMPLETED, event_id, receipt, payment_status=payment_status, **session)


def stripe_message(event: dict[str, Any], source: str = "demo-stripe") -> dict[str, Any]:
    """The envelope WebhookFunction queues for a verified Stripe delivery."""
    return {
        "source": source,
        "scheme": "stripe",
        "dedupe_key": event["id"],
        "event_type": event.get("type"),
        "received_at": "2026-12-03T00:00:00Z",
        "content_type": "application/json",
        "body": json.dumps(event, ensure_ascii=False),
    }


def kintone_message(
    notification_id: str,
    record: dict[str, Any] | None,
    *,
    event_type: str = "ADD_RECORD",
    record_id: str = "1",
    refetched: bool = True,
) -> dict[str, Any]:
    """The envelope of a refetched kintone notification (demo-kintone, app 1)."""
    return {
        "source": "demo-kintone",
        "scheme": "kintone",
        "dedupe_key": notification_id,
        "event_type": event_type,
        "received_at": "2026-12-03T00:00:00Z",
        "refetched": refetched,
        "app": 1,
        "record_id": record_id,
        "record": record if refetched else None,
    }


def sqs_record(
    message: dict[str, Any],
    *,
    message_id: str | None = None,
    receive_count: int = 1,
    sent_at: float | None = None,
) -> dict[str, Any]:
    """One record of the SQS event Lambda hands ActionFunction."""
    body = encode_event(message)
    attrs = attributes(message["dedupe_key"], message["source"])
    message_id = message_id or str(uuid.uuid4())
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}-{receive_count}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": str(int((sent_at or time.time()) * 1000)),
        },
        "messageAttributes": {
            name: {"stringValue": value["StringValue"], "dataType": "String"}
            for name, value in attrs.items()
        },
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - SQS's checksum
        "eventSource": "aws:sqs",
        "eventSourceARN": WEBHOOK_QUEUE_ARN,
        "awsRegion": "ap-northeast-1",
    }
