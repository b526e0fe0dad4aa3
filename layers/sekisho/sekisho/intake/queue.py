"""IntakeQueue: where an accepted submission waits while kintone is unavailable.

``SqsQueue`` sends to it; ``InMemoryQueue`` is its twin in tests, and hands the queued
messages back as Lambda's SQS event source would. Both fail with botocore's exceptions.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import ClientError

from sekisho import aws


class MessageQueue(Protocol):
    def send(self, body: str, receipt: str) -> None:
        """Send one message; the receipt also travels as the message attribute ``receipt``."""
        ...


class SqsQueue:
    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._url = queue_url
        self._client = client

    def send(self, body: str, receipt: str) -> None:
        (self._client or aws.client("sqs")).send_message(
            QueueUrl=self._url,
            MessageBody=body,
            MessageAttributes={"receipt": {"DataType": "String", "StringValue": receipt}},
        )


def failure(code: str, operation: str) -> ClientError:
    """A botocore ClientError with ``code``, as AWS raises it (for the twins)."""
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


@dataclass
class SentMessage:
    message_id: str
    body: str
    receipt: str
    receive_count: int = 0


class InMemoryQueue:
    """The twin of :class:`SqsQueue`. Set ``fail`` to make sends fail like SQS does."""

    def __init__(self, arn: str = "arn:aws:sqs:ap-northeast-1:123456789012:IntakeQueue"):
        self.arn = arn
        self.fail = False
        self._lock = threading.Lock()
        self._messages: list[SentMessage] = []

    def send(self, body: str, receipt: str) -> None:
        with self._lock:
            if self.fail:
                raise failure("AWS.SimpleQueueService.ServiceUnavailable", "SendMessage")
            self._messages.append(SentMessage(str(uuid.uuid4()), body, receipt))

    @property
    def messages(self) -> list[SentMessage]:
        with self._lock:
            return list(self._messages)

    def remove(self, message_ids: Iterable[str]) -> None:
        gone = set(message_ids)
        with self._lock:
            self._messages = [m for m in self._messages if m.message_id not in gone]

    def sqs_event(self, limit: int = 10) -> dict[str, Any]:
        """The next batch as Lambda's SQS event source would hand it to a function; each
        message's receive count goes up as it would in SQS."""
        with self._lock:
            batch = self._messages[:limit]
            for message in batch:
                message.receive_count += 1
            return {"Records": [sqs_record(m, self.arn) for m in batch]}


def sqs_record(message: SentMessage, arn: str) -> dict[str, Any]:
    """One record of a Lambda SQS event, in Lambda's shape."""
    return {
        "messageId": message.message_id,
        "receiptHandle": f"handle-{message.message_id}-{message.receive_count}",
        "body": message.body,
        "attributes": {
            "ApproximateReceiveCount": str(message.receive_count),
            "SentTimestamp": "1763700000000",
            "SenderId": "AROAEXAMPLE:IntakeFunction",
            "ApproximateFirstReceiveTimestamp": "1763700000001",
        },
        "messageAttributes": {
            "receipt": {
                "stringValue": message.receipt,
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "String",
            }
        },
        "md5OfBody": hashlib.md5(message.body.encode()).hexdigest(),  # noqa: S324 - SQS's own checksum
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": arn.split(":")[3],
    }
