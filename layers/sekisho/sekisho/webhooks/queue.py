"""WebhookQueue: where a verified event waits for whoever consumes it.

``SqsEventQueue`` in AWS and ``InMemoryEventQueue`` as its twin in tests; both fail with
botocore's exceptions, which the service maps to one 503 so the sender retries.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from botocore.exceptions import ClientError

from sekisho.intake.queue import sqs_client

# Measured in UTF-8 bytes, body and attributes together.
MAX_MESSAGE_BYTES = 256 * 1024


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
        (self._client or sqs_client()).send_message(
            QueueUrl=self._url,
            MessageBody=body,
            MessageAttributes={
                "dedupe_key": {"DataType": "String", "StringValue": dedupe_key},
                "source": {"DataType": "String", "StringValue": source},
            },
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
