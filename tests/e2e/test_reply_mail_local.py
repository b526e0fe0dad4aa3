"""The demo form's confirmation mail on the local stack: an application over HTTP, its
delivery pumped by hand, and what `make mail` reads from moto's SES — exactly one mail
per accepted entry, whether kintone took it at once or after maintenance."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devstack import stack as devstack
from devstack.__main__ import main
from devstack.mailbox import messages_with_receipt, sent_messages
from devstack.stack import RunningStack

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    with devstack.start(repo_root=REPO, pump=False) as running:
        yield running


def apply(stack: RunningStack, email: str, **headers: str) -> requests.Response:
    return requests.post(
        f"{stack.router_url}/forms/seminar-apply",
        json={"fields": {"name": "山田 花子", "email": email, "seats": 2}},
        headers={"content-type": "application/json", **headers},
        timeout=60,
    )


def deliver_everything(stack: RunningStack) -> None:
    while stack.pump_once("DeliverFunction").received:
        pass


def fresh_address() -> str:
    return f"applicant-{uuid.uuid4().hex[:12]}@example.com"


def test_a_recorded_application_gets_exactly_one_mail(stack, capsys):
    email = fresh_address()
    answer = apply(stack, email)
    assert answer.status_code == 201, answer.text
    receipt = answer.json()["receipt"]
    deliver_everything(stack)
    deliver_everything(stack)  # nothing is left to send it again
    [mail] = messages_with_receipt(sent_messages(stack.moto_url), receipt)
    assert mail.to == (email,)
    assert mail.subject == "セミナーのお申し込みを受け付けました"
    assert "氏名: 山田 花子" in mail.body

    port = stack.moto_url.rsplit(":", 1)[1]
    assert main(["mail", "--moto-port", port]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines.count(f"{email} | セミナーのお申し込みを受け付けました | receipt {receipt}") == 1


def test_an_application_queued_through_maintenance_gets_exactly_one_mail_in_english(stack):
    admin = f"{stack.kintone.url}/_emulator/maintenance"
    email = fresh_address()
    requests.post(admin, json={"enabled": True}, timeout=10)
    try:
        key = str(uuid.uuid4())
        first = apply(stack, email, **{"Idempotency-Key": key, "Accept-Language": "en"})
        again = apply(stack, email, **{"Idempotency-Key": key, "Accept-Language": "en"})
    finally:
        requests.post(admin, json={"enabled": False}, timeout=10)
    assert (first.status_code, again.json()) == (202, first.json())
    receipt = first.json()["receipt"]
    # No mail before the record exists.
    assert messages_with_receipt(sent_messages(stack.moto_url), receipt) == []
    deliver_everything(stack)
    [mail] = messages_with_receipt(sent_messages(stack.moto_url), receipt)
    assert mail.subject == "We have received your seminar application"
