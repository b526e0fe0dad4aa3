"""The confirmation mail of an entry (a form's ``reply:``): sent once per receipt, by the
deliverer, only once the record is in kintone.

Two ways lead here, both through DeliverFunction:

- a queued submission (202): once it is written (or found written: a duplicate also means
  the record exists), its mail is sent from the queued record;
- a synchronous write (201): the intake queues a :class:`~.reply_job.ReplyJob` after
  kintone answered, and the deliverer sends the mail without calling kintone.

Exactly once per receipt: :class:`~sekisho.once.RunOnce` (Powertools' idempotency on the
IdempotencyTable, keys ``sekisho.reply#<hash of the receipt>``) runs the send; a message
delivered again, a redriven one, or a job queued twice find the stored answer and send
nothing. When SES fails the run is forgotten and the error raised: the message is retried
with the deliverer's backoff, and its record is never written twice (the receipt makes a
second add a duplicate). One gap is left, as with any mail API: SES took the message and
the container died before the answer was stored; the next attempt, once the in-progress
claim has run out, sends a second mail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer

from sekisho.audit import audit
from sekisho.errors import UpstreamUnavailable
from sekisho.mail.headers import address_problem
from sekisho.mail.sender import Mailer, Message
from sekisho.mail.templates import LANGUAGES, render
from sekisho.once import AlreadyRunning, RunOnce, StoreUnavailable

from .errors import MalformedMessage, OutboxUnavailable
from .message import KintoneValue, utc_now
from .reply_job import ReplyJob

if TYPE_CHECKING:
    from sekisho.policy import FormPolicy

    from .outbox import Outbox

logger = logging.getLogger(__name__)

# Stable across renames and redeploys: DeliverFunction's IAM admits only these keys.
KEY_PREFIX = "sekisho.reply"
# Longer than any message can come back: IntakeQueue keeps one 4 days, its dead-letter
# queue 14, and a redrive from there must still find the mail sent.
EXPIRY_SECONDS = 15 * 24 * 3600
TEMPLATE = "reply"
SENT = "sent"
ALREADY_SENT = "already_sent"


class ReplyInProgress(UpstreamUnavailable):
    """Another delivery of the same receipt is sending its mail right now."""


class ReplyStoreUnavailable(UpstreamUnavailable):
    """The IdempotencyTable could not be used: nothing was sent, try again later."""


def choose_language(accept_language: str | None, default: str) -> str:
    """The language of the mail: the first of the browser's Accept-Language (by weight,
    then order) that the templates have, else the form's own."""
    best: tuple[float, int, str] | None = None
    for index, item in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().split("-")[0].lower()
        if primary not in LANGUAGES:
            continue
        weight = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                weight = float(value)
            except ValueError:
                continue
        if not 0 < weight <= 1:
            continue
        if best is None or (-weight, index) < (-best[0], best[1]):
            best = (weight, index, primary)
    return best[2] if best else default


def language_for(form: FormPolicy, accept_language: str | None) -> str | None:
    """The language of ``form``'s mail for this browser; None when it sends none."""
    return None if form.reply is None else choose_language(accept_language, form.reply.language)


def job_for(
    form_name: str,
    form: FormPolicy,
    *,
    receipt: str,
    record: Mapping[str, KintoneValue],
    language: str | None,
) -> ReplyJob | None:
    """The mail of an entry whose ``record`` (kintone codes) was written; None when the
    form has no reply or the entry no address."""
    reply = form.reply
    if reply is None:
        return None
    to = record.get(form.fields[reply.to].code)
    if not isinstance(to, str) or not to:
        return None
    values = {}
    for name in reply.fields:
        value = record.get(form.fields[name].code)
        if value is not None:
            values[name] = value
    chosen = language if language in LANGUAGES else reply.language
    return ReplyJob(receipt, form_name, to, chosen, values, utc_now())


def queue_reply(outbox: Outbox, job: ReplyJob | None) -> None:
    """After a synchronous write: queue the entry's mail. The record exists and the
    visitor gets their 201 whatever happens here; a job SQS does not take is logged (the
    ``reply not queued`` line an operator's alarm reads) and the mail is not sent: sending
    it now, from the browser's request, would send it before a retry could know."""
    if job is None:
        return
    try:
        outbox.put_reply(job)
    except OutboxUnavailable as exc:
        logger.error(
            "reply not queued",
            extra={"form": job.form, "receipt": job.receipt, "error": str(exc)},
        )
        audit(
            "reply",
            route=f"form:{job.form}",
            caller="anonymous",
            outcome="not_queued",
            form=job.form,
            receipt=job.receipt,
        )


def compose(form: FormPolicy, job: ReplyJob) -> Message:
    """The mail of ``job``, checked against the form it names (the job is untrusted)."""
    reply = form.reply
    if reply is None:
        raise MalformedMessage("the reply job names a form without reply")
    wrong = sorted(set(job.values) - set(reply.fields))
    if wrong:
        raise MalformedMessage(f"the reply job shows fields the reply does not declare: {wrong}")
    if address_problem(job.to) is not None:
        raise MalformedMessage("the reply job's recipient is not an address mail can go to")
    if job.language not in LANGUAGES:
        raise MalformedMessage("the reply job names no known language")
    shown = [
        (form.fields[name].code, _text(job.values[name]))
        for name in reply.fields
        if name in job.values
    ]
    text = render(TEMPLATE, job.language, receipt=job.receipt, fields=shown)
    return Message(job.to, reply.subject_in(job.language), text)


def _text(value: KintoneValue) -> str:
    return value if isinstance(value, str) else ", ".join(value)


class Replies:
    """Sends each receipt's mail once."""

    def __init__(
        self,
        mailer: Mailer,
        persistence: BasePersistenceLayer,
        *,
        expires_after_seconds: int = EXPIRY_SECONDS,
    ) -> None:
        self._mailer = mailer
        self._once = RunOnce(
            persistence, key_prefix=KEY_PREFIX, expires_after_seconds=expires_after_seconds
        )

    def send(
        self, form: FormPolicy, job: ReplyJob, remaining_ms: Callable[[], int] | None = None
    ) -> str:
        """``sent``, or ``already_sent`` when an earlier delivery sent it; raises (the
        message is then retried) when SES or the table fails."""
        message = compose(form, job)
        outcome = "failed"
        try:
            result = self._once.run(
                key=job.receipt, action=lambda: self._send(message), remaining_ms=remaining_ms
            )
            outcome = ALREADY_SENT if result.replayed else SENT
            return outcome
        except AlreadyRunning as exc:
            raise ReplyInProgress("the mail of this receipt is being sent") from exc
        except StoreUnavailable as exc:
            raise ReplyStoreUnavailable("the reply's idempotency store failed") from exc
        finally:
            audit(
                "reply",
                route=f"form:{job.form}",
                caller="anonymous",
                outcome=outcome,
                form=job.form,
                receipt=job.receipt,
            )

    def _send(self, message: Message) -> dict[str, Any]:
        self._mailer.send(message)
        return {"sent": True}
