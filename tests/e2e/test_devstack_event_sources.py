"""How the local stack reads a template's queues, buckets and SQS events, without starting
anything: the settings each becomes, and what it refuses to guess."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack import buckets, cfn, provision, queues
from devstack.errors import TemplateError
from devstack.routing import RouteTable
from devstack.sam import ApiSpec, FunctionSpec, Route, SqsSource, sqs_sources
from devstack.stack import pool_sizes

QUEUE_ARN = "arn:aws:sqs:ap-northeast-1:123456789012:Work"


def template_with(function: dict[str, Any], *, globals_: dict[str, Any] | None = None) -> Any:
    text = yaml.safe_dump(
        {
            "Globals": {"Function": globals_ or {}},
            "Resources": {
                "Work": {"Type": "AWS::SQS::Queue"},
                "Consumer": {"Type": "AWS::Serverless::Function", "Properties": function},
            },
        }
    )
    return yaml.load(text, Loader=cfn._TemplateLoader)  # noqa: S506 - a SafeLoader


def sources_of(function: dict[str, Any], **kwargs: Any) -> list[SqsSource]:
    template = template_with(function, **kwargs)
    resolver = cfn.Resolver(template, {})
    provision.register_resources(template, resolver, "http://127.0.0.1:5000")
    return sqs_sources(template, resolver)


def sqs_event(**properties: Any) -> dict[str, Any]:
    return {"Events": {"Work": {"Type": "SQS", "Properties": {"Queue": QUEUE_ARN, **properties}}}}


# -- SQS events --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        # Lambda's defaults: ten a batch, no window, the whole batch fails together.
        (sqs_event(), (10, 0.0, False, 1)),
        (sqs_event(BatchSize=1), (1, 0.0, False, 1)),
        (sqs_event(BatchSize=500, MaximumBatchingWindowInSeconds=5), (500, 5.0, False, 1)),
        (sqs_event(FunctionResponseTypes=["ReportBatchItemFailures"]), (10, 0.0, True, 1)),
        (sqs_event(ScalingConfig={"MaximumConcurrency": 5}), (10, 0.0, False, 5)),
        # Reserved concurrency caps the poller too, whichever is tighter.
        (
            {
                **sqs_event(ScalingConfig={"MaximumConcurrency": 5}),
                "ReservedConcurrentExecutions": 3,
            },
            (10, 0.0, False, 3),
        ),
        ({**sqs_event(), "ReservedConcurrentExecutions": 4}, (10, 0.0, False, 4)),
    ],
)
def test_sqs_event_becomes_a_pump_with_lambdas_batching_and_concurrency(
    function: dict[str, Any], expected: tuple[int, float, bool, int]
) -> None:
    (source,) = sources_of(function)

    assert (source.batch_size, source.window, source.report_failures, source.concurrency) == (
        expected
    )
    assert (source.function, source.event, source.queue_name) == ("Consumer", "Work", "Work")


def test_reserved_concurrency_from_globals_applies() -> None:
    (source,) = sources_of(sqs_event(), globals_={"ReservedConcurrentExecutions": 2})

    assert source.concurrency == 2


def test_queue_given_as_get_att_resolves_to_its_arn() -> None:
    (source,) = sources_of({"Events": {"Work": {"Type": "SQS", "Properties": {
        "Queue": {"Fn::GetAtt": ["Work", "Arn"]}}}}})  # fmt: skip

    assert source.queue_arn == QUEUE_ARN


@pytest.mark.parametrize("enabled", [False, "false"])
def test_disabled_sqs_event_is_not_pumped(enabled: Any) -> None:
    assert sources_of(sqs_event(Enabled=enabled)) == []


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (sqs_event(BatchSize=11), "out of Lambda's range"),
        (sqs_event(BatchSize=0), "out of Lambda's range"),
        (sqs_event(BatchSize=10001, MaximumBatchingWindowInSeconds=1), "out of Lambda's range"),
        (sqs_event(MaximumBatchingWindowInSeconds=301), "out of Lambda's range"),
        (sqs_event(ScalingConfig={"MaximumConcurrency": 0}), "never deliver"),
        ({**sqs_event(), "ReservedConcurrentExecutions": 0}, "never deliver"),
        # Lambda deletes what a filter drops: a wrong guess would lose messages.
        (sqs_event(FilterCriteria={"Filters": [{"Pattern": "{}"}]}), "FilterCriteria"),
        ({"Events": {"Work": {"Type": "SQS", "Properties": {"Queue": "Work"}}}}, "queue ARN"),
    ],
)
def test_sqs_event_the_stack_cannot_reproduce_is_refused_by_name(
    function: dict[str, Any], message: str
) -> None:
    with pytest.raises(TemplateError, match=f"Consumer.Work: .*{message}"):
        sources_of(function)


def spec(name: str, reserved: int | None = None) -> FunctionSpec:
    return FunctionSpec(
        logical_id=name,
        name=name,
        code_dir=Path(),
        handler="app.handler",
        runtime="",
        timeout=3,
        memory_mb=128,
        layer_dirs=(),
        environment={},
        reserved_concurrency=reserved,
    )


def source_for(function: str, concurrency: int) -> SqsSource:
    return SqsSource(function, "Work", QUEUE_ARN, 10, 0, True, concurrency)


API = ApiSpec("Api", "v1", (), {})


@pytest.mark.parametrize(
    ("routed", "sources", "reserved", "expected"),
    [
        # A routed function: --workers.
        (["Api"], [], {}, {"Api": 2}),
        # A consumer: one worker per batch in flight.
        ([], [("Deliver", 5)], {}, {"Deliver": 5}),
        ([], [("Deliver", 2), ("Deliver", 3)], {}, {"Deliver": 5}),
        # Reserved concurrency is the ceiling of the function, whatever reaches it.
        ([], [("Deliver", 2), ("Deliver", 3)], {"Deliver": 4}, {"Deliver": 4}),
        (["Both"], [("Both", 1)], {}, {"Both": 2}),
        (["Both"], [("Both", 5)], {"Both": 3}, {"Both": 3}),
    ],
)
def test_pool_size_follows_workers_concurrency_and_reserved_concurrency(
    routed: list[str],
    sources: list[tuple[str, int]],
    reserved: dict[str, int],
    expected: dict[str, int],
) -> None:
    table = RouteTable([Route(API, f"/{name}", "POST", name) for name in routed])
    specs = [spec(name, reserved.get(name)) for name in {*routed, *(s for s, _ in sources)}]

    sizes = pool_sizes(table, [source_for(name, n) for name, n in sources], specs, workers=2)

    assert sizes == expected


# -- queues ------------------------------------------------------------------------------


def test_queue_properties_become_sqs_attributes_with_the_redrive_set_afterwards() -> None:
    create, redrive = queues.queue_attributes(
        "Work",
        {
            "VisibilityTimeout": 185,
            "SqsManagedSseEnabled": True,
            "MessageRetentionPeriod": "345600",
            "RedrivePolicy": {"deadLetterTargetArn": QUEUE_ARN + "-dlq", "maxReceiveCount": 8},
            "Tags": [{"Key": "app", "Value": "sekisho"}],
        },
    )

    assert create == {
        "MessageRetentionPeriod": "345600",
        "SqsManagedSseEnabled": "true",
        "VisibilityTimeout": "185",
    }
    assert redrive == {
        "RedrivePolicy": (
            '{"deadLetterTargetArn": "arn:aws:sqs:ap-northeast-1:123456789012:Work-dlq", '
            '"maxReceiveCount": 8}'
        )
    }


def test_queue_property_the_stack_does_not_know_is_refused_by_name() -> None:
    with pytest.raises(TemplateError, match="Work: ReceiveMessageWaitSeconds not emulated"):
        queues.queue_attributes("Work", {"ReceiveMessageWaitSeconds": 20})


# -- buckets -----------------------------------------------------------------------------


def test_bucket_without_a_name_is_its_logical_id_in_lower_case() -> None:
    template = {"Resources": {"AttachmentBucket": {"Type": "AWS::S3::Bucket"}}}
    resolver = cfn.Resolver(template, {})

    provision.register_resources(template, resolver, "http://127.0.0.1:5000")

    assert resolver.ref("AttachmentBucket") == "attachmentbucket"
    assert resolver.get_att("AttachmentBucket", "Arn") == "arn:aws:s3:::attachmentbucket"


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            {"Id": "Expire", "Status": "Enabled", "Prefix": "attachments/", "ExpirationInDays": 14},
            {"ID": "Expire", "Status": "Enabled", "Filter": {"Prefix": "attachments/"},
             "Expiration": {"Days": 14}},
        ),
        (
            {"Status": "Enabled", "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
            {"Status": "Enabled", "Filter": {"Prefix": ""},
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
        ),
        (
            {"Status": "Enabled", "TagFilters": [{"Key": "k", "Value": "v"}],
             "NoncurrentVersionExpirationInDays": 3},
            {"Status": "Enabled", "Filter": {"Tag": {"Key": "k", "Value": "v"}},
             "NoncurrentVersionExpiration": {"NoncurrentDays": 3}},
        ),
        (
            {"Status": "Disabled", "Prefix": "p/", "ObjectSizeGreaterThan": "10",
             "Transitions": [{"StorageClass": "GLACIER", "TransitionInDays": 30}]},
            {"Status": "Disabled", "Filter": {"And": {"Prefix": "p/", "ObjectSizeGreaterThan": 10}},
             "Transitions": [{"StorageClass": "GLACIER", "Days": 30}]},
        ),
    ],
)  # fmt: skip
def test_lifecycle_rule_is_translated_to_the_s3_apis_shape(
    rule: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert buckets.lifecycle_rule(rule, "Bucket") == expected


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"LifecycleConfiguration": {"Rules": [{"Status": "Enabled", "Expire": 1}]}}, "Expire"),
        # A function that never hears of an upload: a bug the stack would hide.
        ({"NotificationConfiguration": {"QueueConfigurations": []}}, "NotificationConfiguration"),
        ({"BucketEncryption": {}}, "BucketEncryption is malformed"),
    ],
)
def test_bucket_setting_the_stack_cannot_reproduce_is_refused_by_name(
    properties: dict[str, Any], message: str
) -> None:
    with pytest.raises(TemplateError, match=f"Bucket: .*{message}"):
        buckets.configure_bucket(S3Calls(), "bucket", properties, "Bucket")


class S3Calls:
    """Stands in for an S3 client: remembers each call instead of making it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, operation: str) -> Any:
        return lambda **arguments: self.calls.append((operation, arguments))


