"""The local stack's SQS event source mapping, against moto's SQS, with the function played
by the test: which messages a batch holds, which are deleted, which come back, which end
in the dead-letter queue, and how many batches run at once."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devstack.aws import Moto
from devstack.pool import Invocation, Outcome
from devstack.pump import BatchOutcome, SqsPump
from devstack.sam import SqsSource
from devstack.sqs_event import failed_message_ids

_names = itertools.count()


@pytest.fixture(scope="module")
def moto() -> Iterator[Moto]:
    server = Moto()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sqs(moto: Moto) -> Any:
    return moto.client("sqs")


class Queue:
    def __init__(self, sqs: Any, attributes: dict[str, str] | None = None) -> None:
        self.sqs = sqs
        self.name = f"queue-{next(_names)}"
        self.url = sqs.create_queue(QueueName=self.name, Attributes=attributes or {})["QueueUrl"]
        self.arn = self.attribute("QueueArn")

    def attribute(self, name: str) -> str:
        return self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=[name])[
            "Attributes"
        ][name]

    def send(self, *bodies: Any, **attributes: Any) -> list[str]:
        return [
            self.sqs.send_message(
                QueueUrl=self.url, MessageBody=json.dumps(body), MessageAttributes=attributes
            )["MessageId"]
            for body in bodies
        ]

    def counts(self) -> tuple[int, int]:
        """(visible, in flight)"""
        values = self.sqs.get_queue_attributes(
            QueueUrl=self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return (
            int(values["ApproximateNumberOfMessages"]),
            int(values["ApproximateNumberOfMessagesNotVisible"]),
        )


class Function:
    """Plays the function: answers each event as `respond` says, and remembers the events."""

    def __init__(self, respond: Callable[[dict[str, Any]], Invocation] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self._respond = respond or (lambda event: Invocation(Outcome.OK, None))

    def __call__(self, event: dict[str, Any], request_id: str) -> Invocation:
        self.events.append(event)
        return self._respond(event)


def fail_bodies(event: dict[str, Any]) -> Invocation:
    failures = [
        {"itemIdentifier": record["messageId"]}
        for record in event["Records"]
        if json.loads(record["body"]).get("fail")
    ]
    return Invocation(Outcome.OK, {"batchItemFailures": failures})


def source(queue: Queue, **overrides: Any) -> SqsSource:
    settings: dict[str, Any] = {
        "function": "ConsumerFunction",
        "event": "Work",
        "queue_arn": queue.arn,
        "batch_size": 10,
        "window": 0,
        "report_failures": True,
        "concurrency": 1,
    }
    return SqsSource(**{**settings, **overrides})


def pump_for(sqs: Any, queue: Queue, function: Function, **overrides: Any) -> SqsPump:
    return SqsPump(source(queue, **overrides), queue.url, sqs, function)


def eventually(condition: Callable[[], bool], seconds: float = 20) -> None:
    """Waits for a pump running in its own threads; fails the test only on a hang."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the pump did not get there"
        time.sleep(0.05)


# -- one batch ---------------------------------------------------------------------------


def test_batch_reaches_the_function_as_one_event_and_every_success_is_deleted(sqs: Any) -> None:
    queue = Queue(sqs)
    sent = queue.send({"n": 1}, {"n": 2}, {"n": 3})
    function = Function()

    outcome = pump_for(sqs, queue, function).once()

    (event,) = function.events
    assert [record["messageId"] for record in event["Records"]] == sent
    assert [json.loads(record["body"]) for record in event["Records"]] == [
        {"n": 1},
        {"n": 2},
        {"n": 3},
    ]
    assert outcome == BatchOutcome(
        queue=queue.name,
        function="ConsumerFunction",
        received=tuple(sent),
        deleted=tuple(sent),
        failed=(),
        invocation=Outcome.OK,
    )
    assert queue.counts() == (0, 0)


