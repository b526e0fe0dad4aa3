"""A form's confirmation mail end to end: IntakeFunction and DeliverFunction over moto (SES
v2, DynamoDB, SQS) and the emulator — one mail per accepted entry, sent only once its
record exists, never a second one, and never a second record when SES fails."""

from __future__ import annotations

import copy
import json
import uuid

import pytest

from devstack.mailbox import Message, sent_messages
from sekisho.kintone import client as kintone_client
from tests.integration.test_intake_function import (
    MAIL_FROM_ADDRESS,
    MAIL_IDENTITY,
    Stack,
    clear_container_caches,
    event_body,
    load,
)

pytestmark = pytest.mark.emulator


@pytest.fixture
def stack(kintone, moto_url, monkeypatch):
    """Fresh IntakeFunction and DeliverFunction containers over fresh AWS resources."""
    built = Stack(moto_url, kintone)
    for name, value in built.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(kintone_client, "_breakers", {})
    clear_container_caches()
    built.intake_handler = load("intake")
    built.deliver_handler = load("deliver")
    yield built
    clear_container_caches()


@pytest.fixture
def visitor() -> str:
    """An address no other test mailed: moto keeps every message it took."""
    return f"visitor-{uuid.uuid4().hex[:12]}@example.com"


def submission(visitor: str, event_file: str = "intake_valid.json") -> dict:
    body = copy.deepcopy(event_body(event_file))
    body["fields"]["email"] = visitor
    return body


def mails(stack: Stack, visitor: str, moto_url: str) -> list[Message]:
    return [m for m in sent_messages(moto_url) if m.is_to(visitor)]


def drain(stack: Stack) -> None:
    """Every visible message delivered, failures left for the backoff."""
    while batch := stack.receive():
        stack.deliver(batch)


def test_a_recorded_submission_gets_one_mail_through_its_reply_job(stack, visitor, moto_url):
    status, _, body = stack.intake("intake_valid.json", body=submission(visitor))
    assert status == 201
    # Nothing is mailed from the browser's request: the reply job waits for the deliverer.
    assert mails(stack, visitor, moto_url) == []
    drain(stack)
    [mail] = mails(stack, visitor, moto_url)
    assert mail.sender == MAIL_FROM_ADDRESS
    assert mail.subject == "セミナーのお申し込みを受け付けました"
    assert body["receipt"] in mail.body
    assert "山田 花子" in mail.body
    assert len(stack.records()) == 1


def test_a_reply_job_delivered_twice_sends_one_mail(stack, visitor, moto_url):
    stack.intake("intake_valid.json", body=submission(visitor))
    [job] = stack.receive()
    stack.sqs.send_message(
        QueueUrl=stack.queue_url,
        MessageBody=job["body"],
        MessageAttributes={
            "receipt": {
                "DataType": "String",
                "StringValue": job["messageAttributes"]["receipt"]["stringValue"],
            }
        },
    )
    stack.deliver([job])
    drain(stack)
    assert len(mails(stack, visitor, moto_url)) == 1


def test_a_queued_submission_delivered_twice_is_one_record_and_one_mail(stack, visitor, moto_url):
    stack.kintone.emulator.controls.maintenance = True
    status, _, body = stack.intake("intake_valid.json", body=submission(visitor))
    stack.kintone.emulator.controls.maintenance = False
    assert status == 202
    [message] = stack.receive()
    # SQS delivers at least once: the same message comes twice.
    stack.deliver([message])
    stack.deliver([dict(message, messageId=str(uuid.uuid4()))])
    assert [r["受付ID"]["value"] for r in stack.records()] == [body["receipt"]]
    [mail] = mails(stack, visitor, moto_url)
    assert body["receipt"] in mail.body


def test_a_replayed_submission_sends_no_second_mail(stack, visitor, moto_url):
    body = submission(visitor, "intake_attachment.json")
    first = stack.intake("intake_attachment.json", body=body)
    again = stack.intake("intake_attachment.json", body=body)
    assert again == first
    drain(stack)
    assert len(mails(stack, visitor, moto_url)) == 1
    assert len(stack.records()) == 1


def test_english_is_chosen_by_the_browsers_accept_language(stack, visitor, moto_url):
    stack.intake(
        "intake_valid.json",
        body=submission(visitor),
        headers={"Accept-Language": "en-GB,en;q=0.9,ja;q=0.5"},
    )
    drain(stack)
    [mail] = mails(stack, visitor, moto_url)
    assert mail.subject == "We have received your seminar application"
    assert mail.body.startswith("We have received your application.")


def test_when_ses_fails_the_message_is_retried_without_a_second_record(stack, visitor, moto_url):
    stack.kintone.emulator.controls.maintenance = True
    status, _, body = stack.intake("intake_valid.json", body=submission(visitor))
    stack.kintone.emulator.controls.maintenance = False
    assert status == 202
    # Without its identity SES refuses every mail from the address (MessageRejected).
    stack.sesv2.delete_email_identity(EmailIdentity=MAIL_IDENTITY)
    try:
        response = stack.deliver(stack.receive())
        assert len(response["batchItemFailures"]) == 1
        assert len(stack.records()) == 1  # the record exists; only the mail failed
        assert mails(stack, visitor, moto_url) == []
    finally:
        stack.sesv2.create_email_identity(EmailIdentity=MAIL_IDENTITY)
    stack.time_passes()
    assert stack.deliver(stack.receive()) == {"batchItemFailures": []}
    assert [r["受付ID"]["value"] for r in stack.records()] == [body["receipt"]]
    assert len(mails(stack, visitor, moto_url)) == 1


def test_a_reply_job_for_a_form_without_reply_is_never_sent(stack, visitor, moto_url):
    job = {
        "kind": "reply",
        "v": 1,
        "receipt": str(uuid.uuid4()),
        "form": "no-such-form",
        "to": visitor,
        "language": "ja",
        "values": {},
        "accepted_at": "2026-01-01T00:00:00Z",
    }
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=json.dumps(job))
    response = stack.deliver(stack.receive())
    assert len(response["batchItemFailures"]) == 1
    assert mails(stack, visitor, moto_url) == []
