"""The confirmation mail of an entry: queued by the intake only after kintone has the
record, read back by the deliverer as untrusted input, and sent once per receipt."""

from __future__ import annotations

import json
import logging
import uuid

import pytest

from sekisho.errors import ValidationFailed
from sekisho.intake.errors import MalformedMessage
from sekisho.intake.message import QueuedSubmission
from sekisho.intake.reply import (
    ALREADY_SENT,
    SENT,
    Replies,
    ReplyInProgress,
    ReplyStoreUnavailable,
    choose_language,
    compose,
    job_for,
)
from sekisho.intake.reply_job import ReplyJob, is_reply_job
from sekisho.kintone.errors import KintoneMaintenance
from sekisho.mail.errors import MailUnavailable
from sekisho.mail.sender import InMemoryMailer
from sekisho.once import InMemoryPersistenceLayer
from tests.unit.test_intake_service import VALID, Harness
from tests.unit.test_session_support import shipped_policy

FORM = "seminar-apply"
RECEIPT = "3c976f07-b929-4516-997a-dfff75b2cb37"


@pytest.fixture
def intake() -> Harness:
    return Harness(shipped_policy())


def form():
    return shipped_policy().form(FORM)


def job(**changes) -> ReplyJob:
    values = {
        "receipt": RECEIPT,
        "form": FORM,
        "to": "hanako@example.com",
        "language": "ja",
        "values": {"name": "山田 花子", "seats": "2"},
        "accepted_at": "2026-01-01T00:00:00Z",
    }
    values.update(changes)
    return ReplyJob(**values)


def queued(harness: Harness) -> list[dict]:
    return [json.loads(m.body) for m in harness.queue.messages]


# ------------------------------------------------------------------------- the intake


def test_a_recorded_submission_queues_one_reply_job_after_kintone_took_it(intake):
    order: list[str] = []
    intake.kintone.on_add = lambda: order.append(f"add, {len(intake.queue.messages)} queued")
    result = intake.submit(VALID)
    assert (result.status_code, order) == (201, ["add, 0 queued"])
    [message] = queued(intake)
    assert message == {
        "kind": "reply",
        "v": 1,
        "receipt": result.receipt,
        "form": FORM,
        "to": "hanako@example.com",
        "language": "ja",
        "values": {"name": "山田 花子", "seats": "2"},
        "accepted_at": message["accepted_at"],
    }
    assert intake.queue.messages[0].receipt == result.receipt


def test_a_queued_submission_carries_its_language_and_no_separate_job(intake):
    intake.kintone.failures.append(KintoneMaintenance("maintenance", http_status=503))
    result = intake.submit(VALID, accept_language="en-US,en;q=0.9")
    assert result.status_code == 202
    [message] = queued(intake)
    assert "kind" not in message
    assert QueuedSubmission.from_json(json.dumps(message)).language == "en"


def test_a_replayed_submission_queues_no_second_job(intake):
    first = intake.submit(VALID, idempotency_key="k" * 24)
    again = intake.submit(VALID, idempotency_key="k" * 24)
    assert again == first
    assert len(queued(intake)) == 1


def test_a_filled_honeypot_queues_no_mail(intake):
    intake.submit({"fields": {**VALID["fields"], "website": "http://spam.example"}})
    assert queued(intake) == []


def test_when_the_job_cannot_be_queued_the_entry_is_still_recorded_and_the_gap_logged(
    intake, caplog
):
    intake.queue.fail = True
    caplog.set_level(logging.INFO)
    result = intake.submit(VALID)
    assert result.status_code == 201
    assert len(intake.kintone.added) == 1
    [error] = [r for r in caplog.records if r.getMessage() == "reply not queued"]
    assert (error.levelname, error.receipt) == ("ERROR", result.receipt)
    assert "hanako@example.com" not in json.dumps([vars(r) for r in caplog.records], default=str)


