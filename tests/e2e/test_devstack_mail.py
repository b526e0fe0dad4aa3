"""The local stack's mail: the template's SES identity made verified in moto at start, what
moto's SES accepted read back over HTTP (`devstack.mailbox`), and `python -m devstack mail`
printing it, newest last."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from devstack import commands
from devstack import stack as devstack
from devstack.__main__ import main
from devstack.cli import banner
from devstack.mail_identity import DEFAULT_FROM_ADDRESS, DEFAULT_IDENTITY, MailSender
from devstack.mailbox import (
    MailboxError,
    Message,
    latest_code,
    messages_to,
    sent_messages,
    wait_for_code,
)
from devstack.stack import RunningStack

REPO = Path(__file__).resolve().parents[2]
# A small template of queues, a table and a bucket (and no MailIdentity parameter: the
# stack falls back to template.yaml's defaults).
TEMPLATE = Path(__file__).parent / "fixtures" / "queues_template.yaml"


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    with devstack.start(repo_root=REPO, template=TEMPLATE, pump=False) as running:
        yield running


@pytest.fixture(scope="module")
def sesv2(stack: RunningStack) -> Any:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="ap-northeast-1"
    )
    return session.client("sesv2", endpoint_url=stack.moto_url)


def fresh_address() -> str:
    """An address no other test of the module has mailed (moto keeps every message)."""
    return f"visitor-{uuid.uuid4().hex[:12]}@example.com"


def send(sesv2: Any, to: str, subject: str, body: str, sender: str = DEFAULT_FROM_ADDRESS) -> str:
    """SendEmail as SessionFunction sends a sign-in code; the message id."""
    answer = sesv2.send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": [to]},
        Content={
            "Simple": {
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
            }
        },
    )
    return str(answer["MessageId"])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def moto_port(stack: RunningStack) -> str:
    return stack.moto_url.rsplit(":", 1)[1]


# -- the identity ------------------------------------------------------------------------


def test_the_stack_starts_with_the_default_mail_identity_verified_in_moto(
    stack: RunningStack, sesv2: Any
) -> None:
    identity = sesv2.get_email_identity(EmailIdentity=DEFAULT_IDENTITY)

    assert identity["IdentityType"] == "DOMAIN"
    assert identity["VerificationStatus"] == "SUCCESS"
    assert stack.mail == MailSender(DEFAULT_IDENTITY, DEFAULT_FROM_ADDRESS)


def test_mail_from_an_address_of_no_identity_is_refused_and_not_listed(
    stack: RunningStack, sesv2: Any
) -> None:
    to = fresh_address()

    with pytest.raises(ClientError) as refused:
        send(sesv2, to, "件名", "本文\n", sender="no-reply@other.example")

    assert refused.value.response["Error"]["Code"] == "MessageRejected"
    assert messages_to(sent_messages(stack.moto_url), to) == []


# -- reading it back ---------------------------------------------------------------------


def test_a_message_sent_from_the_identity_is_listed_with_its_recipient_subject_and_body(
    stack: RunningStack, sesv2: Any
) -> None:
    to = fresh_address()
    body = "ログインコードです。\n\n482915\n\n10 分間有効です。\n"

    message_id = send(sesv2, to, "sekisho ログインコード", body)

    assert sent_messages(stack.moto_url)[-1] == Message(
        message_id=message_id,
        sender=DEFAULT_FROM_ADDRESS,
        to=(to,),
        subject="sekisho ログインコード",
        body=body,
    )


def test_messages_are_listed_oldest_first(stack: RunningStack, sesv2: Any) -> None:
    to = fresh_address()
    first = send(sesv2, to, "first", "one\n")
    second = send(sesv2, to, "second", "two\n")

    listed = [message.message_id for message in sent_messages(stack.moto_url)]

    assert listed[-2:] == [first, second]


def test_latest_code_is_the_code_on_a_line_of_its_own_in_the_newest_message_to_the_address(
    stack: RunningStack, sesv2: Any
) -> None:
    to, other = fresh_address(), fresh_address()
    send(sesv2, to, "code", "受付番号 1234567 のお知らせ\n\n111111\n")
    send(sesv2, to, "code", "受付番号 7654321 のお知らせ\n\n  222222  \n")
    send(sesv2, other, "code", "333333\n")

    assert latest_code(stack.moto_url, to) == "222222"
    assert latest_code(stack.moto_url, to.upper()) == "222222"
    assert latest_code(stack.moto_url, other) == "333333"
    assert latest_code(stack.moto_url, fresh_address()) is None


def test_wait_for_code_returns_the_code_of_a_message_newer_than_those_already_seen(
    stack: RunningStack, sesv2: Any
) -> None:
    to = fresh_address()
    send(sesv2, to, "old", "100000\n")
    seen = len(messages_to(sent_messages(stack.moto_url), to))
    later = threading.Timer(0.3, send, (sesv2, to, "new", "200000\n"))
    later.start()
    try:
        code = wait_for_code(stack.moto_url, to, after=seen, timeout=10)
    finally:
        later.join()

    assert seen == 1
    assert code == "200000"


def test_wait_for_code_gives_up_when_no_new_message_comes(stack: RunningStack) -> None:
    with pytest.raises(MailboxError, match=r"no new message to \S+ within 0\.3 s"):
        wait_for_code(stack.moto_url, fresh_address(), timeout=0.3)


def test_a_server_that_is_not_moto_is_named_as_such(stack: RunningStack) -> None:
    with pytest.raises(MailboxError, match=r"answered 404: is that the local stack.s moto\?"):
        sent_messages(stack.kintone.url)


# -- the terminal ------------------------------------------------------------------------


def test_mail_command_prints_a_block_per_message_newest_last(
    stack: RunningStack, sesv2: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    to = fresh_address()
    send(sesv2, to, "sekisho ログインコード", "コードは次のとおりです。\n\n654321\n")
    send(sesv2, to, "sekisho ログインコード (2)", "新しいコードです。\n\n987654\n")

    assert main(["mail", "--moto-port", moto_port(stack)]) == 0

    blocks, _, lines = capsys.readouterr().out.rpartition("\n\n")
    assert blocks.endswith(
        f"To: {to}\n"
        "Subject: sekisho ログインコード\n"
        "\n"
        "コードは次のとおりです。\n"
        "\n"
        "654321\n"
        "\n"
        f"To: {to}\n"
        "Subject: sekisho ログインコード (2)\n"
        "\n"
        "新しいコードです。\n"
        "\n"
        "987654"
    )
    # Then one line per message, newest last.
    assert lines.endswith(
        f"{to} | sekisho ログインコード | code 654321\n"
        f"{to} | sekisho ログインコード (2) | code 987654\n"
    )


def test_mail_command_output_starts_with_the_oldest_messages_to_line(
    stack: RunningStack, sesv2: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    send(sesv2, fresh_address(), "s", "b\n")
    oldest = sent_messages(stack.moto_url)[0]

    assert main(["mail", "--moto-port", moto_port(stack)]) == 0

    assert capsys.readouterr().out.startswith(f"To: {oldest.to[0]}\nSubject: {oldest.subject}\n\n")


def test_mail_command_without_a_stack_says_so_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = free_port()

    assert main(["mail", "--moto-port", str(port)]) == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"cannot read the sent mail: cannot reach moto at http://127.0.0.1:{port} "
        "(ConnectionError): is the stack running?\n"
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10"])  # noqa: S104
def test_mail_command_refuses_a_non_loopback_host(host: str) -> None:
    assert main(["mail", "--host", host]) == 2


def test_banner_names_the_sender_and_how_to_read_the_mail(stack: RunningStack) -> None:
    text = banner(stack)

    assert (
        f"  mail (moto's SES): from {DEFAULT_FROM_ADDRESS}, identity {DEFAULT_IDENTITY}; "
        "nothing leaves this machine" in text
    )
    assert f"    {commands.devstack()} mail --moto-port {moto_port(stack)}" in text
