"""The local stack's queues, bucket and pump from a template: what moto holds, what a
consumer function's worker is handed, and how `python -m devstack queues` reports it."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from devstack import commands
from devstack import stack as devstack
from devstack.__main__ import main
from devstack.cli import banner
from devstack.pool import Outcome
from devstack.queue_report import queue_report
from devstack.stack import RunningStack

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]
TEMPLATE = FIXTURES / "queues_template.yaml"
ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    with devstack.start(repo_root=REPO, template=TEMPLATE, pump=False) as running:
        yield running


@pytest.fixture(scope="module")
def aws(stack: RunningStack) -> Callable[[str], Any]:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="ap-northeast-1"
    )
    return lambda service: session.client(service, endpoint_url=stack.moto_url)


def queue_attributes(aws: Callable[[str], Any], url: str) -> dict[str, str]:
    return aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def send(stack: RunningStack, aws: Callable[[str], Any], *orders: dict[str, Any]) -> list[str]:
    url = stack.queue("WorkQueue").url
    return [
        aws("sqs").send_message(
            QueueUrl=url,
            MessageBody=json.dumps(order),
            MessageAttributes={"receipt": {"DataType": "String", "StringValue": f"r-{index}"}},
        )["MessageId"]
        for index, order in enumerate(orders)
    ]


def invocations(aws: Callable[[str], Any]) -> list[dict[str, Any]]:
    """What the consumer kept of each invocation: the event and its environment."""
    s3 = aws("s3")
    listed = s3.list_objects_v2(Bucket="fixturebucket", Prefix="events/").get("Contents") or []
    return [
        json.loads(s3.get_object(Bucket="fixturebucket", Key=item["Key"])["Body"].read())
        for item in listed
    ]


def invocation_with(aws: Callable[[str], Any], message_id: str) -> dict[str, Any]:
    (kept,) = [
        kept
        for kept in invocations(aws)
        if message_id in {record["messageId"] for record in kept["event"]["Records"]}
    ]
    return kept


def drain(stack: RunningStack, aws: Callable[[str], Any]) -> None:
    """Leave the work queues empty for the next test (PurgeQueue works once a minute)."""
    sqs = aws("sqs")
    for name in ("WorkQueue", "WorkDeadLetterQueue"):
        url = stack.queue(name).url
        while messages := sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30
        ).get("Messages"):
            for message in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


# -- what moto holds ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("queue", "attribute", "expected"),
    [
        ("WorkQueue", "VisibilityTimeout", "0"),
        ("WorkQueue", "MessageRetentionPeriod", "345600"),
        ("WorkQueue", "SqsManagedSseEnabled", "true"),
        # The dead-letter queue is declared after its source: its ARN is resolved anyway.
        (
            "WorkQueue",
            "RedrivePolicy",
            {
                "deadLetterTargetArn": f"arn:aws:sqs:ap-northeast-1:{ACCOUNT}:WorkDeadLetterQueue",
                "maxReceiveCount": 2,
            },
        ),
        ("WorkDeadLetterQueue", "MessageRetentionPeriod", "1209600"),
        ("WorkDeadLetterQueue", "SqsManagedSseEnabled", "true"),
        ("PausedQueue", "QueueArn", f"arn:aws:sqs:ap-northeast-1:{ACCOUNT}:paused-queue"),
    ],
)
def test_template_queue_is_created_with_its_attributes(
    stack: RunningStack, aws: Callable[[str], Any], queue: str, attribute: str, expected: Any
) -> None:
    value = queue_attributes(aws, stack.queue(queue).url)[attribute]

    assert (json.loads(value) if isinstance(expected, dict) else value) == expected


def test_every_template_queue_exists_under_its_local_name(
    stack: RunningStack, aws: Callable[[str], Any]
) -> None:
    assert [(queue.logical_id, queue.name) for queue in stack.queues] == [
        ("WorkQueue", "WorkQueue"),
        ("WorkDeadLetterQueue", "WorkDeadLetterQueue"),
        ("PausedQueue", "paused-queue"),
    ]
    assert sorted(aws("sqs").list_queues()["QueueUrls"]) == sorted(q.url for q in stack.queues)


def test_queue_and_bucket_refs_reach_the_function_resolved(
    stack: RunningStack, aws: Callable[[str], Any]
) -> None:
    (sent,) = send(stack, aws, {"n": 1})
    stack.pump_once("ConsumerFunction")

    assert invocation_with(aws, sent)["environment"] == {
        "EVENT_BUCKET": "fixturebucket",
        "BUCKET_ARN": "arn:aws:s3:::fixturebucket",
        "QUEUE_URL": f"{stack.moto_url}/{ACCOUNT}/WorkQueue",
        "QUEUE_ARN": f"arn:aws:sqs:ap-northeast-1:{ACCOUNT}:WorkQueue",
        "QUEUE_NAME": "WorkQueue",
    }


def test_bucket_is_named_for_its_logical_id_in_lower_case_with_its_settings(
    stack: RunningStack, aws: Callable[[str], Any]
) -> None:
    s3 = aws("s3")

    assert stack.buckets == ("fixturebucket",)
    encryption = s3.get_bucket_encryption(Bucket="fixturebucket")
    assert encryption["ServerSideEncryptionConfiguration"]["Rules"][0][
        "ApplyServerSideEncryptionByDefault"
    ] == {"SSEAlgorithm": "AES256"}
    assert s3.get_public_access_block(Bucket="fixturebucket")["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    assert s3.get_bucket_ownership_controls(Bucket="fixturebucket")["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]
    }
    rules = s3.get_bucket_lifecycle_configuration(Bucket="fixturebucket")["Rules"]
    assert {rule["ID"]: rule for rule in rules} == {
        "ExpireAttachments": {
            "ID": "ExpireAttachments",
            "Status": "Enabled",
            "Filter": {"Prefix": "attachments/"},
            "Expiration": {"Days": 14},
        },
        "AbortIncompleteUploads": {
            "ID": "AbortIncompleteUploads",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        },
    }


def test_idempotency_table_has_powertools_key_and_ttl_attribute(
    stack: RunningStack, aws: Callable[[str], Any]
) -> None:
    dynamodb = aws("dynamodb")
    table = dynamodb.describe_table(TableName="IdempotencyTable")["Table"]
    ttl = dynamodb.describe_time_to_live(TableName="IdempotencyTable")["TimeToLiveDescription"]

    assert stack.tables == ("IdempotencyTable",)
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiration"}


# -- the event source mapping ------------------------------------------------------------


def test_only_enabled_sqs_events_are_pumped_at_the_tighter_concurrency_limit(
    stack: RunningStack,
) -> None:
    (source,) = stack.sqs_sources

    assert source.function == "ConsumerFunction"
    assert source.queue_name == "WorkQueue"
    assert source.batch_size == 4
    assert source.report_failures is True
    # ScalingConfig says 3, ReservedConcurrentExecutions 2.
    assert source.concurrency == 2


def test_consumer_worker_gets_lambdas_sqs_event_and_its_successes_are_deleted(
    stack: RunningStack, aws: Callable[[str], Any]
) -> None:
    sent = send(stack, aws, {"n": 1}, {"n": 2})

    outcome = stack.pump_once("ConsumerFunction")

    assert outcome.invocation is Outcome.OK
    assert outcome.deleted == tuple(sent)
    event = invocation_with(aws, sent[0])["event"]
    assert [record["messageId"] for record in event["Records"]] == sent
    record = event["Records"][0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == stack.queue("WorkQueue").arn
    assert record["awsRegion"] == "ap-northeast-1"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["receipt"] == {
        "stringValue": "r-0",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert queue_attributes(aws, stack.queue("WorkQueue").url)["ApproximateNumberOfMessages"] == "0"


def test_consumer_partial_failure_is_redelivered_then_dead_lettered(
    stack: RunningStack, aws: Callable[[str], Any]
) -> None:
    ok, failing = send(stack, aws, {"n": 1}, {"fail": True})

    first = stack.pump_once("ConsumerFunction")
    second = stack.pump_once("ConsumerFunction")
    third = stack.pump_once("ConsumerFunction")

    assert (first.deleted, first.failed) == ((ok,), (failing,))
    assert (second.received, second.failed) == ((failing,), (failing,))
    # maxReceiveCount 2: the third receive moves it to the dead-letter queue instead.
    assert third.received == ()
    dead = queue_attributes(aws, stack.queue("WorkDeadLetterQueue").url)
    assert dead["ApproximateNumberOfMessages"] == "1"
    drain(stack, aws)


@pytest.mark.parametrize(
    ("order", "outcome"),
    [({"raise": True}, Outcome.FAILED), ({"sleep": 5}, Outcome.TIMED_OUT)],
)
def test_consumer_error_or_timeout_deletes_nothing_of_the_batch(
    stack: RunningStack, aws: Callable[[str], Any], order: dict[str, Any], outcome: Outcome
) -> None:
    sent = send(stack, aws, {"n": 1}, order)

    result = stack.pump_once("ConsumerFunction")

    assert result.invocation is outcome
    assert result.deleted == ()
    assert result.failed == tuple(sent)
    drain(stack, aws)


def test_pump_once_names_a_function_that_consumes_a_queue(stack: RunningStack) -> None:
    with pytest.raises(KeyError, match="FormFunction has 0 SQS events"):
        stack.pump_once("FormFunction")


# -- the terminal ------------------------------------------------------------------------


def test_banner_shows_the_pumped_queue_the_bucket_and_how_to_look_at_the_queues(
    stack: RunningStack,
) -> None:
    text = banner(stack)
    port = stack.moto_url.rsplit(":", 1)[1]

    assert "    WorkQueue -> ConsumerFunction (batches of up to 4, 2 at a time)" in text
    assert "    WorkDeadLetterQueue\n" in text
    assert "  buckets: fixturebucket" in text
    assert f"    {commands.devstack()} queues --moto-port {port}" in text
    assert (
        f"curl -s -X POST {stack.router_url}/forms/seminar-apply "
        '-H \'content-type: application/json\' -d \'{"fields": {"name": "山田 花子", '
        '"email": "hanako@example.com", "seats": 2}}\'' in text
    )


def test_queue_report_counts_messages_and_lists_dead_letters_by_receipt_not_body(
    stack: RunningStack, aws: Callable[[str], Any]
) -> None:
    sqs = aws("sqs")
    dead = stack.queue("WorkDeadLetterQueue").url
    secret_body = json.dumps({"name": "山田 花子", "email": "hanako@example.com"})
    sqs.send_message(
        QueueUrl=dead,
        MessageBody=secret_body,
        MessageAttributes={"receipt": {"DataType": "String", "StringValue": "receipt-dead-1"}},
    )
    sqs.send_message(QueueUrl=dead, MessageBody=secret_body)
    send(stack, aws, {"n": 1})

    report = queue_report(sqs)
    again = queue_report(sqs)

    lines = report.splitlines()
    assert any(line.startswith("WorkQueue ") and "visible     1" in line for line in lines)
    assert any(
        line.startswith("WorkDeadLetterQueue ")
        and "visible     2" in line
        and line.endswith("dead-letter queue of WorkQueue")
        for line in lines
    )
    assert sum("receipt receipt-dead-1" in line for line in lines) == 1
    assert sum("(no receipt)" in line for line in lines) == 1
    assert "山田" not in report
    assert "hanako" not in report
    # Peeking leaves every dead letter where it was.
    assert again == report
    drain(stack, aws)


def test_queues_command_prints_the_report_of_a_running_stack(
    stack: RunningStack, capsys: pytest.CaptureFixture[str]
) -> None:
    port = stack.moto_url.rsplit(":", 1)[1]

    assert main(["queues", "--moto-port", port]) == 0

    output = capsys.readouterr().out
    assert "WorkQueue" in output
    assert "paused-queue" in output


def test_queues_command_without_a_stack_says_so() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    assert main(["queues", "--moto-port", str(port)]) == 1


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10"])  # noqa: S104
def test_queues_command_refuses_a_non_loopback_host(host: str) -> None:
    assert main(["queues", "--host", host]) == 2
