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

import devstack
from devstack.stack import RunningStack
from sekisho.kintone import KintoneClient, TokenSource
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
    value = aws("secretsmanager").get_secret_value(SecretId="sekisho/webhook/demo-stripe")
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


def add_application(url: str, receipt: str) -> None:
    client = KintoneClient(url, TokenSource.fixed("seminar-add-token"))
    client.add_record(SEMINAR, {"受付ID": receipt, "氏名": "受講 希望", "メール": "a@example.com"})


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
    assert curl, "curl is part of the README's walkthrough and of this test"
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
