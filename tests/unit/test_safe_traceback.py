"""A bug is logged with its type and frames, never with what its exception says: the
message of requests' InvalidHeader, for one, is the header value, a kintone token."""

from __future__ import annotations

import itertools
import json
import uuid
from pathlib import Path

import pytest
import requests
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)

from sekisho.http import create_resolver
from sekisho.http.resolver import HttpSettings
from sekisho.intake.attachments import InMemoryAttachmentStore
from sekisho.intake.delivery import DeliverService
from sekisho.intake.message import QueuedSubmission
from sekisho.intake.queue import InMemoryQueue
from sekisho.kintone.breaker import CircuitBreaker
from sekisho.kintone.client import TokenSource
from sekisho.policy.validation import load_policy
from sekisho.redelivery import InMemoryVisibility
from sekisho.safe_traceback import MAX_CHAIN, MAX_FRAMES, traceback_fields
from tests.function_log import function_log

ROOT = Path(__file__).resolve().parents[2]
SECRET = "Zq7SecretLookingValueXk42"
# What requests raises for a token with a trailing line break, message and all.
HEADER_ERROR = (
    "Invalid leading whitespace, reserved character(s), or return character(s) "
    f"in header value: {SECRET + chr(10)!r}"
)
LEAKS = ("exception", "exception_name", "stack_trace")


def add_record_with_the_token_in_its_header(*_args, **_kwargs):
    raise requests.exceptions.InvalidHeader(HEADER_ERROR)


def assert_no_secret(text: str) -> None:
    assert SECRET not in text
    assert SECRET[:8] not in text


def route_event(path: str) -> dict:
    return {
        "httpMethod": "POST",
        "path": path,
        "resource": path,
        "headers": {"Content-Type": "application/json"},
        "body": "{}",
        "requestContext": {"identity": {"sourceIp": "198.51.100.7"}},
    }


def test_an_unhandled_error_of_a_route_is_logged_with_its_type_and_frames_not_its_message():
    app = create_resolver(HttpSettings())

    @app.post("/broken")
    def broken() -> dict:
        try:
            {}[SECRET]
        except KeyError as exc:
            raise requests.exceptions.InvalidHeader(HEADER_ERROR) from exc

    with function_log() as log:
        response = app.resolve(route_event("/broken"), None)

    assert response["statusCode"] == 500
    assert json.loads(response["body"])["code"] == "internal_error"
    assert_no_secret(log.text)
    [line] = log.named("unhandled error")
    assert line["level"] == "ERROR"
    assert line["location"].startswith("_unexpected:")  # the handler's line, not the helper's
    assert (line["error"], line["error_type"]) == (
        "InvalidHeader",
        "requests.exceptions.InvalidHeader",
    )
    assert {"file": __file__, "function": "broken"} in [
        {"file": f["file"], "function": f["function"]} for f in line["frames"]
    ]
    assert all(isinstance(f["line"], int) for f in line["frames"])
    [cause] = line["chain"]
    assert (cause["link"], cause["error_type"]) == ("cause", "builtins.KeyError")
    assert cause["frames"][-1]["function"] == "broken"
    assert not set(LEAKS) & set(line)


def test_a_crash_of_a_queued_delivery_is_logged_with_its_type_and_frames_not_its_message():
    policy = load_policy(ROOT / "policy.yaml")
    visibility = InMemoryVisibility()

    class Kintone:
        upload_file = add_record = staticmethod(add_record_with_the_token_in_its_header)

    service = DeliverService(
        policy,
        lambda name: TokenSource.fixed("unused"),
        "https://example.cybozu.com",
        attachments=InMemoryAttachmentStore(),
        visibility=visibility,
        client_factory=lambda url, token, breaker: Kintone(),
        breaker=CircuitBreaker(),
    )
    queue = InMemoryQueue("arn:aws:sqs:ap-northeast-1:123456789012:IntakeQueue")
    message = QueuedSubmission(
        receipt=str(uuid.uuid4()),
        form="seminar-apply",
        record={"氏名": "鈴木 次郎", "メール": "jiro@example.com", "人数": "3", "受付経路": "web"},
        attachments=(),
        accepted_at="2025-11-21T05:00:00Z",
    )
    queue.send(message.to_json(), message.receipt)
    event = queue.sqs_event()

    with function_log() as log:
        response = process_partial_response(
            event=event,
            record_handler=service.deliver_record,
            processor=BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False),
        )

    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [
        event["Records"][0]["messageId"]
    ]
    assert len(visibility.delays) == 1  # backed off like any failure, never dropped
    assert_no_secret(log.text)
    [line] = log.named("delivery crashed")
    assert line["error_type"] == "requests.exceptions.InvalidHeader"
    assert line["message_id"] == event["Records"][0]["messageId"]
    assert line["frames"][-1]["function"] == "add_record_with_the_token_in_its_header"
    assert "deliver_record" in [f["function"] for f in line["frames"]]
    assert not set(LEAKS) & set(line)


def raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


def test_an_exception_raised_from_none_carries_no_chain():
    try:
        try:
            {}[SECRET]
        except KeyError:
            raise ValueError(SECRET) from None
    except ValueError as exc:
        fields = traceback_fields(exc)
    assert "chain" not in fields
    assert_no_secret(json.dumps(fields))


def test_an_exception_raised_while_handling_another_names_it_as_context():
    try:
        try:
            raise OSError(SECRET)
        except OSError:
            raise RuntimeError(SECRET)  # noqa: B904 - the implicit context is the point
    except RuntimeError as exc:
        fields = traceback_fields(exc)
    assert [(c["link"], c["error_type"]) for c in fields["chain"]] == [
        ("context", "builtins.OSError")
    ]
    assert_no_secret(json.dumps(fields))


def test_a_deep_recursion_keeps_its_innermost_frames_only():
    def down(n: int) -> None:
        if n == 0:
            raise RecursionError(SECRET)
        down(n - 1)

    with pytest.raises(RecursionError) as caught:
        down(MAX_FRAMES * 2)
    frames = traceback_fields(caught.value)["frames"]
    assert len(frames) == MAX_FRAMES
    assert frames[-1]["function"] == "down"


def test_a_chain_that_loops_back_on_itself_ends():
    first, second = raised(ValueError(SECRET)), raised(TypeError(SECRET))
    first.__cause__, second.__cause__ = second, first
    fields = traceback_fields(first)
    assert [c["error_type"] for c in fields["chain"]] == ["builtins.TypeError"]

    links = [raised(KeyError(n)) for n in range(MAX_CHAIN * 2)]
    for exc, earlier in itertools.pairwise(links):
        exc.__cause__ = earlier
    assert len(traceback_fields(links[0])["chain"]) == MAX_CHAIN
