"""The local stack's mail without a server: which SES identity the stack makes from the
template's parameters, which addresses it covers, and how a sent message is read and printed."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from devstack.mail_identity import (
    DEFAULT_FROM_ADDRESS,
    DEFAULT_IDENTITY,
    MailSender,
    create_mail_identity,
    mail_sender,
)
from devstack.mailbox import (
    MailboxError,
    Message,
    messages_with_receipt,
    parse_messages,
    render,
    summary,
)


class RecordingSesV2:
    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []

    def create_email_identity(self, **request: Any) -> dict[str, Any]:
        self.created.append(request)
        return {"IdentityType": "DOMAIN", "VerifiedForSendingStatus": True}


def message(body: str, *, to: tuple[str, ...] = ("a@example.com",), subject: str = "s") -> Message:
    return Message(message_id="m-1", sender=DEFAULT_FROM_ADDRESS, to=to, subject=subject, body=body)


# -- the identity ------------------------------------------------------------------------


def test_a_template_without_the_mail_parameters_gets_template_yamls_defaults() -> None:
    assert mail_sender({"Stage": "v1"}) == MailSender("sekisho.example", "no-reply@sekisho.example")
    assert (DEFAULT_IDENTITY, DEFAULT_FROM_ADDRESS) == (
        "sekisho.example",
        "no-reply@sekisho.example",
    )


def test_the_resolved_mail_parameters_name_the_identity_and_the_sender() -> None:
    sender = mail_sender(
        {"MailIdentity": "mail.example.jp", "MailFromAddress": "a@mail.example.jp"}
    )

    assert sender == MailSender("mail.example.jp", "a@mail.example.jp")


@pytest.mark.parametrize(
    ("identity", "from_address", "covered"),
    [
        ("sekisho.example", "no-reply@sekisho.example", True),
        ("Sekisho.Example", "no-reply@sekisho.example", True),
        ("no-reply@sekisho.example", "no-reply@sekisho.example", True),
        ("other@sekisho.example", "no-reply@sekisho.example", False),
        ("sekisho.example", "no-reply@mail.sekisho.example", False),
        ("sekisho.example", "no-reply@notsekisho.example", False),
        ("example", "no-reply@sekisho.example", False),
    ],
)
def test_an_identity_covers_its_own_address_or_the_addresses_of_its_exact_domain(
    identity: str, from_address: str, covered: bool
) -> None:
    assert MailSender(identity, from_address).covers_from_address() is covered


def test_the_identity_is_made_in_ses_v2_by_its_name() -> None:
    sesv2 = RecordingSesV2()

    create_mail_identity(sesv2, MailSender("sekisho.example", "no-reply@sekisho.example"))

    assert sesv2.created == [{"EmailIdentity": "sekisho.example"}]


def test_an_identity_that_does_not_cover_the_sender_is_made_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sesv2 = RecordingSesV2()

    with caplog.at_level(logging.WARNING, logger="devstack.mail_identity"):
        create_mail_identity(sesv2, MailSender("sekisho.example", "no-reply@other.example"))

    assert sesv2.created == [{"EmailIdentity": "sekisho.example"}]
    assert caplog.messages == [
        "MailIdentity sekisho.example does not cover MailFromAddress no-reply@other.example: "
        "SES refuses mail sent from it"
    ]


def test_an_identity_that_covers_the_sender_is_made_without_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="devstack.mail_identity"):
        create_mail_identity(RecordingSesV2(), MailSender(DEFAULT_IDENTITY, DEFAULT_FROM_ADDRESS))

    assert caplog.messages == []


# -- the code ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("ログインコード:\n\n123456\n", "123456"),
        ("123456", "123456"),
        ("\t 123456  \r\nthanks\r\n", "123456"),
        ("first 111111 inline\n222222\n333333\n", "222222"),
        ("受付番号 1234567\n", None),
        ("1234567\n12345\n", None),
        ("code: 123456\n", None),
        ("１２３４５６\n", None),  # full-width digits are not a code anyone types
        ("", None),
    ],
)
def test_the_code_is_the_first_line_of_six_digits_and_nothing_else(
    body: str, code: str | None
) -> None:
    assert message(body).code() == code


@pytest.mark.parametrize("address", ["a@example.com", "A@Example.COM", " a@example.com "])
def test_a_message_is_to_an_address_whatever_its_case(address: str) -> None:
    assert message("x", to=("b@example.com", "a@example.com")).is_to(address)


def test_a_message_is_not_to_an_address_it_does_not_name() -> None:
    assert not message("x", to=("a@example.com",)).is_to("aa@example.com")


# -- moto's model data -------------------------------------------------------------------


def test_moto_data_without_ses_holds_no_messages() -> None:
    assert parse_messages({"sqs": {"Queue": []}}) == []


def test_moto_data_gives_ses_messages_in_its_own_order() -> None:
    data = {
        "ses": {
            "Message": [
                {
                    "id": "m-1",
                    "source": "no-reply@sekisho.example",
                    "subject": "one",
                    "body": "b1",
                    "destinations": {"ToAddresses": ["a@example.com"]},
                },
                {
                    "id": "m-2",
                    "source": "no-reply@sekisho.example",
                    "subject": "two",
                    "body": "b2",
                    "destinations": {"ToAddresses": ["b@example.com", "c@example.com"]},
                },
            ],
            "RawMessage": [{"id": "r-1", "source": "x", "raw_data": "..."}],
        }
    }

    assert [(m.message_id, m.to, m.subject) for m in parse_messages(data)] == [
        ("m-1", ("a@example.com",), "one"),
        ("m-2", ("b@example.com", "c@example.com"), "two"),
    ]


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"ses": {"Message": [{"id": "m-1"}]}},
        {"ses": {"Message": ["not a message"]}},
    ],
)
def test_moto_data_of_another_shape_is_refused_with_what_was_wrong(data: Any) -> None:
    with pytest.raises(MailboxError):
        parse_messages(data)


# -- printing ----------------------------------------------------------------------------


def test_each_message_prints_as_to_subject_a_blank_line_and_the_body_blocks_apart() -> None:
    messages = [
        message("one\n\n111111\n\n", to=("a@example.com",), subject="first"),
        message("two", to=("b@example.com", "c@example.com"), subject="second"),
    ]

    assert render(messages) == (
        "To: a@example.com\nSubject: first\n\none\n\n111111\n\n"
        "To: b@example.com, c@example.com\nSubject: second\n\ntwo"
    )


def test_no_mail_prints_as_one_line_saying_so() -> None:
    assert render([]) == "no mail sent"


def test_a_confirmation_mail_prints_as_one_line_with_its_receipt() -> None:
    receipt = "3c976f07-b929-4516-997a-dfff75b2cb37"
    messages = [
        message(f"お申し込みを受け付けました。\n\n受付番号: {receipt}\n", subject="受付"),
        message("code\n\n123456\n", subject="サインイン"),
    ]
    assert summary(messages) == (
        "2 mails sent:\n"
        f"a@example.com | 受付 | receipt {receipt}\n"
        "a@example.com | サインイン | code 123456"
    )
    assert messages_with_receipt(messages, receipt) == messages[:1]


def test_no_mail_sums_up_as_one_line_saying_so() -> None:
    assert summary([]) == "no mail sent"
