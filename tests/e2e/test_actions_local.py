"""Webhook actions on the local stack (`make dev`): a signed delivery changes exactly the
record it names, once, however often it arrives; kintone's own events add audit lines;
refusals end in the dead-letter queue with their reason."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from devstack import stack as devstack
from devstack.provision import local_secret_name
from devstack.send import send
from devstack.stack import RunningStack
from sekisho.kintone.client import KintoneClient, TokenSource
from sekisho.policy.validation import read_policy
from sekisho.webhooks.queue import attributes, encode_event
from tests.action_support import checkout_completed, stripe_message
from webhook_senders import sign

REPO = Path(__file__).resolve().parents[2]
SEMINAR, AUDIT = 2, 3


def eventually(condition: Callable[[], Any], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)
    return value


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    with devstack.start(repo_root=REPO) as running:
        yield running


@pytest.fixture(scope="module")
def aws(stack: RunningStack) -> Callable[[str], Any]:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="ap-northeast-1"
    )
    return lambda service: session.client(service, endpoint_url=stack.moto_url)


@pytest.fixture(scope="module")
def stripe_secret(aws) -> dict[str, str]:
    name = local_secret_name("sekisho/webhook/demo-stripe")
    value = aws("secretsmanager").get_secret_value(SecretId=name)
    return json.loads(value["SecretString"])


@pytest.fixture
def kintone(stack: RunningStack) -> str:
    url = stack.kintone.url
    requests.post(f"{url}/_emulator/reset", json={}, timeout=10).raise_for_status()
    token = {"token": "audit-view-token", "app": AUDIT, "permissions": ["view"], "active": True}
    requests.post(f"{url}/_emulator/tokens", json=token, timeout=10).raise_for_status()
    return url


def application(url: str, receipt: str) -> dict[str, str]:
    client = KintoneClient(url, TokenSource.fixed("seminar-view-token"))
    (record,) = client.get_records(SEMINAR, f'受付ID = "{receipt}"').records
    return {code: cell["value"] for code, cell in record.items()}


def add_application(url: str, receipt: str, payment: str | None = None) -> None:
    """A seminar application; ``payment`` its 支払状況 (a form leaves it empty)."""
    client = KintoneClient(url, TokenSource.fixed("seminar-add-token"))
    record = {"受付ID": receipt, "氏名": "受講 希望", "メール": "a@example.com"}
    if payment is not None:
        record["支払状況"] = payment
    client.add_record(SEMINAR, record)


def queue_settled(sqs: Any, url: str) -> bool:
    counts = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return all(value == "0" for value in counts.values())


def test_a_signed_stripe_delivery_posted_with_curl_pays_exactly_the_named_application(
    stack, kintone, stripe_secret, tmp_path
):
    add_application(kintone, "receipt-paid")
    add_application(kintone, "receipt-untouched")
    untouched = application(kintone, "receipt-untouched")
    before = application(kintone, "receipt-paid")
    body = json.dumps(checkout_completed("evt_curl_1", "receipt-paid")).encode()
    (tmp_path / "event.json").write_bytes(body)
    signed = sign("stripe", body, stripe_secret, now=int(time.time()))

    curl = shutil.which("curl")
    assert curl, "curl is part of docs/webhooks.md's walkthrough and of this test"
    answer = subprocess.run(
        [
            curl, "-s", "--noproxy", "*", "-X", "POST",
            f"{stack.router_url}/webhooks/demo-stripe",
            "-H", "content-type: application/json",
            "-H", f"Stripe-Signature: {signed.headers['Stripe-Signature']}",
            "--data-binary", f"@{tmp_path / 'event.json'}",
        ],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip

    assert json.loads(answer.stdout) == {"status": "queued"}
    paid = eventually(
        lambda: (a := application(kintone, "receipt-paid"))["支払状況"] == "支払済" and a
    )
    assert paid["決済額"] == "12000"
    assert int(paid["$revision"]) == int(before["$revision"]) + 1
    assert application(kintone, "receipt-untouched") == untouched


def test_fifty_concurrent_redeliveries_and_an_sqs_redelivery_advance_the_revision_once(
    stack, kintone, stripe_secret, aws
):
    add_application(kintone, "receipt-many")
    revision = int(application(kintone, "receipt-many")["$revision"])
    event = checkout_completed("evt_many_1", "receipt-many")
    body = json.dumps(event).encode()
    signed = sign("stripe", body, stripe_secret, now=int(time.time()))

    def deliver(_: int) -> int:
        with requests.Session() as http:
            http.trust_env = False
            return http.post(
                f"{stack.router_url}/webhooks/demo-stripe",
                data=body,
                headers=signed.headers,
                timeout=60,
            ).status_code

    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(deliver, range(50)))
    # A delivery that met the first one in flight is asked to retry (503); the rest are
    # 200 (queued once, duplicate otherwise).
    assert set(statuses) <= {200, 503}
    assert statuses.count(200) >= 1
    eventually(lambda: application(kintone, "receipt-many")["支払状況"] == "支払済")

    # SQS delivers at least once: the same event reaches ActionFunction again.
    sqs = aws("sqs")
    queue = stack.queue("WebhookQueue").url
    message = stripe_message(event)
    sqs.send_message(
        QueueUrl=queue,
        MessageBody=encode_event(message),
        MessageAttributes=attributes(message["dedupe_key"], message["source"]),
    )
    eventually(lambda: queue_settled(sqs, queue))
    time.sleep(1)  # the pump's last batch settles
    after = application(kintone, "receipt-many")
    assert int(after["$revision"]) == revision + 1
    assert after["決済イベントID"] == "demo-stripe#evt_many_1"


def test_a_new_deal_in_kintone_adds_one_line_to_the_audit_app(stack, kintone):
    client = KintoneClient(kintone, TokenSource.fixed("deals-add-token"))
    added = client.add_record(1, {"取引ID": "D100001", "取引名": "新規の商談", "金額": "5000"})
    audit = KintoneClient(kintone, TokenSource.fixed("audit-view-token"))

    lines = eventually(lambda: audit.get_records(AUDIT, "").records)
    assert len(lines) == 1
    line = {code: cell["value"] for code, cell in lines[0].items()}
    assert (line["取引ID"], line["取引名"], line["金額"], line["種別"]) == (
        "D100001",
        "新規の商談",
        "5000",
        "ADD_RECORD",
    )
    assert added.id


def test_an_event_whose_pointer_is_missing_is_dead_lettered_with_its_reason(
    stack, kintone, stripe_secret, aws
):
    body = json.dumps(checkout_completed("evt_missing_1", metadata={})).encode()
    signed = sign("stripe", body, stripe_secret, now=int(time.time()))
    answer = requests.post(
        f"{stack.router_url}/webhooks/demo-stripe", data=body, headers=signed.headers, timeout=30
    )
    assert answer.json() == {"status": "queued"}

    sqs = aws("sqs")
    dlq = stack.queue("WebhookDeadLetterQueue").url

    def letter() -> dict[str, str] | None:
        for message in sqs.receive_message(
            QueueUrl=dlq, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", []):
            found = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
            if found.get("dedupe_key") == "evt_missing_1":
                return found
        return None

    found = eventually(letter)
    assert (found["reason"], found["field"], found["action"]) == (
        "pointer_missing",
        "受付ID",
        "mark-seminar-paid",
    )


# -- a delayed payment (konbini, bank transfer): completed unpaid, then paid or not


def send_step(stack, stripe_secret, receipt: str, step: str, event_id: str) -> None:
    """One step of a Checkout Session for ``receipt``, sent as `python -m devstack send`
    does (devstack.send.STRIPE_DEMOS names the steps)."""
    hook = read_policy(REPO / "policy.yaml").webhooks["demo-stripe"]
    sent = send(
        stack.router_url,
        "demo-stripe",
        hook,
        stripe_secret,
        now=int(time.time()),
        event_id=event_id,
        receipt=receipt,
        stripe=step,
        session_id=f"cs_test_{receipt}",
    )
    assert (sent.status, json.loads(sent.body)) == (200, {"status": "queued"})


def settled(stack, aws) -> None:
    """Every queued event has been taken by ActionFunction (applied, skipped or dropped)."""
    sqs = aws("sqs")
    eventually(lambda: queue_settled(sqs, stack.queue("WebhookQueue").url))
    time.sleep(1)  # the pump's last batch settles


def dead_lettered(stack, aws, *event_ids: str) -> list[str]:
    sqs = aws("sqs")
    dlq = stack.queue("WebhookDeadLetterQueue").url
    found = []
    for message in sqs.receive_message(
        QueueUrl=dlq, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=0
    ).get("Messages", []):
        key = message["MessageAttributes"]["dedupe_key"]["StringValue"]
        if key in event_ids:
            found.append(key)
    return found


def test_a_signed_unpaid_checkout_completion_leaves_the_application_unpaid_until_it_is_paid(
    stack, kintone, stripe_secret, aws
):
    add_application(kintone, "receipt-konbini", "未払い")
    before = application(kintone, "receipt-konbini")

    send_step(stack, stripe_secret, "receipt-konbini", "unpaid", "evt_konbini_e2e_1")
    settled(stack, aws)

    assert application(kintone, "receipt-konbini") == before
    assert before["支払状況"] == "未払い"

    # Days later the payer pays at the konbini: Stripe sends async_payment_succeeded.
    send_step(stack, stripe_secret, "receipt-konbini", "succeeded", "evt_konbini_e2e_2")
    paid = eventually(
        lambda: (a := application(kintone, "receipt-konbini"))["支払状況"] == "支払済" and a
    )
    assert paid["決済イベントID"] == "demo-stripe#evt_konbini_e2e_2"
    assert int(paid["$revision"]) == int(before["$revision"]) + 1
    assert dead_lettered(stack, aws, "evt_konbini_e2e_1", "evt_konbini_e2e_2") == []


def test_a_signed_paid_checkout_completion_still_marks_the_application_paid_at_once(
    stack, kintone, stripe_secret
):
    add_application(kintone, "receipt-card", "未払い")
    send_step(stack, stripe_secret, "receipt-card", "paid", "evt_card_e2e_1")
    paid = eventually(
        lambda: (a := application(kintone, "receipt-card"))["支払状況"] == "支払済" and a
    )
    assert paid["決済イベントID"] == "demo-stripe#evt_card_e2e_1"


def test_a_signed_failed_delayed_payment_leaves_the_application_unpaid(
    stack, kintone, stripe_secret, aws
):
    add_application(kintone, "receipt-unpaid", "未払い")
    before = application(kintone, "receipt-unpaid")

    send_step(stack, stripe_secret, "receipt-unpaid", "unpaid", "evt_failed_e2e_1")
    send_step(stack, stripe_secret, "receipt-unpaid", "failed", "evt_failed_e2e_2")
    settled(stack, aws)

    assert application(kintone, "receipt-unpaid") == before
    assert before["支払状況"] == "未払い"
    assert dead_lettered(stack, aws, "evt_failed_e2e_1", "evt_failed_e2e_2") == []