# The recipient goes into a header: what could add one, or never be mailed, is refused
# at intake with the field's own problem.
# (Outer white space, a trailing CR or NEL included, is trimmed from every value first.)
NASTY_ADDRESSES = [
    ("crlf bcc", "hanako@example.com\r\nBcc: victim@example.com", "encoding"),
    ("lf", "hanako@example.com\nBcc: victim@example.com", "encoding"),
    ("nel", "hanako@example.com\x85Bcc: victim@example.com", "encoding"),
    ("line separator", "hanako@example.com\u2028Bcc: v@example.com", "email"),
    ("bidi override", "\u202ehanako@example.com", "email"),
    ("zero width space", "hana\u200bko@example.com", "email"),
    ("second address", "hanako@example.com, victim@example.com", "email"),
    ("non-ascii local part", "花子@example.com", "email"),
]


@pytest.mark.parametrize(
    ("case", "address", "code"), NASTY_ADDRESSES, ids=[c[0] for c in NASTY_ADDRESSES]
)
def test_a_recipient_that_could_add_a_header_is_refused_at_intake(intake, case, address, code):
    with pytest.raises(ValidationFailed) as refused:
        intake.submit({"fields": {**VALID["fields"], "email": address}})
    assert [(e["pointer"], e["code"]) for e in refused.value.errors] == [("/fields/email", code)]
    assert intake.kintone.added == []
    assert queued(intake) == []


def test_percent_encoded_line_ends_are_an_ordinary_text_value(intake):
    result = intake.submit({"fields": {**VALID["fields"], "name": "花子 %0d%0aBcc: x"}})
    assert result.status_code == 201


# ------------------------------------------------------------------------- the language


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        (None, "ja"),
        ("", "ja"),
        ("en", "en"),
        ("en-GB,en;q=0.9", "en"),
        ("fr-FR,fr;q=0.9,en;q=0.8,ja;q=0.7", "en"),
        ("ja;q=0.5,en;q=0.8", "en"),
        ("en;q=0.5,ja;q=0.5", "en"),
        ("fr", "ja"),
        ("en;q=0", "ja"),
        ("en;q=abc", "ja"),
        ("*", "ja"),
    ],
)
def test_the_mail_is_in_the_first_language_the_browser_prefers_that_has_a_text(header, chosen):
    assert choose_language(header, "ja") == chosen


# ----------------------------------------------------------------- the deliverer's check


def test_a_job_round_trips_through_its_json():
    assert ReplyJob.from_json(job().to_json()) == job()
    assert is_reply_job(job().to_json())
    assert not is_reply_job('{"v": 1}')
    assert not is_reply_job("not json")


def _body(**changes) -> str:
    data = json.loads(job().to_json())
    data.update(changes)
    return json.dumps({k: v for k, v in data.items() if v is not ...})


MALFORMED = [
    ("not json", "{"),
    ("a list", "[]"),
    ("a missing key", _body(accepted_at=...)),
    ("an extra key", _body(bcc="victim@example.com")),
    ("another kind", _body(kind="submission")),
    ("an unknown version", _body(v=2)),
    ("a bool version", _body(v=True)),
    ("a receipt that is no uuid", _body(receipt="../other")),
    ("an unknown language", _body(language="fr")),
    ("a number for the address", _body(to=1)),
    ("an empty address", _body(to="")),
    ("values that are not an object", _body(values=["a"])),
    ("a value that is an object", _body(values={"name": {"a": 1}})),
]


@pytest.mark.parametrize(("case", "body"), MALFORMED, ids=[c[0] for c in MALFORMED])
def test_a_malformed_job_is_refused_without_quoting_it(case, body):
    with pytest.raises(MalformedMessage) as refused:
        ReplyJob.from_json(body)
    assert "victim" not in str(refused.value)
    assert "hanako" not in str(refused.value)


