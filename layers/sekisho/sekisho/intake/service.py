"""Intake: a browser's form submission becomes one kintone record, exactly once.

A submission names a form of the policy (no form, no intake). The relay counts the
client's rate, validates the body against the form (only declared fields, each checked
and normalised), checks the CAPTCHA if the form has one, gives the submission a receipt
(a short one people can read aloud, :mod:`.receipts`) and tries kintone once,
synchronously, with the form's add-only token: 201 ``recorded``. When kintone is
unavailable (busy, in maintenance, slow, unreachable, or the breaker is open) the
submission goes to the outbox (attachments to the bucket, the message to IntakeQueue)
and the answer is 202 ``queued`` with the same receipt; the deliverer writes it later.
The receipt field is unique in kintone, so whichever write comes second — a delivery
after a timed-out add, a message delivered twice — is refused by kintone and counts as
done. On the synchronous path the receipt was drawn a moment
ago, so a unique violation there is a clash with another record's receipt: a new one is
drawn and the add tried again, never a second record.

A retry with the same Idempotency-Key and body is answered from the stored answer before
anything is counted: a client retrying after a lost connection is not refused for its own
first request.

The intake path never reads records: it holds an add-only token, and nothing here calls
a read API.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sekisho.access.errors import RouteNotOpen
from sekisho.audit import audit
from sekisho.browser_route import BrowserRoute, ClientFactory
from sekisho.entries.errors import CapacityFull
from sekisho.errors import (
    ConfigurationError,
    NotFound,
    OutOfTime,
    RateLimited,
    RouteBudgetExhausted,
    RouteDisabled,
    ValidationFailed,
)
from sekisho.forms import parse_submission
from sekisho.guard.budget import spend_or_refuse
from sekisho.guard.guard import Guard
from sekisho.kintone.client import KintoneClient, Timeouts, TokenSource
from sekisho.kintone.errors import KintoneTransientError, KintoneValidationError
from sekisho.kintone.retry import NO_RETRY
from sekisho.secrets.errors import SecretUnavailable
from sekisho.switches import RouteSwitches

from .entries import IntakeEntries, marked
from .errors import CaptchaFailed, IdempotencyKeyReused, ReceiptClash, RequestInProgress
from .header import check_idempotency_key
from .idempotency import body_digest
from .receipts import new_receipt, retried_receipt
from .reply import job_for, language_for, queue_reply
from .request import IntakeRequest
from .result import IntakeResult
from .timing import AnswerTimes
from .uploads import checked_uploads, queue_with_uploads
from .writer import undeclared_codes, write_submission

if TYPE_CHECKING:
    # The outbox (SQS, S3), the idempotency store and the CAPTCHA check arrive built by
    # sekisho.runtime with the service: the function's init does not load them.
    from sekisho.entries.ledger import EntryLedger
    from sekisho.policy import FormPolicy, Policy

    from .captcha import CaptchaVerifier
    from .idempotency import Idempotency
    from .outbox import Outbox
    from .upload_objects import UploadObjects

logger = logging.getLogger(__name__)

RECORDED = "recorded"
QUEUED = "queued"
# Every guard counter of a form is keyed "form:<name>#...": the intake role's IAM
# condition (template.yaml) admits only keys with this prefix.
SCOPE_PREFIX = "form:"
# The intake function answers within seconds (its Lambda timeout is about 10 s): a
# kintone call that cannot finish in time is not started, the submission is queued.
INTAKE_TIMEOUTS = Timeouts(connect=2.0, read=4.0)
# Time kept back for the outbox after the last kintone call may have timed out.
OUTBOX_RESERVE_MS = 2_000
# Fresh receipts tried against kintone before giving up: a clash is about one in 10**9
# per submission, so a third one in a row means the receipt field is not what it seems.
RECEIPT_ATTEMPTS = 3
# What makes kintone's trouble the outbox's business rather than the browser's.
_QUEUEABLE = (KintoneTransientError, SecretUnavailable, OutOfTime)


# What the audit line says of a submission refused with one of these.
_OUTCOMES: tuple[tuple[type[Exception], str], ...] = (
    (NotFound, "unknown_form"),
    (RouteDisabled, "route_disabled"),
    (ValidationFailed, "invalid"),
    (CaptchaFailed, "captcha_failed"),
    (RequestInProgress, "in_progress"),
    (IdempotencyKeyReused, "key_reused"),
    (RouteBudgetExhausted, "budget_exhausted"),
    (CapacityFull, "capacity_full"),
)
_OUTCOME_ERRORS = tuple(kind for kind, _ in _OUTCOMES)


@dataclass
class _Trail:
    """What the audit line says about one submission."""

    outcome: str = "failed"
    receipt: str | None = None
    attachments: int = 0
    replayed: bool = False
    record_ids: list[str] = field(default_factory=list)


def _default_client(base_url: str, token: TokenSource) -> KintoneClient:
    # Tried once: a retry would hold the browser while the queue can do it later.
    return KintoneClient(base_url, token, retry=NO_RETRY, timeouts=INTAKE_TIMEOUTS)


class IntakeService(BrowserRoute):
    def __init__(
        self,
        policy: Policy,
        token_sources: Callable[[str], TokenSource],
        guard: Guard,
        kintone_base_url: str,
        *,
        outbox: Outbox,
        idempotency: Idempotency | None = None,
        captcha: CaptchaVerifier | None = None,
        client_factory: ClientFactory = _default_client,
        switches: RouteSwitches | None = None,
        call_reserve_ms: int = int((INTAKE_TIMEOUTS.connect + INTAKE_TIMEOUTS.read) * 1000)
        + OUTBOX_RESERVE_MS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        answer_times: AnswerTimes | None = None,
        entries: EntryLedger | None = None,
        wall: Callable[[], float] = time.time,
        uploads: UploadObjects | None = None,
    ) -> None:
        super().__init__(
            policy,
            token_sources,
            guard,
            kintone_base_url,
            client_factory=client_factory,
            switches=switches,
            clock=clock,
            sleep=sleep,
            wall=wall,
        )
        self._outbox = outbox
        self._idempotency = idempotency
        self._captcha = captcha
        self._call_reserve_ms = call_reserve_ms
        self._answer_times = answer_times or AnswerTimes()
        # Late-bound: a test may replace _new_receipt on the instance.
        self._seats = IntakeEntries(entries, lambda: self._new_receipt())  # noqa: PLW0108
        self._uploads = uploads

    def submit(self, request: IntakeRequest) -> IntakeResult:
        started = self._clock()
        trail = _Trail()
        try:
            form = self._policy.form(request.form)
            self._switches.check("forms", request.form, enabled=form.enabled)
            self._check_when(form.when, request.client_ip)
            replayed = self._replay_or_count(form, request, trail)
            if replayed is not None:
                return replayed
            key = check_idempotency_key(request.idempotency_key)
            # Every try of one submission (form, key, body) gets the same first receipt.
            first = key and retried_receipt(request.form, key, body_digest(request.body))
            accept = functools.partial(self._accept, form, request, trail, started, first)
            if key is None or self._idempotency is None:
                if key is not None:
                    raise ConfigurationError("an Idempotency-Key arrived but no store is set")
                return accept()
            outcome = self._idempotency.run(
                form=request.form,
                key=key,
                body=request.body,
                action=lambda: accept().stored(),
                remaining_ms=request.remaining_ms,
            )
            result = IntakeResult.from_stored(outcome.response)
            if outcome.replayed:
                trail.outcome, trail.receipt, trail.replayed = "replayed", result.receipt, True
            return result
        except RouteNotOpen as exc:
            trail.outcome = exc.outcome
            raise
        except _OUTCOME_ERRORS as exc:
            trail.outcome = next(o for kind, o in _OUTCOMES if isinstance(exc, kind))
            raise
        finally:
            audit(
                "intake",
                route=f"{SCOPE_PREFIX}{request.form}",
                form=request.form,
                outcome=trail.outcome,
                caller="partner" if request.partner else "anonymous",
                partner=request.partner,
                client_ip=request.client_ip,
                receipt=trail.receipt,
                record_ids=trail.record_ids,
                attachments=trail.attachments,
                replayed=trail.replayed,
                duration_ms=round((self._clock() - started) * 1000, 1),
            )

    # -- steps -----------------------------------------------------------------------

    def _replay_or_count(
        self, form: FormPolicy, request: IntakeRequest, trail: _Trail
    ) -> IntakeResult | None:
        """A replay's stored answer, uncounted; otherwise the request counts against the
        client's rate (RateLimited past it) and None lets it through."""
        replayed = self._replay(request)
        if replayed is not None:
            trail.outcome, trail.receipt, trail.replayed = "replayed", replayed.receipt, True
            return replayed
        scope = f"{SCOPE_PREFIX}{request.form}"
        counted = request.partner is None
        if counted and not self._guard.allow_request(scope, request.client_ip, form.guard.per_ip):
            trail.outcome = "rate_limited"
            raise RateLimited("try again later")
        return None

    def _replay(self, request: IntakeRequest) -> IntakeResult | None:
        """The stored answer of an earlier request with the same key and body, read
        before the request is counted; None sends the request the usual way (counted)."""
        if self._idempotency is None or request.idempotency_key is None:
            return None
        try:
            key = check_idempotency_key(request.idempotency_key)
        except ValidationFailed:
            return None  # refused after it is counted, as any bad request is
        if key is None:
            return None
        stored = self._idempotency.replay(form=request.form, key=key, body=request.body)
        return None if stored is None else IntakeResult.from_stored(stored)

    def _new_receipt(self) -> str:
        """A receipt for a submission about to be written (the one place receipts are
        drawn, so that reserving each one first can wrap it)."""
        return new_receipt()

    def _accept(
        self,
        form: FormPolicy,
        request: IntakeRequest,
        trail: _Trail,
        started: float,
        first: str | None,
    ) -> IntakeResult:
        # Validation comes before the CAPTCHA: a token is good once, and a typo in the
        # form must not cost the person a new challenge.
        submission = parse_submission(request.form, form, request.body)
        uploads = checked_uploads(self._uploads, request.form, form, submission.uploads)
        self._admit(form, request)
        if submission.honeypot:
            trail.outcome = "honeypot"
            return self._answer_honeypot(form, request, started)
        files = [a.field for a in submission.attachments] + [u.field for u in uploads]
        wrong = undeclared_codes(form, submission.record, files)
        if wrong:
            raise ConfigurationError(f"form {request.form!r} produced undeclared fields {wrong}")
        # The seats (and the receipt) are taken before kintone is called or the outbox
        # is written: two submissions for the last seat cannot both be accepted.
        receipt, waitlisted = self._seats.open(request.form, form, submission.record, first=first)
        record = marked(form, submission.record, waitlisted)
        trail.receipt, trail.attachments = receipt, len(submission.attachments) + len(uploads)
        if uploads:
            # The deliverer moves a direct upload's bytes (up to 100 MB each): never on
            # the browser's clock.
            with self._seats.given_back_on_failure(request.form, receipt, "not_queued"):
                queue_with_uploads(
                    self._uploads,
                    self._outbox,
                    form_name=request.form,
                    form=form,
                    receipt=receipt,
                    submission=dataclasses.replace(submission, record=dict(record)),
                    uploads=uploads,
                )
            trail.outcome = QUEUED
            return IntakeResult(202, receipt, QUEUED, waitlisted)
        language = language_for(form, request.accept_language)
        try:
            for attempt in range(1, RECEIPT_ATTEMPTS + 1):
                if write_submission(
                    self._clients(form.token_secret),
                    app=form.app,
                    receipt_field=form.receipt_field,
                    receipt=receipt,
                    record=record,
                    files=submission.attachments,
                    before_call=functools.partial(self._check_time, request),
                    record_ids=trail.record_ids,
                ):
                    break
                if receipt == first:
                    # The receipt this submission derives on every try: an earlier try
                    # wrote the record and its worker died before the answer was stored.
                    logger.info(
                        "an earlier try of this submission wrote it",
                        extra={"form": request.form, "receipt": receipt},
                    )
                    break
                # Not "already written": the entries table gave this receipt to no other
                # submission, so a record made outside the relay holds it. Files are
                # uploaded again; the unattached keys of this attempt lapse in kintone.
                logger.warning(
                    "the receipt is another record's; drawing a new one",
                    extra={"form": request.form, "receipt": receipt, "attempt": attempt},
                )
                if attempt == RECEIPT_ATTEMPTS:
                    raise ReceiptClash(f"{RECEIPT_ATTEMPTS} fresh receipts were all taken")
                self._seats.give_back(request.form, receipt, "receipt_clash")
                receipt, waitlisted = self._seats.open(request.form, form, submission.record)
                record = marked(form, submission.record, waitlisted)
                trail.receipt = receipt
        except _QUEUEABLE as exc:
            logger.warning(
                "kintone unavailable; queueing the submission",
                extra={"form": request.form, "receipt": receipt, "error": type(exc).__name__}
                | getattr(exc, "log_fields", dict)(),
            )
            with self._seats.given_back_on_failure(request.form, receipt, "not_queued"):
                self._outbox.put(
                    receipt=receipt,
                    form=request.form,
                    record=record,
                    files=submission.attachments,
                    language=language,
                )
            trail.outcome = QUEUED
            return IntakeResult(202, receipt, QUEUED, waitlisted)
        except KintoneValidationError as exc:
            # The app disagrees with the policy (a field's type, a limit, a unique
            # field): an operator's problem, not the browser's, so 502 and the paths.
            logger.error(
                "kintone refused a submission the policy accepts",
                extra={"form": request.form, "receipt": receipt} | exc.log_fields(),
            )
            self._seats.give_back(request.form, receipt, "kintone_refused")
            raise
        except BaseException:
            self._seats.give_back(request.form, receipt, "not_accepted")
            raise
        self._seats.recorded(request.form, receipt)
        trail.outcome = RECORDED
        # The record exists: its mail goes through the deliverer, never from here.
        queue_reply(
            self._outbox,
            job_for(
                request.form, form, receipt=receipt, record=submission.record, language=language
            ),
        )
        self._answer_times.record(self._clock() - started)
        return IntakeResult(201, receipt, RECORDED, waitlisted)

    def _admit(self, form: FormPolicy, request: IntakeRequest) -> None:
        """The CAPTCHA, then the form's kintone budget."""
        if form.captcha is not None and request.partner is None:
            if self._captcha is None:
                raise ConfigurationError(f"form {request.form!r} declares a CAPTCHA")
            self._captcha.verify(form.captcha, request.captcha_token, request.client_ip)
        if form.guard.budget is not None:
            # A filled honeypot spends it too: its answer must not differ from a real one.
            spend_or_refuse(self._guard, f"{SCOPE_PREFIX}{request.form}", form.guard.budget)

    def _answer_honeypot(
        self, form: FormPolicy, request: IntakeRequest, started: float
    ) -> IntakeResult:
        """Answered exactly like a recorded submission, so a bot learns nothing: the same
        body, after as long as a recorded one takes here. Its receipt is followed like any
        other (GET .../receipts/{receipt}), and holds no seat."""
        receipt, _ = self._seats.open(request.form, form, None, status=RECORDED)
        remaining = self._answer_times.sample() - (self._clock() - started)
        if remaining > 0:
            self._sleep(remaining)
        return IntakeResult(201, receipt, RECORDED)

    def _check_time(self, request: IntakeRequest) -> None:
        if request.remaining_ms is not None and request.remaining_ms() < self._call_reserve_ms:
            raise OutOfTime("too little time left to wait for kintone")
