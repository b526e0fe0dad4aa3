"""`python -m devstack webhooks`: the verified events on the local WebhookQueue and its
dead-letter queue.

`make dev` pumps WebhookQueue into ActionFunction, so an event stays on it only while it
waits to be applied (kintone unavailable, backed off); an event its action refused is on
the dead-letter queue with its `reason` (and `action`, `field`). Looking is a receive (SQS
has no other way to read a message): each look raises the messages' receive counts, and
past the queue's maxReceiveCount the next look moves a message to the dead-letter queue,
as it would in AWS.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .cfn import Resolver, load_template, parameter_values
from .errors import TemplateError
from .provision import register_resources
from .queue_report import MAX_LISTED, peek, queued_at

WEBHOOK_QUEUE = "WebhookQueue"
# The message attributes the webhook function sets on every event, and those the action
# function adds to a dead letter.
EVENT_ATTRIBUTES = ("source", "dedupe_key", "reason", "action", "field")
_INDENT = "    "


def queue_name(template: Path, logical_id: str = WEBHOOK_QUEUE) -> str:
    """The queue's local name, as the stack names it from the template."""
    data = load_template(template)
    if logical_id not in data["Resources"]:
        raise TemplateError(f"{template} declares no {logical_id}")
    resolver = Resolver(data, parameter_values(data, {}))
    register_resources(data, resolver, "")
    return str(resolver.get_att(logical_id, "QueueName"))


def webhook_report(sqs: Any, name: str, limit: int = MAX_LISTED) -> str:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
    redrive = (attributes.get("Attributes") or {}).get("RedrivePolicy")
    queues = [(name, url, "")]
    if redrive:
        policy = json.loads(redrive)
        dead = str(policy["deadLetterTargetArn"]).rsplit(":", 1)[-1]
        queues[0] = (
            name,
            url,
            f" (every look is a receive: after {policy['maxReceiveCount']} an event moves "
            f"to {dead})",
        )
        queues.append((dead, sqs.get_queue_url(QueueName=dead)["QueueUrl"], ""))
    lines = []
    for queue, queue_url, note in queues:
        messages = peek(sqs, queue_url, limit, EVENT_ATTRIBUTES)
        count = f"{len(messages)} event" + ("" if len(messages) == 1 else "s")
        lines.append(f"{queue}: {count}{note}")
        for message in messages:
            lines += describe_event(message)
        if len(messages) >= limit:
            lines.append(f"(the first {limit} only)")
    return "\n".join(lines)


def describe_event(message: Mapping[str, Any]) -> list[str]:
    """A heading with what the relay proved about the event, then what it hands on."""
    receives = (message.get("Attributes") or {}).get("ApproximateReceiveCount", "?")
    try:
        event = json.loads(message["Body"])
    except (KeyError, TypeError, json.JSONDecodeError):
        event = None
    if not isinstance(event, dict):
        return [f"- message {message['MessageId']}: not a webhook event"]
    lines = [
        f"- {event.get('source')} ({event.get('scheme')})  {event.get('event_type') or '-'}"
        f"  dedupe key {event.get('dedupe_key')}",
        f"  received {event.get('received_at') or queued_at(message)}  receives {receives}",
    ]
    refusal = _refusal(message)
    if refusal:
        lines.append(f"  refused: {refusal}")
    if "refetched" in event:
        where = f"record {event.get('record_id')} of app {event.get('app')}"
        if not event["refetched"]:
            # kintone could not be read in time: only the identity travels, no content.
            lines.append(f"  {where}: not read (kintone was unavailable); its consumer reads it")
            return lines
        if event.get("record") is None:
            lines.append(f"  {where}: gone from kintone (deleted)")
            return lines
        lines.append(f"  {where}, as kintone holds it now:")
        return lines + _indented(_pretty_json(event["record"]))
    lines.append(f"  body ({event.get('content_type') or 'no content type'}):")
    return lines + _indented(_pretty_body(event.get("body")))


def _refusal(message: Mapping[str, Any]) -> str:
    """Why ActionFunction dead-lettered the event, from the attributes it set."""
    attributes = message.get("MessageAttributes") or {}
    said = {
        name: (attributes.get(name) or {}).get("StringValue")
        for name in ("reason", "action", "field")
    }
    if not said["reason"]:
        return ""
    where = ", ".join(
        f"{name} {value}" for name, value in said.items() if value and name != "reason"
    )
    return said["reason"] + (f" ({where})" if where else "")


def _pretty_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def _pretty_body(body: Any) -> str:
    if not isinstance(body, str):
        return _pretty_json(body)
    try:
        return _pretty_json(json.loads(body))
    except json.JSONDecodeError:
        return body


def _indented(text: str) -> list[str]:
    return [_INDENT + line for line in text.splitlines()] or [_INDENT]