def test_reported_failures_stay_in_the_queue_and_the_rest_are_deleted(sqs: Any) -> None:
    queue = Queue(sqs, {"VisibilityTimeout": "0"})
    ok, failing, also_ok = queue.send({"n": 1}, {"fail": True}, {"n": 3})

    outcome = pump_for(sqs, queue, Function(fail_bodies)).once()
    again = pump_for(sqs, queue, Function(fail_bodies)).once()

    assert outcome.deleted == (ok, also_ok)
    assert outcome.failed == (failing,)
    assert again.received == (failing,)


def test_failed_message_comes_back_with_its_receive_count_raised(sqs: Any) -> None:
    queue = Queue(sqs, {"VisibilityTimeout": "0"})
    queue.send({"fail": True})
    function = Function(fail_bodies)
    pump = pump_for(sqs, queue, function)

    pump.once()
    pump.once()

    counts = [
        event["Records"][0]["attributes"]["ApproximateReceiveCount"] for event in function.events
    ]
    assert counts == ["1", "2"]


@pytest.mark.parametrize("outcome", [Outcome.FAILED, Outcome.CRASHED, Outcome.TIMED_OUT])
def test_function_error_crash_or_timeout_fails_the_whole_batch_and_deletes_nothing(
    sqs: Any, outcome: Outcome
) -> None:
    queue = Queue(sqs)
    sent = queue.send({"n": 1}, {"n": 2})

    result = pump_for(sqs, queue, Function(lambda event: Invocation(outcome))).once()

    assert result.deleted == ()
    assert result.failed == tuple(sent)
    assert result.invocation is outcome
    assert queue.counts() == (0, 2)  # in flight until the visibility timeout ends


def test_without_report_batch_item_failures_a_successful_invocation_deletes_everything(
    sqs: Any,
) -> None:
    queue = Queue(sqs)
    sent = queue.send({"n": 1}, {"fail": True})

    outcome = pump_for(sqs, queue, Function(fail_bodies), report_failures=False).once()

    assert outcome.deleted == tuple(sent)
    assert queue.counts() == (0, 0)


def test_message_failing_max_receive_count_times_lands_in_the_dead_letter_queue(
    sqs: Any,
) -> None:
    dead = Queue(sqs)
    redrive = json.dumps({"deadLetterTargetArn": dead.arn, "maxReceiveCount": 3})
    queue = Queue(sqs, {"VisibilityTimeout": "0", "RedrivePolicy": redrive})
    (sent,) = queue.send({"fail": True}, receipt={"DataType": "String", "StringValue": "receipt-1"})
    pump = pump_for(sqs, queue, Function(fail_bodies))

    attempts = [pump.once(wait_seconds=0) for _ in range(4)]

    assert [attempt.received for attempt in attempts] == [(sent,), (sent,), (sent,), ()]
    assert attempts[-1].invocation is None
    assert queue.counts() == (0, 0)
    (moved,) = sqs.receive_message(QueueUrl=dead.url, MessageAttributeNames=["All"])["Messages"]
    assert moved["MessageId"] == sent
    assert moved["MessageAttributes"]["receipt"]["StringValue"] == "receipt-1"


def test_batch_holds_at_most_batch_size_messages(sqs: Any) -> None:
    queue = Queue(sqs)
    queue.send(*({"n": n} for n in range(7)))
    function = Function()
    pump = pump_for(sqs, queue, function, batch_size=3)

    sizes = [len(pump.once(wait_seconds=0).received) for _ in range(4)]

    assert sizes == [3, 3, 1, 0]


def test_empty_queue_invokes_nothing(sqs: Any) -> None:
    function = Function()

    outcome = pump_for(sqs, Queue(sqs), function).once(wait_seconds=0)

    assert outcome.received == ()
    assert outcome.invocation is None
    assert function.events == []


# -- the event ---------------------------------------------------------------------------