REFUSED_AGAINST_THE_FORM = [
    ("an undeclared field", job(values={"name": "x", "memo": "社内"})),
    ("a header in the address", job(to="hanako@example.com\r\nBcc: victim@example.com")),
    ("no address at all", job(to="hanako")),
]


@pytest.mark.parametrize(
    ("case", "bad"), REFUSED_AGAINST_THE_FORM, ids=[c[0] for c in REFUSED_AGAINST_THE_FORM]
)
def test_a_job_is_checked_against_its_form_before_any_mail(case, bad):
    with pytest.raises(MalformedMessage):
        compose(form(), bad)


def test_a_job_for_a_form_without_reply_is_refused():
    with pytest.raises(MalformedMessage):
        compose(form().replace(reply=None), job())


def test_the_mail_shows_the_receipt_and_only_the_declared_fields():
    record = {"氏名": "山田 花子", "メール": "hanako@example.com", "人数": "2", "受付経路": "web"}
    built = job_for(FORM, form(), receipt=RECEIPT, record=record, language="en")
    message = compose(form(), built)
    assert (message.to, message.subject) == (
        "hanako@example.com",
        "We have received your seminar application",
    )
    assert RECEIPT in message.text
    assert "氏名: 山田 花子\n人数: 2\n" in message.text
    assert "web" not in message.text
    assert "hanako@example.com" not in message.text


def test_an_entry_without_an_address_gets_no_job():
    assert job_for(FORM, form(), receipt=RECEIPT, record={"氏名": "x"}, language=None) is None


# -------------------------------------------------------------------------- sent once


@pytest.fixture
def mailer() -> InMemoryMailer:
    return InMemoryMailer()


@pytest.fixture
def persistence() -> InMemoryPersistenceLayer:
    return InMemoryPersistenceLayer()


def test_a_receipt_is_mailed_once_however_often_it_comes(mailer, persistence):
    replies = Replies(mailer, persistence)
    assert replies.send(form(), job()) == SENT
    assert replies.send(form(), job()) == ALREADY_SENT
    # Another container, the same table.
    assert Replies(mailer, persistence).send(form(), job()) == ALREADY_SENT
    assert len(mailer.sent) == 1


def test_a_failed_mail_is_forgotten_so_the_retry_sends_it(mailer, persistence):
    replies = Replies(mailer, persistence)
    mailer.fail = True
    with pytest.raises(MailUnavailable):
        replies.send(form(), job())
    mailer.fail = False
    assert replies.send(form(), job()) == SENT
    assert len(mailer.sent) == 1


def test_another_receipt_is_another_mail(mailer, persistence):
    replies = Replies(mailer, persistence)
    replies.send(form(), job())
    replies.send(form(), job(receipt=str(uuid.uuid4())))
    assert len(mailer.sent) == 2


def test_without_its_table_no_mail_is_sent_and_the_message_is_retried(mailer, persistence):
    persistence.fail = True
    with pytest.raises(ReplyStoreUnavailable):
        Replies(mailer, persistence).send(form(), job())
    assert mailer.sent == []


def test_a_mail_being_sent_by_another_delivery_is_retried_later(mailer, persistence):
    replies = Replies(mailer, persistence)

    def send_again(message):
        with pytest.raises(ReplyInProgress):
            replies.send(form(), job())

    mailer.send = send_again  # type: ignore[method-assign]
    replies.send(form(), job())


def test_a_queued_submission_keeps_its_language_and_refuses_an_unknown_one():
    message = QueuedSubmission(RECEIPT, FORM, {"氏名": "x"}, (), "now", "en")
    assert QueuedSubmission.from_json(message.to_json()) == message
    plain = QueuedSubmission(RECEIPT, FORM, {"氏名": "x"}, (), "now")
    assert "language" not in json.loads(plain.to_json())
    data = json.loads(message.to_json()) | {"language": "fr"}
    with pytest.raises(MalformedMessage):
        QueuedSubmission.from_json(json.dumps(data))
