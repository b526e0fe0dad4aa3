"""The template's SQS queues, made in moto with their attributes and redrive policies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .cfn import Resolver, resources
from .errors import TemplateError

QUEUE_TYPE = "AWS::SQS::Queue"
# SQS's default when a queue does not set one.
DEFAULT_VISIBILITY_TIMEOUT = 30
# CloudFormation's queue properties that are CreateQueue attributes under the same name.
_ATTRIBUTES = (
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
)
# Set once every queue exists: moto refuses a redrive policy whose dead-letter queue it
# does not know yet, and a template may declare the DLQ after its source.
_REDRIVE_ATTRIBUTES = ("RedrivePolicy", "RedriveAllowPolicy")
_OTHER_PROPERTIES = ("QueueName", "Tags")


@dataclass(frozen=True)
class QueueInfo:
    logical_id: str
    name: str
    url: str
    arn: str
    visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT


def _attribute(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def queue_attributes(
    logical_id: str, properties: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, str]]:
    """(CreateQueue attributes, the redrive attributes to set afterwards) of a queue."""
    unknown = set(properties) - {*_ATTRIBUTES, *_REDRIVE_ATTRIBUTES, *_OTHER_PROPERTIES}
    if unknown:
        raise TemplateError(f"{logical_id}: {', '.join(sorted(unknown))} not emulated locally")
    create = {name: _attribute(properties[name]) for name in _ATTRIBUTES if name in properties}
    redrive = {
        name: _attribute(properties[name]) for name in _REDRIVE_ATTRIBUTES if name in properties
    }
    return create, redrive


def create_queues(sqs: Any, template: Mapping[str, Any], resolver: Resolver) -> list[QueueInfo]:
    created, redrives = [], []
    for logical_id, raw in resources(template, resolver, QUEUE_TYPE):
        properties = resolver.resolve(raw)
        attributes, redrive = queue_attributes(logical_id, properties)
        name = str(resolver.get_att(logical_id, "QueueName"))
        request: dict[str, Any] = {"QueueName": name, "Attributes": attributes}
        if properties.get("Tags"):
            request["tags"] = {tag["Key"]: str(tag["Value"]) for tag in properties["Tags"]}
        url = sqs.create_queue(**request)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        resolver.refs[logical_id] = url
        resolver.attributes[logical_id].update(Arn=arn, QueueUrl=url)
        visibility = int(properties.get("VisibilityTimeout", DEFAULT_VISIBILITY_TIMEOUT))
        created.append(QueueInfo(logical_id, name, url, arn, visibility))
        if redrive:
            redrives.append((logical_id, url, redrive))
    for logical_id, url, redrive in redrives:
        try:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=redrive)
        except sqs.exceptions.QueueDoesNotExist as exc:
            raise TemplateError(f"{logical_id}: its dead-letter queue does not exist") from exc
    return created