def test_bucket_settings_become_the_s3_calls_that_apply_them() -> None:
    s3 = S3Calls()

    buckets.configure_bucket(
        s3,
        "attachmentbucket",
        {
            "BucketName": "ignored-here",
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {
                        "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"},
                        "BucketKeyEnabled": True,
                    }
                ]
            },
            "VersioningConfiguration": {"Status": "Suspended"},
            "CorsConfiguration": {
                "CorsRules": [
                    {
                        "AllowedMethods": ["GET"],
                        "AllowedOrigins": ["https://a.example"],
                        "MaxAge": 60,
                    }
                ]
            },
            "Tags": [{"Key": "n", "Value": 1}],
            "LoggingConfiguration": {"DestinationBucketName": "logs"},
        },
        "AttachmentBucket",
    )

    assert s3.calls == [
        ("put_bucket_encryption", {"Bucket": "attachmentbucket",
         "ServerSideEncryptionConfiguration": {"Rules": [
             {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"},
              "BucketKeyEnabled": True}]}}),
        ("put_bucket_versioning", {"Bucket": "attachmentbucket",
         "VersioningConfiguration": {"Status": "Suspended"}}),
        ("put_bucket_cors", {"Bucket": "attachmentbucket", "CORSConfiguration": {"CORSRules": [
            {"AllowedMethods": ["GET"], "AllowedOrigins": ["https://a.example"],
             "MaxAgeSeconds": 60}]}}),
        ("put_bucket_tagging", {"Bucket": "attachmentbucket",
         "Tagging": {"TagSet": [{"Key": "n", "Value": "1"}]}}),
    ]  # fmt: skip
