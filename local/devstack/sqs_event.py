"""Lambda's side of an SQS event source mapping: the event it builds from received messages,
and how it reads a function's partial batch response."""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping, Sequence
from typing import Any

log = logging.getLogger(__name__)


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    # ReceiveMessage's MessageAttributeValue in the event's lower-camel shape, binaries as
    # base64 text (the event is JSON).
    shaped: dict[str, Any] = {}
    if "StringValue" in value:
        shaped["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        shaped["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    shaped["stringListValues"] = list(value.get("StringListValues") or [])
    shaped["binaryListValues"] = [
        base64.b64encode(item).decode("ascii") for item in value.get("BinaryListValues") or []
    ]
    shaped["dataType"] = value["DataType"]
    return shaped


def sqs_record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """One of the event's Records for a message as ReceiveMessage returned it."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: _message_attribute(value)
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfMessageAttributes": message.get("MD5OfMessageAttributes"),
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }


def sqs_event(messages: Sequence[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {"Records": [sqs_record(message, queue_arn) for message in messages]}


def failed_message_ids(result: Any, message_ids: Sequence[str]) -> set[str]:
    """The messages a partial batch response reports as failed.

    Lambda's rules: no response, no or an empty `batchItemFailures` is complete success;
    anything it cannot read, or an identifier that is empty or not in the batch, fails
    the whole batch (it would rather deliver again than lose a message).
    """
    batch = set(message_ids)
    if result is None:
        return set()
    if not isinstance(result, dict):
        return _whole_batch(batch)
    failures = result.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return _whole_batch(batch)
    reported = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in batch:
            return _whole_batch(batch)
        reported.add(identifier)
    return reported


def _whole_batch(batch: set[str]) -> set[str]:
    log.warning("malformed partial batch response: the whole batch of %d failed", len(batch))
    return batch