def test_record_has_the_shape_lambda_gives_an_sqs_message(sqs: Any) -> None:
    queue = Queue(sqs)
    (sent,) = queue.send(
        {"n": 1},
        receipt={"DataType": "String", "StringValue": "6f1c-receipt"},
        size={"DataType": "Number", "StringValue": "1234"},
        digest={"DataType": "Binary", "BinaryValue": b"\x00\xff"},
    )
    function = Function()

    pump_for(sqs, queue, function).once()

    (record,) = function.events[0]["Records"]
    assert record["messageId"] == sent
    assert record["receiptHandle"]
    assert record["body"] == '{"n": 1}'
    assert record["md5OfBody"] == hashlib.md5(b'{"n": 1}').hexdigest()  # noqa: S324
    assert len(record["md5OfMessageAttributes"]) == 32
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queue.arn
    assert record["awsRegion"] == "ap-northeast-1"
    assert set(record["attributes"]) == {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    }
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"] == {
        "receipt": {
            "stringValue": "6f1c-receipt",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "size": {
            "stringValue": "1234",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Number",
        },
        "digest": {
            "binaryValue": base64.b64encode(b"\x00\xff").decode(),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }
    # What Lambda hands the function is JSON.
    assert json.loads(json.dumps(function.events[0])) == function.events[0]


# -- partial batch responses ---------------------------------------------------------------

BATCH = ("m-1", "m-2", "m-3")


@pytest.mark.parametrize(
    ("response", "failed"),
    [
        # complete success
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": []}, set()),
        # the ones named
        ({"batchItemFailures": [{"itemIdentifier": "m-2"}]}, {"m-2"}),
        ({"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-3"}]},
         {"m-1", "m-3"}),
        # unreadable: the whole batch, never a guess
        ({"batchItemFailures": [{"itemIdentifier": "not-in-the-batch"}]}, set(BATCH)),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, set(BATCH)),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, set(BATCH)),
        ({"batchItemFailures": [{"messageId": "m-2"}]}, set(BATCH)),
        ({"batchItemFailures": ["m-2"]}, set(BATCH)),
        ({"batchItemFailures": "m-2"}, set(BATCH)),
        ("ok", set(BATCH)),
        ([{"itemIdentifier": "m-2"}], set(BATCH)),
    ],
)  # fmt: skip
def test_partial_batch_response_is_read_as_lambda_reads_it(response: Any, failed: set[str]) -> None:
    assert failed_message_ids(response, BATCH) == failed


def test_malformed_partial_response_keeps_every_message_of_the_batch(sqs: Any) -> None:
    queue = Queue(sqs)
    sent = queue.send({"n": 1}, {"n": 2})
    malformed = Invocation(Outcome.OK, {"batchItemFailures": [{"itemIdentifier": "unknown"}]})

    outcome = pump_for(sqs, queue, Function(lambda event: malformed)).once()

    assert outcome.deleted == ()
    assert outcome.failed == tuple(sent)


# -- polling by itself -------------------------------------------------------------------


def test_running_pump_never_has_more_batches_in_flight_than_its_concurrency(sqs: Any) -> None:
    queue = Queue(sqs)
    queue.send(*({"n": n} for n in range(8)))
    lock = threading.Lock()
    active, peak = 0, 0
    # Each batch waits for a second one to be in flight: with one at a time this breaks.
    pairs = threading.Barrier(2, timeout=20)

    def respond(event: dict[str, Any]) -> Invocation:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        pairs.wait()
        with lock:
            active -= 1
        return Invocation(Outcome.OK, None)

    function = Function(respond)
    pump = pump_for(sqs, queue, function, batch_size=1, concurrency=2)
    pump.start()
    try:
        eventually(lambda: len(function.events) == 8 and queue.counts() == (0, 0))
    finally:
        pump.stop()

    assert len(function.events) == 8
    assert peak == 2
    assert queue.counts() == (0, 0)


def test_running_pump_gathers_a_batch_larger_than_one_receive_within_its_window(
    sqs: Any,
) -> None:
    queue = Queue(sqs)
    queue.send(*({"n": n} for n in range(15)))
    function = Function()
    pump = pump_for(sqs, queue, function, batch_size=15, window=5)
    pump.start()
    try:
        eventually(lambda: queue.counts() == (0, 0))
    finally:
        pump.stop()

    assert [len(event["Records"]) for event in function.events] == [15]
