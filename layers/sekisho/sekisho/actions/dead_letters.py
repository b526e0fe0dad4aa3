"""Where an event that can never be applied goes: WebhookQueue's dead-letter queue, at once.

The message goes on as it arrived (its body untouched, so a redrive after a fix replays it
exactly), with its ``reason`` and, when known, the ``action`` and ``field`` as message
attributes: whoever looks at the dead letters sees why without parsing anything.
``SqsDeadLetters`` in AWS, ``InMemoryDeadLetters`` as its twin; both fail with botocore's
exceptions.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from botocore.exceptions import ClientError

from sekisho import aws


def attributes(fields: dict[str, str | None]) -> dict[str, dict[str, str]]:
    return {
        name: {"DataType": "String", "StringValue": value}
        for name, value in fields.items()
        if value  # SQS refuses an empty attribute value
    }


class DeadLetters(Protocol):
    def send(self, body: str, fields: dict[str, str | None]) -> None: ...


class SqsDeadLetters:
    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._url = queue_url
        self._client = client

    def send(self, body: str, fields: dict[str, str | None]) -> None:
        (self._client or aws.client("sqs")).send_message(
            QueueUrl=self._url, MessageBody=body, MessageAttributes=attributes(fields)
        )


class InMemoryDeadLetters:
    """Set ``fail`` to refuse every send like an unreachable queue."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.messages: list[dict[str, Any]] = []
        self.fail = False

    def send(self, body: str, fields: dict[str, str | None]) -> None:
        with self._lock:
            if self.fail:
                raise ClientError(
                    {"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "SendMessage"
                )
            self.messages.append({"body": body, "attributes": attributes(fields)})
