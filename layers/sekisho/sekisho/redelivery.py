"""When a queued message that failed is seen again: a wait tied to the message's age.

Shared by the consumers that write to kintone (DeliverFunction on IntakeQueue,
ActionFunction on WebhookQueue): a failed message is put out of sight for a tenth of the
time it has waited so far, so a short maintenance ends with a short wait, and a long
outage costs a few receives an hour instead of hammering kintone.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from sekisho.errors import SekishoError, UpstreamUnavailable
from sekisho.safe_traceback import log_unexpected

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from sekisho.intake.queue import VisibilityControl

logger = logging.getLogger(__name__)

MIN_BACKOFF_SECONDS = 5
MAX_VISIBILITY_SECONDS = 15 * 60
# Tied to the message's age rather than its receive count, the wait stays short while a
# short maintenance ends (the queue drains soon after kintone is back) and grows to the
# 15-minute cap over hours, so a long outage costs four to eight receives an hour and a
# queue's maxReceiveCount (300) is reached after one to two and a half days (the jitter
# decides), well inside its retention: a message ends in the dead-letter queue, never
# expires unseen.
BACKOFF_FRACTION = 0.1


def backoff_seconds(
    age_seconds: float,
    rand: Callable[[float, float], float],
    minimum: float = MIN_BACKOFF_SECONDS,
) -> int:
    """A tenth of ``age_seconds``, at least ``minimum``, at most 15 min; the upper half
    is jittered so messages that failed together do not all come back together."""
    ceiling = min(MAX_VISIBILITY_SECONDS, max(minimum, age_seconds * BACKOFF_FRACTION))
    return max(1, int(ceiling / 2 + rand(0, ceiling / 2)))


def age_seconds(record: SQSRecord, now: float) -> float:
    """How long ago the message was first sent (0 when SQS did not say)."""
    try:
        return max(0.0, now - int(record.attributes.sent_timestamp) / 1000)
    except (TypeError, ValueError):
        return 0.0


class Backoff:
    """Pushes a failed message's next receive out by :func:`backoff_seconds`."""

    def __init__(
        self,
        visibility: VisibilityControl,
        *,
        min_seconds: float = MIN_BACKOFF_SECONDS,
        rand: Callable[[float, float], float] = random.uniform,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._visibility = visibility
        self._min = min_seconds
        self._rand = rand
        self._clock = clock

    def __call__(self, record: SQSRecord) -> None:
        seconds = backoff_seconds(age_seconds(record, self._clock()), self._rand, self._min)
        try:
            self._visibility.delay(record.event_source_arn, record.receipt_handle, seconds)
        except (ClientError, BotoCoreError, ValueError) as exc:
            # The queue's own visibility timeout still applies.
            logger.warning(
                "message visibility not extended",
                extra={"message_id": record.message_id, "error": type(exc).__name__},
            )

    def after_failure(self, record: SQSRecord, exc: BaseException, what: str) -> str:
        """Back a message that failed off and log why, at the level it deserves; the
        outcome for its audit line (``deferred`` when it may pass later, else ``failed``).

        Permanent refusals back off too: they end in the dead-letter queue by redrive
        without hammering anything on the way.
        """
        self(record)
        if not isinstance(exc, SekishoError):
            # A bug: the message fails (and reaches the DLQ in the end), never vanishes.
            # Its type and frames only: the message may quote a header value (a token).
            log_unexpected(logger, f"{what} crashed", exc, message_id=record.message_id)
            return "failed"
        extra = {"message_id": record.message_id, "error": type(exc).__name__}
        extra |= getattr(exc, "log_fields", dict)()
        if isinstance(exc, UpstreamUnavailable):
            logger.warning(f"{what} deferred", extra=extra)
            return "deferred"
        logger.error(f"{what} failed", extra=extra)
        return "failed"
