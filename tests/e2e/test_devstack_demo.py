"""`make dev` with the real template.yaml, policy.yaml and functions: what the banner promises
a developer works, the demo pages' origin is one the functions allow, a submission that
kintone cannot take now is queued and pumped into DeliverFunction, and `python -m devstack
send demo-stripe` pays a seminar application through ActionFunction."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from devstack import stack as devstack
from devstack.__main__ import main
from devstack.cli import DEMO_BODY, FORM_BODY, banner
from devstack.pool import Outcome
from devstack.send import DEMO_CREATED, DEMO_SEMINAR_RECEIPT
from devstack.stack import RunningStack

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    # Delivery is driven by pump_once: the queue's five-second batching window would make
    # a test wait for it.
    with devstack.start(repo_root=REPO, pump=False) as running:
        yield running


@pytest.fixture(scope="module")
def client() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


def test_banner_curl_line_finds_the_demo_deal(
    stack: RunningStack, client: requests.Session
) -> None:
    assert f"curl -s -X POST {stack.router_url}/views/deal-status" in banner(stack)

    answer = client.post(
        stack.router_url + "/views/deal-status",
        data=DEMO_BODY,
        headers={"content-type": "application/json"},
        timeout=30,
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["records"] == [
        {"取引名": "倉庫管理システム更改", "金額": "1200000", "ステータス": "商談中"}
    ]


def test_demo_page_origin_passes_the_lookup_functions_cors_check(
    stack: RunningStack, client: requests.Session
) -> None:
    preflight = client.options(
        stack.router_url + "/views/deal-status",
        headers={
            "Origin": stack.router_url,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=30,
    )
    page = client.get(stack.router_url + "/", timeout=30)

    assert preflight.headers["Access-Control-Allow-Origin"] == stack.router_url
    assert page.status_code == 200
    assert 'action="/views/deal-status"' in page.text


def test_unknown_route_answers_with_the_templates_gateway_response(
    stack: RunningStack, client: requests.Session
) -> None:
    answer = client.get(stack.router_url + "/no-such-route", timeout=30)

    # The template turns API Gateway's 403 "Missing Authentication Token" into a problem.
    assert answer.status_code == 404
    assert json.loads(answer.text)["code"] == "not_found"
    assert answer.headers["Access-Control-Allow-Origin"] == stack.router_url


def test_a_get_on_a_post_route_answers_405_with_allow(
    stack: RunningStack, client: requests.Session
) -> None:
    answer = client.get(stack.router_url + "/views/deal-status", timeout=30)

    assert answer.status_code == 405
    assert "POST" in answer.headers["Allow"]
    problem = json.loads(answer.text)
    assert (problem["code"], problem["status"]) == ("method_not_allowed", 405)
    assert answer.headers["Access-Control-Allow-Origin"] == stack.router_url


def seminar_records(stack: RunningStack, receipt: str) -> list[dict[str, Any]]:
    return [
        {code: field["value"] for code, field in record.items() if not code.startswith("$")}
        for record in stack.kintone.emulator.store.records(2)
        if record["受付ID"]["value"] == receipt
    ]


def apply(stack: RunningStack, client: requests.Session) -> requests.Response:
    return client.post(
        stack.router_url + "/forms/seminar-apply",
        data=FORM_BODY.encode(),
        headers={"content-type": "application/json"},
        timeout=30,
    )


def test_banner_form_curl_line_records_the_application(
    stack: RunningStack, client: requests.Session
) -> None:
    assert f"curl -s -X POST {stack.router_url}/forms/seminar-apply" in banner(stack)

    answer = apply(stack, client)

    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "recorded"
    (record,) = seminar_records(stack, answer.json()["receipt"])
    assert {code: record[code] for code in ("氏名", "メール", "人数", "受付経路")} == {
        "氏名": "山田 花子",
        "メール": "hanako@example.com",
        "人数": "2",
        "受付経路": "web",
    }


def test_application_queued_in_maintenance_is_pumped_into_kintone_once(
    stack: RunningStack, client: requests.Session
) -> None:
    # The reply jobs of earlier recorded applications (their confirmation mails) first.
    while stack.pump_once("DeliverFunction").received:
        pass
    controls = stack.kintone.emulator.controls
    controls.maintenance = True
    try:
        answer = apply(stack, client)
    finally:
        controls.maintenance = False
    receipt = answer.json()["receipt"]
    queued = seminar_records(stack, receipt)

    delivered = stack.pump_once("DeliverFunction")
    again = stack.pump_once("DeliverFunction")

    assert (answer.status_code, answer.json()["status"]) == (202, "queued")
    assert queued == []
    assert delivered.invocation is Outcome.OK
    assert len(delivered.deleted) == 1
    assert again.received == ()
    assert len(seminar_records(stack, receipt)) == 1


def test_intake_queue_feeds_deliver_function_and_dead_letters_to_its_own_queue(
    stack: RunningStack,
) -> None:
    (source,) = [s for s in stack.sqs_sources if s.function == "DeliverFunction"]
    sqs = boto3.client(
        "sqs",
        endpoint_url=stack.moto_url,
        region_name="ap-northeast-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    attributes = sqs.get_queue_attributes(
        QueueUrl=stack.queue("IntakeQueue").url, AttributeNames=["RedrivePolicy"]
    )["Attributes"]

    assert (source.queue_name, source.function, source.report_failures) == (
        "IntakeQueue",
        "DeliverFunction",
        True,
    )
    assert (
        json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]
        == stack.queue("IntakeDeadLetterQueue").arn
    )


def test_form_page_origin_passes_the_intake_functions_cors_check(
    stack: RunningStack, client: requests.Session
) -> None:
    preflight = client.options(
        stack.router_url + "/forms/seminar-apply",
        headers={
            "Origin": stack.router_url,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,idempotency-key",
        },
        timeout=30,
    )
    page = client.get(stack.router_url + "/form.html", timeout=30)

    assert preflight.headers["Access-Control-Allow-Origin"] == stack.router_url
    assert "idempotency-key" in preflight.headers["Access-Control-Allow-Headers"].lower()
    assert page.status_code == 200
    assert 'action="/forms/seminar-apply"' in page.text


# -- the demo payment: send demo-stripe -> WebhookQueue -> ActionFunction -> kintone ------

PAYMENT_FIELDS = ("支払状況", "決済額", "決済日時", "決済イベントID")


def send_payment(stack: RunningStack, *options: str) -> int:
    return main(
        [
            "send",
            "demo-stripe",
            "--port",
            stack.router_url.rsplit(":", 1)[1],
            "--moto-port",
            stack.moto_url.rsplit(":", 1)[1],
            "--policy",
            str(REPO / "policy.yaml"),
            *options,
        ]
    )


def application(stack: RunningStack, receipt: str) -> dict[str, Any]:
    (record,) = [
        {code: field["value"] for code, field in record.items()}
        for record in stack.kintone.emulator.store.records(2)
        if record["受付ID"]["value"] == receipt
    ]
    return record


def test_send_demo_stripe_marks_the_seed_application_paid_once(
    stack: RunningStack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert application(stack, DEMO_SEMINAR_RECEIPT)["支払状況"] == "未払い"
    revision = int(application(stack, DEMO_SEMINAR_RECEIPT)["$revision"])

    statuses = [send_payment(stack, "--event-id", "evt_demo_paid_1") for _ in range(2)]
    applied = stack.pump_once("ActionFunction")
    again = stack.pump_once("ActionFunction")

    assert statuses == [0, 0]
    assert '"status": "duplicate"' in capsys.readouterr().out
    assert applied.invocation is Outcome.OK
    assert len(applied.deleted) == 1
    assert again.received == ()
    paid = application(stack, DEMO_SEMINAR_RECEIPT)
    # kintone keeps a date and time to the second, in UTC.
    created = datetime.fromtimestamp(DEMO_CREATED, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert {code: paid[code] for code in PAYMENT_FIELDS} == {
        "支払状況": "支払済",
        "決済額": "12000",
        "決済日時": created,
        "決済イベントID": "demo-stripe#evt_demo_paid_1",
    }
    assert int(paid["$revision"]) == revision + 1


def test_send_demo_stripe_with_a_forms_receipt_pays_that_application_and_no_other(
    stack: RunningStack, client: requests.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    receipt = apply(stack, client).json()["receipt"]
    seed_before = application(stack, DEMO_SEMINAR_RECEIPT)

    status = send_payment(stack, "--receipt", receipt)
    applied = stack.pump_once("ActionFunction")

    capsys.readouterr()
    assert status == 0
    assert applied.invocation is Outcome.OK
    paid = application(stack, receipt)
    assert (paid["支払状況"], paid["決済額"]) == ("支払済", "12000")
    assert paid["決済イベントID"].startswith("demo-stripe#evt_")
    assert application(stack, DEMO_SEMINAR_RECEIPT) == seed_before
