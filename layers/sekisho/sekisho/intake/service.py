"""Intake: a browser's form submission becomes one kintone record, exactly once.

A submission names a form of the policy (no form, no intake). The relay counts the
client's rate, validates the body against the form (only declared fields, each checked
and normalised), checks the CAPTCHA if the form has one, gives the submission a receipt
(a UUID) and tries kintone once, synchronously, with the form's add-only token: 201
``recorded``. When kintone is unavailable (busy, in maintenance, slow, unreachable, or
the breaker is open) the submission goes to the outbox (attachments to the bucket, the
message to IntakeQueue) and the answer is 202 ``queued`` with the same receipt; the
deliverer writes it later. The receipt field is unique in kintone, so whichever write
comes second — a delivery after a timed-out add, a message delivered twice — is refused
by kintone and counts as done.

The intake path never reads records: it holds an add-only token, and nothing here calls
a read API.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sekisho.audit import audit
from sekisho.browser_route import BrowserRoute, ClientFactory
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

from .errors import CaptchaFailed, IdempotencyKeyReused, RequestInProgress
from .header import check_idempotency_key
from .reply import job_for, language_for, queue_reply
from .request import IntakeRequest
from .timing import AnswerTimes
from .writer import undeclared_codes, write_submission

if TYPE_CHECKING:
    # The outbox (SQS, S3), the idempotency store and the CAPTCHA check arrive built by
    # sekisho.runtime with the service: the function's init does not load them.
    from sekisho.policy import FormPolicy, Policy

    from .captcha import CaptchaVerifier
    from .idempotency import Idempotency
    from .outbox import Outbox

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
# What makes kintone's trouble the outbox's business rather than the browser's.
_QUEUEABLE = (KintoneTransientError, SecretUnavailable, OutOfTime)


@dataclass(frozen=True)
class IntakeResult:
    status_code: int  # 201 recorded, 202 queued
    receipt: str
    status: str

    def body(self) -> dict[str, str]:
        return {"receipt": self.receipt, "status": self.status}


@dataclass
class _Trail:
    """What the audit line says about one submission."""

    outcome: str = "failed"
    receipt: str | None = None
    attachments: int = 0
    replayed: bool = False


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
        )
        self._outbox = outbox
        self._idempotency = idempotency
        self._captcha = captcha
        self._call_reserve_ms = call_reserve_ms
        self._answer_times = answer_times or AnswerTimes()

    def submit(self, request: IntakeRequest) -> IntakeResult:
        started = self._clock()
        trail = _Trail()
        try:
            form = self._policy.form(request.form)
            self._switches.check("forms", request.form, enabled=form.enabled)
            scope = f"{SCOPE_PREFIX}{request.form}"
            if not self._guard.allow_request(scope, request.client_ip, form.guard.per_ip):
                trail.outcome = "rate_limited"
                raise RateLimited("try again later")
            key = check_idempotency_key(request.idempotency_key)
            accept = functools.partial(self._accept, form, request, trail, started)
            if key is None or self._idempotency is None:
                if key is not None:
                    raise ConfigurationError("an Idempotency-Key arrived but no store is set")
                return accept()
            outcome = self._idempotency.run(
                form=request.form,
                key=key,
                body=request.body,
                action=lambda: _as_stored(accept()),
                remaining_ms=request.remaining_ms,
            )
            result = _from_stored(outcome.response)
            if outcome.replayed:
                trail.outcome, trail.receipt, trail.replayed = "replayed", result.receipt, True
            return result
        except NotFound:
            trail.outcome = "unknown_form"
            raise
        except RouteDisabled:
            trail.outcome = "route_disabled"
            raise
        except ValidationFailed:
            trail.outcome = "invalid"
            raise
        except CaptchaFailed:
            trail.outcome = "captcha_failed"
            raise
        except RequestInProgress:
            trail.outcome = "in_progress"
            raise
        except IdempotencyKeyReused:
            trail.outcome = "key_reused"
            raise
        except RouteBudgetExhausted:
            trail.outcome = "budget_exhausted"
            raise
        finally:
            audit(
                "intake",
                route=f"{SCOPE_PREFIX}{request.form}",
                form=request.form,
                outcome=trail.outcome,
                client_ip=request.client_ip,
                receipt=trail.receipt,
                attachments=trail.attachments,
                replayed=trail.replayed,
                duration_ms=round((self._clock() - started) * 1000, 1),
            )

    # -- steps -----------------------------------------------------------------------

    def _accept(
        self, form: FormPolicy, request: IntakeRequest, trail: _Trail, started: float
    ) -> IntakeResult:
        # Validation comes before the CAPTCHA: a token is good once, and a typo in the
        # form must not cost the person a new challenge.
        submission = parse_submission(request.form, form, request.body)
        if form.captcha is not None:
            if self._captcha is None:
                raise ConfigurationError(f"form {request.form!r} declares a CAPTCHA")
            self._captcha.verify(form.captcha, request.captcha_token, request.client_ip)
        if form.guard.budget is not None:
            # A filled honeypot spends it too: its answer must not differ from a real one.
            spend_or_refuse(self._guard, f"{SCOPE_PREFIX}{request.form}", form.guard.budget)
        if submission.honeypot:
            # Answered exactly like a recorded submission, so a bot learns nothing: the
            # same body, after as long as a recorded one takes here.
            trail.outcome = "honeypot"
            remaining = self._answer_times.sample() - (self._clock() - started)
            if remaining > 0:
                self._sleep(remaining)
            return IntakeResult(201, str(uuid.uuid4()), RECORDED)
        wrong = undeclared_codes(form, submission.record, (a.field for a in submission.attachments))
        if wrong:
            raise ConfigurationError(f"form {request.form!r} produced undeclared fields {wrong}")
        receipt = str(uuid.uuid4())
        trail.receipt, trail.attachments = receipt, len(submission.attachments)
        language = language_for(form, request.accept_language)
        try:
            write_submission(
                self._clients(form.token_secret),
                app=form.app,
                receipt_field=form.receipt_field,
                receipt=receipt,
                record=submission.record,
                files=submission.attachments,
                before_call=functools.partial(self._check_time, request),
            )
        except _QUEUEABLE as exc:
            logger.warning(
                "kintone unavailable; queueing the submission",
                extra={"form": request.form, "receipt": receipt, "error": type(exc).__name__}
                | getattr(exc, "log_fields", dict)(),
            )
            self._outbox.put(
                receipt=receipt,
                form=request.form,
                record=submission.record,
                files=submission.attachments,
                language=language,
            )
            trail.outcome = QUEUED
            return IntakeResult(202, receipt, QUEUED)
        except KintoneValidationError as exc:
            # The app disagrees with the policy (a field's type, a limit, a unique
            # field): an operator's problem, not the browser's, so 502 and the paths.
            logger.error(
                "kintone refused a submission the policy accepts",
                extra={"form": request.form, "receipt": receipt} | exc.log_fields(),
            )
            raise
        trail.outcome = RECORDED
        # The record exists: its mail goes through the deliverer, never from here.
        queue_reply(
            self._outbox,
            job_for(
                request.form, form, receipt=receipt, record=submission.record, language=language
            ),
        )
        self._answer_times.record(self._clock() - started)
        return IntakeResult(201, receipt, RECORDED)

    def _check_time(self, request: IntakeRequest) -> None:
        if request.remaining_ms is not None and request.remaining_ms() < self._call_reserve_ms:
            raise OutOfTime("too little time left to wait for kintone")


def _as_stored(result: IntakeResult) -> dict[str, Any]:
    return {"status_code": result.status_code, "receipt": result.receipt, "status": result.status}


def _from_stored(stored: Mapping[str, Any]) -> IntakeResult:
    return IntakeResult(int(stored["status_code"]), str(stored["receipt"]), str(stored["status"]))
