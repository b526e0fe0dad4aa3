"""WebhookQueue: where a verified event waits for whoever consumes it.

``SqsEventQueue`` in AWS and ``InMemoryEventQueue`` as its twin in tests; both fail with
botocore's exceptions, which the service maps to one 503 so the sender retries.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any, Protocol

from botocore.exceptions import ClientError

from sekisho import aws

# Measured in UTF-8 bytes, body and attributes (names, types and values) together.
MAX_MESSAGE_BYTES = 256 * 1024
# What SQS refuses in a message (it allows #x9 #xA #xD, #x20-#xD7FF, #xE000-#xFFFD and
# beyond #xFFFF): JSON keeps them in strings as they are unless they are escaped.
_SQS_FORBIDDEN = re.compile("[\ud800-\udfff\ufffe\uffff]")


def encode_event(event: dict[str, Any]) -> str:
    """``event`` as compact JSON that SQS accepts as it is: non-ASCII text stays UTF-8
    (a third of the size of escapes for Japanese), the few characters SQS forbids are
    written as JSON escapes (same value, still valid JSON)."""
    text = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return _SQS_FORBIDDEN.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def attributes(dedupe_key: str, source: str) -> dict[str, dict[str, str]]:
    return {
        "dedupe_key": {"DataType": "String", "StringValue": dedupe_key},
        "source": {"DataType": "String", "StringValue": source},
    }


def message_bytes(body: str, attrs: dict[str, dict[str, str]]) -> int:
    """The size SQS holds against its limit: body plus every attribute's parts."""
    size = len(body.encode("utf-8"))
    for name, value in attrs.items():
        size += len(name.encode()) + len(value["DataType"].encode())
        size += len(value["StringValue"].encode("utf-8"))
    return size


class EventQueue(Protocol):
    def send(self, body: str, *, dedupe_key: str, source: str) -> None:
        """Send one event; ``dedupe_key`` and ``source`` travel as message attributes, so
        a consumer can drop a duplicate without parsing the body."""
        ...


class SqsEventQueue:
    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._url = queue_url
        self._client = client

    def send(self, body: str, *, dedupe_key: str, source: str) -> None:
        (self._client or aws.client("sqs")).send_message(
            QueueUrl=self._url,
            MessageBody=body,
            MessageAttributes=attributes(dedupe_key, source),
        )


class InMemoryEventQueue:
    """Set ``fail`` to refuse every send like an unreachable queue."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.messages: list[dict[str, str]] = []
        self.fail = False

    def send(self, body: str, *, dedupe_key: str, source: str) -> None:
        with self._lock:
            if self.fail:
                raise ClientError(
                    {"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "SendMessage"
                )
            self.messages.append({"body": body, "dedupe_key": dedupe_key, "source": source})
