"""A batch's failed messages are put out of sight together: ChangeMessageVisibilityBatch,
ten a call, when the handler flushes (moto)."""

from __future__ import annotations

import logging

import boto3
import pytest
from moto import mock_aws

from sekisho.redelivery import BatchedSqsVisibility

REGION = "ap-northeast-1"


@pytest.fixture
def queue():
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="intake", Attributes={"VisibilityTimeout": "1"})[
            "QueueUrl"
        ]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        yield sqs, url, arn


def _received(sqs, url: str, count: int) -> list[str]:
    handles: list[str] = []
    while len(handles) < count:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
        handles += [m["ReceiptHandle"] for m in answer.get("Messages", [])]
    return handles


def test_twenty_three_delays_are_three_calls_and_every_message_stays_out_of_sight(queue):
    sqs, url, arn = queue
    for i in range(23):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    visibility = BatchedSqsVisibility(sqs)
    for handle in _received(sqs, url, 23):
        visibility.delay(arn, handle, 600)

    assert visibility.flush() == 3
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages") is None
    assert visibility.flush() == 0  # nothing twice


def test_nothing_is_sent_before_the_flush(queue):
    sqs, url, arn = queue
    sqs.send_message(QueueUrl=url, MessageBody="one")
    [handle] = _received(sqs, url, 1)
    calls: list[dict] = []

    class Recording:
        def change_message_visibility_batch(self, **kwargs):
            calls.append(kwargs)
            return {"Successful": [{"Id": "0"}], "Failed": []}

    visibility = BatchedSqsVisibility(Recording())
    visibility.delay(arn, handle, 30)
    visibility.delay(arn, handle, 45)  # the last delay of a message wins

    assert calls == []
    visibility.flush()
    assert calls == [
        {
            "QueueUrl": url,
            "Entries": [{"Id": "0", "ReceiptHandle": handle, "VisibilityTimeout": 45}],
        }
    ]


def test_a_refused_entry_is_logged_and_the_others_still_go(queue, caplog):
    sqs, url, arn = queue
    sqs.send_message(QueueUrl=url, MessageBody="one")
    [handle] = _received(sqs, url, 1)

    class PartlyRefusing:
        def change_message_visibility_batch(self, **kwargs):
            return {"Successful": [], "Failed": [{"Id": "1", "Code": "ReceiptHandleIsInvalid"}]}

    visibility = BatchedSqsVisibility(PartlyRefusing())
    visibility.delay(arn, handle, 30)
    visibility.delay(arn, "not-a-handle", 30)
    caplog.set_level(logging.WARNING)

    assert visibility.flush() == 1
    [line] = [r for r in caplog.records if r.getMessage() == "message visibility not extended"]
    assert line.error == "ReceiptHandleIsInvalid"
