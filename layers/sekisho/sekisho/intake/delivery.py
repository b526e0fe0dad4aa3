"""Delivery: a queued submission becomes its kintone record, exactly once.

DeliverFunction hands each SQS record of a batch to :meth:`DeliverService.deliver_record`
(Powertools' batch processor reports the failed ones back to SQS). A record is parsed and
checked against the current policy, its attachments are read back from the bucket and
verified, and the record is added with its receipt. kintone's unique violation on the
receipt means an earlier attempt already wrote it: success. After a success the
attachments are deleted, leaving a small "delivered" marker so a duplicate delivery that
finds no files knows they were delivered, not lost.

Once the record exists (written now or before), a form with ``reply:`` gets its one
confirmation mail (:mod:`.reply`); a reply job queued by the intake after a synchronous
write is only that mail. A mail that fails fails the message, which comes back and finds
its record a duplicate: the record is never written twice, the mail is sent once.

Failures are never swallowed: a malformed message fails every time and reaches the
dead-letter queue after the queue's maxReceiveCount; a transient failure (kintone busy,
down or slow, the breaker open, the bucket unavailable) also stretches the message's
invisibility with exponential backoff, so a kintone in maintenance is not hammered.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import BotoCoreError, ClientError

from sekisho import aws, metrics
from sekisho.audit import audit
from sekisho.entries.errors import EntriesUnavailable
from sekisho.entries.ledger import RECORDED, REFUSED
from sekisho.errors import (
    ConfigurationError,
    NotFound,
    OutOfTime,
    SekishoError,
    UpstreamUnavailable,
)
from sekisho.kintone.breaker import CircuitBreaker
from sekisho.kintone.client import KintoneClient, TokenSource, breaker_for
from sekisho.kintone.clients import ClientsByToken
from sekisho.kintone.errors import KintoneCircuitOpen
from sekisho.kintone.writes import WRITE_RETRY, WRITE_TIMEOUTS
from sekisho.policy.metric_routes import form_route
from sekisho.redelivery import (  # noqa: F401 - MAX_VISIBILITY_SECONDS, backoff_seconds: API
    MAX_VISIBILITY_SECONDS,
    MIN_BACKOFF_SECONDS,
    Backoff,
    VisibilityControl,
    backoff_seconds,
    last_receive,
)

from .attachments import AttachmentStore
from .errors import AttachmentMissing, AttachmentsUnavailable, MalformedMessage
from .message import QueuedSubmission, delivered_marker_key
from .reply import Replies, job_for
from .reply_job import ReplyJob, is_reply_job
from .upload_delivery import verify_uploads
from .writer import AttachmentFile, FileContent, undeclared_codes, write_submission

if TYPE_CHECKING:
    from sekisho.entries.ledger import EntryLedger
    from sekisho.policy import FormPolicy, Policy

    from .upload_objects import UploadObjects

logger = logging.getLogger(__name__)

# A few quick attempts per call: the queue's backoff is the long-term retry.
DELIVER_RETRY = WRITE_RETRY
DELIVER_TIMEOUTS = WRITE_TIMEOUTS
# While kintone is down the breaker fails every message fast, and each one so failed is out
# of sight for seconds: the deliverer's breaker lets its trial through after one second,
# so a queue starts draining within a second of kintone's return, not five. One trial a
# second per container while there are messages to deliver is no load for kintone.
DELIVER_BREAKER_RESET_SECONDS = 1.0
# A message is started only with this much of the invocation left: a slow upload and
# add must finish before Lambda's timeout (30 s), or the whole batch would fail.
MIN_REMAINING_MS = 15_000


def _default_client(
    base_url: str, token: TokenSource, breaker: CircuitBreaker | None = None
) -> KintoneClient:
    return KintoneClient(
        base_url, token, retry=DELIVER_RETRY, timeouts=DELIVER_TIMEOUTS, breaker=breaker
    )


class DeliverService:
    def __init__(
        self,
        policy: Policy,
        token_sources: Callable[[str], TokenSource],
        kintone_base_url: str,
        *,
        attachments: AttachmentStore,
        visibility: VisibilityControl,
        uploads: UploadObjects | None = None,
        client_factory: Callable[..., KintoneClient] = _default_client,
        breaker: CircuitBreaker | None = None,
        min_remaining_ms: int = MIN_REMAINING_MS,
        min_backoff_seconds: float = MIN_BACKOFF_SECONDS,
        rand: Callable[[float, float], float] = random.uniform,
        clock: Callable[[], float] = time.time,
        entries: EntryLedger | None = None,
        max_receives: int | None = None,
        replies: Replies | None = None,
    ) -> None:
        self._policy = policy
        self._entries = entries
        self._max_receives = max_receives
        self._replies = replies
        self._token_sources = token_sources
        self._base_url = kintone_base_url
        self._attachments = attachments
        self._uploads = uploads
        self._breaker = breaker or breaker_for(
            kintone_base_url, reset_after=DELIVER_BREAKER_RESET_SECONDS
        )
        self._min_remaining_ms = min_remaining_ms
        self._back_off = Backoff(
            visibility, min_seconds=min_backoff_seconds, rand=rand, clock=clock
        )
        self._clients = ClientsByToken(
            lambda name: client_factory(
                self._base_url, self._token_sources(name), breaker=self._breaker
            )
        )

    # -- public API ----------------------------------------------------------------

    def deliver_record(self, record: SQSRecord | dict[str, Any], lambda_context: Any = None) -> str:
        """Deliver one SQS record; raise to report it as a batch item failure.

        Returns ``recorded`` or ``duplicate`` (already in kintone); for a reply job
        ``sent`` or ``already_sent``.
        """
        if isinstance(record, dict):
            record = SQSRecord(record)
        trail: dict[str, Any] = {"outcome": "failed", "form": None, "receipt": None, "ids": []}
        seen = metrics.MessageScope(metrics.INTAKE_QUEUE, record.attributes.get("SentTimestamp"))
        try:
            message = self._parse(record)
            trail.update(form=message.form, receipt=message.receipt)
            metrics.name_route(form_route(self._policy, message.form))
            if isinstance(message, ReplyJob):
                # Its record exists: whatever becomes of the mail, the seats stay taken.
                trail["reply"] = True
                outcome = self.reply(message, lambda_context)
            else:
                outcome = self.deliver(message, lambda_context, record_ids=trail["ids"])
            trail["outcome"] = outcome
            seen.done(metrics.RECORDED)
            return outcome
        except Exception as exc:
            trail["outcome"] = self._back_off.after_failure(record, exc, "delivery")
            final = last_receive(record, self._max_receives)
            seen.done(metrics.DEAD_LETTERED if final else metrics.RETRIED)
            if trail["receipt"] is not None and not trail.get("reply"):
                self._give_back_if_final(record, trail["form"], trail["receipt"], exc)
            if isinstance(exc, SekishoError):
                raise
            raise SekishoError("delivery crashed") from exc
        finally:
            seen.close()
            audit(
                "deliver",
                route=f"form:{trail['form']}" if trail["form"] else "undeclared",
                # The submission's caller; its intake line (same receipt) says which one.
                caller="anonymous",
                form=trail["form"],
                receipt=trail["receipt"],
                outcome=trail["outcome"],
                record_ids=trail["ids"],
                message_id=record.message_id,
                receive_count=record.attributes.approximate_receive_count,
            )

    def deliver(
        self,
        message: QueuedSubmission,
        lambda_context: Any = None,
        *,
        record_ids: list[str] | None = None,
    ) -> str:
        form = self._form(message)
        if self._breaker.state == "open":
            # kintone failed again and again moments ago: fail fast, touch nothing.
            raise KintoneCircuitOpen("kintone circuit is open")
        self._check_time(lambda_context)
        marker = delivered_marker_key(message.receipt)
        if message.attachments:
            with self._bucket("read"):
                if self._attachments.exists(marker):
                    self._clean_up(message, marker_written=True)
                    self._reply_after_write(form, message, lambda_context)
                    return "duplicate"
        files = self._files(message)
        written = write_submission(
            self._clients(form.token_secret),
            app=form.app,
            receipt_field=form.receipt_field,
            receipt=message.receipt,
            record=message.record,
            files=files,
            before_call=functools.partial(self._check_time, lambda_context),
            record_ids=record_ids,
        )
        if message.attachments:
            self._clean_up(message, marker_written=False)
        if self._entries is not None:
            # Raises when the table fails: the message comes back, finds its record
            # (a duplicate) and marks it then.
            self._entries.mark(message.form, message.receipt, RECORDED)
        # Written now or before: the record exists, so its mail may go (once).
        self._reply_after_write(form, message, lambda_context)
        return "recorded" if written else "duplicate"

    def _give_back_if_final(
        self, record: SQSRecord, form: str, receipt: str, exc: BaseException
    ) -> None:
        """Give the entry's seats back when it will never become a record: kintone (or
        the message itself) refused it, or this receive was the queue's last."""
        if self._entries is None:
            return
        refused = isinstance(exc, SekishoError) and not isinstance(exc, UpstreamUnavailable)
        final = last_receive(record, self._max_receives)
        if not (refused or final):
            return
        reason = exc.code if isinstance(exc, SekishoError) and refused else "dead_lettered"
        try:
            entry = self._entries.read(form, receipt)
            if entry is None or entry.status == RECORDED:
                # Recorded already (the failure came after the write: its mail): a record
                # holds its seats.
                return
            self._entries.release(form, receipt, status=REFUSED, reason=reason)
        except EntriesUnavailable as error:
            # Held, never oversold: the next receive (or a reconcile) gives them back.
            logger.error(
                "seats of a refused entry not given back",
                extra={"form": form, "receipt": receipt, "error": type(error).__name__},
            )

    def reply(self, job: ReplyJob, lambda_context: Any = None) -> str:
        """Send the mail of an entry the intake wrote itself; kintone is not called."""
        try:
            form = self._policy.form(job.form)
        except NotFound:
            raise MalformedMessage("the reply job names a form the policy does not have") from None
        return self._send_reply(form, job, lambda_context)

    # -- steps -----------------------------------------------------------------------

    def _reply_after_write(
        self, form: FormPolicy, message: QueuedSubmission, lambda_context: Any
    ) -> None:
        job = job_for(
            message.form,
            form,
            receipt=message.receipt,
            record=message.record,
            language=message.language,
        )
        if job is not None:
            self._send_reply(form, job, lambda_context)

    def _send_reply(self, form: FormPolicy, job: ReplyJob, lambda_context: Any) -> str:
        if self._replies is None:
            raise ConfigurationError(f"form {job.form!r} has reply: but no mailer is set")
        remaining = None if lambda_context is None else lambda_context.get_remaining_time_in_millis
        return self._replies.send(form, job, remaining)

    @staticmethod
    def _parse(record: SQSRecord) -> QueuedSubmission | ReplyJob:
        body = record.body
        message: QueuedSubmission | ReplyJob = (
            ReplyJob.from_json(body) if is_reply_job(body) else QueuedSubmission.from_json(body)
        )
        attributes = record.raw_event.get("messageAttributes") or {}
        attribute = attributes.get("receipt") if isinstance(attributes, dict) else None
        if attribute is not None and (
            not isinstance(attribute, dict) or attribute.get("stringValue") != message.receipt
        ):
            raise MalformedMessage("the receipt attribute differs from the body's")
        return message

    def _form(self, message: QueuedSubmission) -> FormPolicy:
        try:
            form = self._policy.form(message.form)
        except NotFound:
            raise MalformedMessage("the message names a form the policy does not have") from None
        wrong = undeclared_codes(form, message.record, (a.field for a in message.attachments))
        if wrong:
            # Never written, whatever put them in the message: kintone would store them.
            raise MalformedMessage(f"the message sets fields the form does not declare: {wrong}")
        return form

    def _files(self, message: QueuedSubmission) -> list[FileContent]:
        files: list[FileContent] = []
        for item in message.attachments:
            if item.upload is not None:
                continue
            with self._bucket("read"):
                data = self._attachments.get(item.s3_key)
            if data is None or hashlib.sha256(data).hexdigest() != item.sha256:
                # Gone or altered, and no marker says it was delivered: never write a
                # record with other files than the browser sent.
                raise AttachmentMissing(f"attachment {item.s3_key} is missing or altered")
            files.append(AttachmentFile(item.field, item.filename, item.content_type, data))
        uploads = [item for item in message.attachments if item.upload is not None]
        if uploads:
            if self._uploads is None:
                raise ConfigurationError("a queued submission names uploads: no store is set")
            # Before the first kintone call: a refused upload leaves nothing behind there.
            files.extend(verify_uploads(self._uploads, uploads))
        return files

    def _clean_up(self, message: QueuedSubmission, *, marker_written: bool) -> None:
        """Best effort: the record is in kintone; the lifecycle rule removes leftovers."""
        marker = delivered_marker_key(message.receipt)
        try:
            if not marker_written:
                self._attachments.put(marker, b"")
            self._attachments.delete([a.s3_key for a in message.attachments if a.upload is None])
            uploads = [a.s3_key for a in message.attachments if a.upload is not None]
            if uploads and self._uploads is not None:
                self._uploads.delete(uploads)
        except (ClientError, BotoCoreError) as exc:
            logger.warning(
                "attachments not cleaned up after delivery",
                extra={"receipt": message.receipt, "error_code": aws.error_code(exc)},
            )

    def _check_time(self, lambda_context: Any) -> None:
        if lambda_context is None:
            return
        if lambda_context.get_remaining_time_in_millis() < self._min_remaining_ms:
            raise OutOfTime("too little time left in this invocation")

    @contextlib.contextmanager
    def _bucket(self, action: str) -> Iterator[None]:
        try:
            yield
        except (ClientError, BotoCoreError) as exc:
            raise AttachmentsUnavailable(
                f"the attachment bucket could not {action} ({aws.error_code(exc)})"
            ) from exc
