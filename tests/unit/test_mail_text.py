"""The confirmation mail's text and headers: the receipt and declared fields only, values
that cannot break the layout, header values that cannot add a header."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from sekisho.mail.errors import MailUnavailable, UnsafeHeader
from sekisho.mail.headers import address_problem, check_header_value, ses_address
from sekisho.mail.sender import InMemoryMailer, Message, SesMailer
from sekisho.mail.templates import one_line, render

RECEIPT = "3c976f07-b929-4516-997a-dfff75b2cb37"


@pytest.mark.parametrize("language", ["ja", "en"])
def test_each_language_renders_the_receipt_and_each_field_on_its_own_line(language):
    text = render("reply", language, receipt=RECEIPT, fields=[("氏名", "山田 花子"), ("人数", "2")])
    assert f": {RECEIPT}\n" in text
    assert "\n氏名: 山田 花子\n人数: 2\n" in text
    assert "$" not in text


def test_the_japanese_and_english_texts_differ():
    ja = render("reply", "ja", receipt=RECEIPT, fields=[])
    en = render("reply", "en", receipt=RECEIPT, fields=[])
    assert ja.startswith("お申し込みを受け付けました。")
    assert en.startswith("We have received your application.")


def test_a_mail_without_fields_has_no_empty_gap():
    assert "\n\n\n" not in render("reply", "en", receipt=RECEIPT, fields=[])


# A value is text: it can neither start a line of its own nor be read as a placeholder.
NASTY_VALUES = [
    ("line feed", "花子\nReceipt: 00000000-0000-0000-0000-000000000000", "花子 Receipt: 0"),
    ("carriage return", "花子\r\nBcc: x@example.com", "花子 Bcc: x@example.com"),
    ("next line", "花子\x85偽", "花子 偽"),
    ("line separator", "花子\u2028偽", "花子 偽"),
    ("paragraph separator", "花子\u2029偽", "花子 偽"),
    ("bidi override", "\u202emoc.elpmaxe", " moc.elpmaxe"),
    ("placeholder", "$receipt ${fields}", "$receipt ${fields}"),
    ("nul", "a\x00b", "a b"),
]


@pytest.mark.parametrize(("case", "value", "shown"), NASTY_VALUES, ids=[c[0] for c in NASTY_VALUES])
def test_a_value_is_put_in_as_one_line_of_plain_text(case, value, shown):
    text = render("reply", "en", receipt=RECEIPT, fields=[("氏名", value)])
    [line] = [line for line in text.splitlines() if line.startswith("氏名: ")]
    assert shown.strip() in line
    assert sum(line.startswith("Receipt: ") for line in text.splitlines()) == 1
    assert one_line(value) == one_line(one_line(value))


def test_an_unknown_template_or_language_is_refused():
    with pytest.raises(ValueError, match="no template"):
        render("reply", "fr", receipt=RECEIPT, fields=[])
    with pytest.raises(ValueError, match="no template"):
        render("../reply", "en", receipt=RECEIPT, fields=[])


# Header values: CR, LF and their relatives are refused; %0d%0a is six printable
# characters that no one decodes, so it is only text.
UNSAFE_HEADERS = [
    ("crlf bcc", "ok@example.com\r\nBcc: victim@example.com"),
    ("lf", "ok@example.com\nBcc: victim@example.com"),
    ("cr", "ok@example.com\rX: y"),
    ("nel", "ok@example.com\x85X: y"),
    ("line separator", "ok@example.com\u2028X: y"),
    ("paragraph separator", "ok@example.com\u2029X: y"),
    ("bidi override", "\u202eok@example.com"),
    ("zero width space", "ok\u200b@example.com"),
    ("nul", "ok@example.com\x00"),
    ("tab", "ok@example.com\tX"),
]


@pytest.mark.parametrize(("case", "value"), UNSAFE_HEADERS, ids=[c[0] for c in UNSAFE_HEADERS])
def test_a_header_value_with_a_line_end_or_a_hidden_character_is_refused(case, value):
    assert address_problem(value) is not None
    with pytest.raises(UnsafeHeader):
        check_header_value(value, "subject")
    with pytest.raises(UnsafeHeader):
        InMemoryMailer().send(Message(value, "subject", "text"))


def test_percent_encoded_line_ends_are_only_text():
    assert check_header_value("受付 %0d%0aBcc: x", "subject") == "受付 %0d%0aBcc: x"


@pytest.mark.parametrize(
    ("address", "sent_as"),
    [
        ("hanako@example.com", "hanako@example.com"),
        ("taro..yamada.@docomo.ne.jp", "taro..yamada.@docomo.ne.jp"),
        ("hanako@例え.jp", "hanako@xn--r8jz45g.jp"),
    ],
)
def test_a_recipient_is_sent_with_its_domain_in_ascii(address, sent_as):
    assert ses_address(address) == sent_as


def test_a_recipient_whose_local_part_is_not_ascii_is_refused_ses_has_no_smtputf8():
    assert address_problem("花子@example.com") is not None


class FailingSes:
    def send_email(self, **request):
        raise ClientError({"Error": {"Code": "MessageRejected", "Message": "no"}}, "SendEmail")


class RecordingSes:
    def __init__(self) -> None:
        self.requests: list[dict] = []

    def send_email(self, **request):
        self.requests.append(request)
        return {"MessageId": "1"}


def test_ses_is_asked_once_with_the_configuration_set_and_text_only():
    ses = RecordingSes()
    SesMailer("no-reply@sekisho.example", configuration_set="sekisho-mail", client=ses).send(
        Message("hanako@例え.jp", "件名", "本文")
    )
    [request] = ses.requests
    assert request["ConfigurationSetName"] == "sekisho-mail"
    assert request["Destination"] == {"ToAddresses": ["hanako@xn--r8jz45g.jp"]}
    assert set(request["Content"]["Simple"]["Body"]) == {"Text"}


def test_an_ses_failure_is_mail_unavailable_naming_the_code_not_the_message():
    with pytest.raises(MailUnavailable, match="MessageRejected"):
        SesMailer("no-reply@sekisho.example", client=FailingSes()).send(
            Message("hanako@example.com", "件名", "本文")
        )
