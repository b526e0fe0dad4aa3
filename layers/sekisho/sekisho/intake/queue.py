"""The outbox: where an accepted submission waits while kintone is unavailable.

``Outbox`` is the one facade: it stores the attachments in the bucket first and then
sends the message, so a message on the queue always finds its files (objects left by a
failed send expire with the bucket's lifecycle rule). Adapters only move bytes:
``SqsQueue`` / ``S3AttachmentStore`` for AWS, ``InMemoryQueue`` /
``InMemoryAttachmentStore`` as their twins in tests. Every adapter, twin included,
fails with botocore's exceptions, so failures are mapped to the relay's errors here and
in the deliverer, once.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from sekisho import aws

from .errors import OutboxUnavailable
from .message import QueuedAttachment, QueuedSubmission, attachment_key, utc_now
from .writer import FileContent

# S3 answers 403 rather than 404 for a missing key when the caller may not list the
# bucket; the deliverer's role may not, on purpose, so both mean "absent".
_ABSENT_CODES = frozenset({"NoSuchKey", "404", "NotFound", "AccessDenied", "403"})


def sqs_client() -> Any:
    """The container's SQS client (:mod:`sekisho.aws`)."""
    return aws.client("sqs")


def s3_client() -> Any:
    return aws.client("s3")


def error_code(exc: ClientError | BotoCoreError) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "ClientError")
    return type(exc).__name__


def queue_url_from_arn(arn: str) -> str:
    """``arn:aws:sqs:<region>:<account>:<name>`` as the queue's URL (no GetQueueUrl call,
    so the deliverer's role needs no permission for it)."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sqs" or not all(parts[3:]):
        raise ValueError("not an SQS queue ARN")
    partition, region, account, name = parts[1], parts[3], parts[4], parts[5]
    domain = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return f"https://sqs.{region}.{domain}/{account}/{name}"


# --------------------------------------------------------------------------- interfaces


class MessageQueue(Protocol):
    def send(self, body: str, receipt: str) -> None:
        """Send one message; the receipt also travels as the message attribute ``receipt``."""
        ...


class AttachmentStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, keys: Sequence[str]) -> None: ...


class VisibilityControl(Protocol):
    def delay(self, event_source_arn: str, receipt_handle: str, seconds: int) -> None:
        """Keep a received message invisible for ``seconds`` from now."""
        ...


# ------------------------------------------------------------------------------- outbox


class Outbox:
    def __init__(self, queue: MessageQueue, attachments: AttachmentStore) -> None:
        self._queue = queue
        self._attachments = attachments

    def put(
        self,
        *,
        receipt: str,
        form: str,
        record: Mapping[str, Any],
        files: Iterable[FileContent],
    ) -> QueuedSubmission:
        """Store the files, then queue the message. Raises :class:`OutboxUnavailable`
        when either step fails: the submission was then not accepted."""
        queued: list[QueuedAttachment] = []
        try:
            for index, item in enumerate(files):
                key = attachment_key(receipt, index)
                self._attachments.put(key, item.data)
                queued.append(
                    QueuedAttachment(
                        field=item.field,
                        filename=item.filename,
                        content_type=item.content_type,
                        size=len(item.data),
                        sha256=hashlib.sha256(item.data).hexdigest(),
                        s3_key=key,
                    )
                )
            message = QueuedSubmission(receipt, form, dict(record), tuple(queued), utc_now())
            self._queue.send(message.to_json(), receipt)
        except (ClientError, BotoCoreError) as exc:
            raise OutboxUnavailable(
                f"the submission could not be queued ({error_code(exc)})"
            ) from exc
        return message


# ---------------------------------------------------------------------------- AWS adapters


class SqsQueue:
    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._url = queue_url
        self._client = client

    def send(self, body: str, receipt: str) -> None:
        (self._client or sqs_client()).send_message(
            QueueUrl=self._url,
            MessageBody=body,
            MessageAttributes={"receipt": {"DataType": "String", "StringValue": receipt}},
        )


class SqsVisibility:
    def __init__(self, client: Any = None) -> None:
        self._client = client

    def delay(self, event_source_arn: str, receipt_handle: str, seconds: int) -> None:
        (self._client or sqs_client()).change_message_visibility(
            QueueUrl=queue_url_from_arn(event_source_arn),
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=seconds,
        )


class S3AttachmentStore:
    """Objects in the attachment bucket; the bucket's default encryption applies."""

    def __init__(self, bucket: str, client: Any = None) -> None:
        self._bucket = bucket
        self._client = client

    @property
    def _s3(self) -> Any:
        return self._client or s3_client()

    def put(self, key: str, data: bytes) -> None:
        # Served to nobody; the type stays opaque so no viewer ever renders it.
        self._s3.put_object(
            Bucket=self._bucket, Key=key, Body=data, ContentType="application/octet-stream"
        )

    def get(self, key: str) -> bytes | None:
        try:
            response = self._s3.get_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in _ABSENT_CODES:
                return None
            raise
        return response["Body"].read()

    def exists(self, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in _ABSENT_CODES:
                return False
            raise
        return True

    def delete(self, keys: Sequence[str]) -> None:
        if keys:
            self._s3.delete_objects(
                Bucket=self._bucket,
                Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
            )


# ------------------------------------------------------------------------------- twins


def _failure(code: str, operation: str) -> ClientError:
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
                raise _failure("AWS.SimpleQueueService.ServiceUnavailable", "SendMessage")
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


class InMemoryAttachmentStore:
    """The twin of :class:`S3AttachmentStore`. Set ``fail`` to make every call fail."""

    def __init__(self) -> None:
        self.fail = False
        self._lock = threading.Lock()
        self._objects: dict[str, bytes] = {}

    def put(self, key: str, data: bytes) -> None:
        with self._lock:
            self._check("PutObject")
            self._objects[key] = bytes(data)

    def get(self, key: str) -> bytes | None:
        with self._lock:
            self._check("GetObject")
            return self._objects.get(key)

    def exists(self, key: str) -> bool:
        with self._lock:
            self._check("HeadObject")
            return key in self._objects

    def delete(self, keys: Sequence[str]) -> None:
        with self._lock:
            self._check("DeleteObjects")
            for key in keys:
                self._objects.pop(key, None)

    def keys(self) -> list[str]:
        with self._lock:
            return sorted(self._objects)

    def _check(self, operation: str) -> None:
        if self.fail:
            raise _failure("ServiceUnavailable", operation)


class InMemoryVisibility:
    """The twin of :class:`SqsVisibility`: remembers each ``(receipt_handle, seconds)``."""

    def __init__(self) -> None:
        self.delays: list[tuple[str, int]] = []

    def delay(self, event_source_arn: str, receipt_handle: str, seconds: int) -> None:
        queue_url_from_arn(event_source_arn)
        self.delays.append((receipt_handle, seconds))
