"""`python -m devstack queues`: what waits in the local stack's queues.

A dead-letter queue's messages are listed by their `receipt` message attribute, never by
their bodies: a body is a person's application.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

# How long a peeked message stays hidden while the report collects a queue's messages;
# each is made visible again right after.
PEEK_SECONDS = 30
MAX_LISTED = 100
RECEIPT_ATTRIBUTE = "receipt"


def queue_report(sqs: Any) -> str:
    urls = sorted(sqs.list_queues().get("QueueUrls") or [])
    if not urls:
        return "no queues"
    attributes = {
        url: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        for url in urls
    }
    feeders: dict[str, list[str]] = {}
    for url, values in attributes.items():
        if "RedrivePolicy" in values:
            target = json.loads(values["RedrivePolicy"])["deadLetterTargetArn"]
            feeders.setdefault(target, []).append(_name(url))
    width = max(len(_name(url)) for url in urls)
    lines = []
    for url in urls:
        values = attributes[url]
        line = (
            f"{_name(url):<{width}}  visible {values['ApproximateNumberOfMessages']:>5}"
            f"  in flight {values['ApproximateNumberOfMessagesNotVisible']:>5}"
        )
        sources = feeders.get(values["QueueArn"])
        if not sources:
            lines.append(line)
            continue
        lines.append(f"{line}  dead-letter queue of {', '.join(sorted(sources))}")
        if "RedrivePolicy" in values:
            # Peeking counts as a receive, which would push its messages further on.
            lines.append("    (it redrives to another queue itself: not peeked)")
        else:
            lines += [f"    {entry}" for entry in dead_letters(sqs, url)]
    return "\n".join(lines)


def _name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def peek(
    sqs: Any, url: str, limit: int = MAX_LISTED, attribute_names: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Up to `limit` messages of a queue, each once; every one is visible again afterwards.

    A peek is a receive to SQS: it raises each message's receive count, and past a
    redrive policy's maxReceiveCount the next receive moves the message on.
    """
    peeked: dict[str, dict[str, Any]] = {}
    handles: list[str] = []
    try:
        while len(peeked) < limit:
            messages = (
                sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=10,
                    VisibilityTimeout=PEEK_SECONDS,
                    WaitTimeSeconds=0,
                    MessageAttributeNames=list(attribute_names),
                    MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
                ).get("Messages")
                or []
            )
            if not messages:
                break
            for message in messages:
                handles.append(message["ReceiptHandle"])
                peeked.setdefault(message["MessageId"], message)
    finally:
        for start in range(0, len(handles), 10):
            sqs.change_message_visibility_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                    for index, handle in enumerate(handles[start : start + 10])
                ],
            )
    return list(peeked.values())[:limit]


def dead_letters(sqs: Any, url: str, limit: int = MAX_LISTED) -> list[str]:
    """One line per message, by receipt; every message is visible again afterwards."""
    messages = peek(sqs, url, limit, [RECEIPT_ATTRIBUTE])
    lines = [_describe(message) for message in messages]
    if len(messages) >= limit:
        lines.append(f"(the first {limit} only)")
    return lines or ["(none)"]


def queued_at(message: Mapping[str, Any]) -> str:
    sent = int((message.get("Attributes") or {}).get("SentTimestamp", "0")) / 1000
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(sent))


def _describe(message: Mapping[str, Any]) -> str:
    attribute = (message.get("MessageAttributes") or {}).get(RECEIPT_ATTRIBUTE) or {}
    receipt = attribute.get("StringValue")
    who = f"receipt {receipt}" if receipt else f"message {message['MessageId']} (no receipt)"
    # No receive count: every peek, this one included, raises it.
    return f"{who}  queued {queued_at(message)}"
