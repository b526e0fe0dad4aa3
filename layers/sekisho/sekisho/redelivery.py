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
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from sekisho import aws
from sekisho.errors import SekishoError, UpstreamUnavailable
from sekisho.safe_traceback import log_unexpected

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

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


# ------------------------------------------------------------------ visibility


def queue_url_from_arn(arn: str) -> str:
    """``arn:aws:sqs:<region>:<account>:<name>`` as the queue's URL (no GetQueueUrl call,
    so the deliverer's role needs no permission for it)."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sqs" or not all(parts[3:]):
        raise ValueError("not an SQS queue ARN")
    partition, region, account, name = parts[1], parts[3], parts[4], parts[5]
    domain = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return f"https://sqs.{region}.{domain}/{account}/{name}"


class VisibilityControl(Protocol):
    def delay(self, event_source_arn: str, receipt_handle: str, seconds: int) -> None:
        """Keep a received message invisible for ``seconds`` from now."""
        ...


class SqsVisibility:
    def __init__(self, client: Any = None) -> None:
        self._client = client

    def delay(self, event_source_arn: str, receipt_handle: str, seconds: int) -> None:
        (self._client or aws.client("sqs")).change_message_visibility(
            QueueUrl=queue_url_from_arn(event_source_arn),
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=seconds,
        )


# SQS takes at most ten entries per ChangeMessageVisibilityBatch.
VISIBILITY_BATCH = 10


class BatchedSqsVisibility(SqsVisibility):
    """Collects a batch's delays and sends them with ChangeMessageVisibilityBatch, ten a
    call, when the handler calls :meth:`flush` (before it answers which records failed):
    a batch that failed together costs one call per ten messages, not one each. The IAM
    action is the same (sqs:ChangeMessageVisibility). A delay that is never flushed (the
    invocation ran out of time) leaves the queue's own visibility timeout in place."""

    def __init__(self, client: Any = None) -> None:
        super().__init__(client)
        self._pending: dict[str, dict[str, int]] = {}

    def delay(self, event_source_arn: str, receipt_handle: str, seconds: int) -> None:
        url = queue_url_from_arn(event_source_arn)
        self._pending.setdefault(url, {})[receipt_handle] = seconds

    def flush(self) -> int:
        """Send the delays collected so far; the number of SQS calls made."""
        pending, self._pending = self._pending, {}
        calls = 0
        for url, delays in pending.items():
            items = list(delays.items())
            for start in range(0, len(items), VISIBILITY_BATCH):
                entries = [
                    {"Id": str(n), "ReceiptHandle": handle, "VisibilityTimeout": seconds}
                    for n, (handle, seconds) in enumerate(items[start : start + VISIBILITY_BATCH])
                ]
                calls += 1
                try:
                    answer = (self._client or aws.client("sqs")).change_message_visibility_batch(
                        QueueUrl=url, Entries=entries
                    )
                except (ClientError, BotoCoreError) as exc:
                    logger.warning(
                        "message visibility not extended",
                        extra={"messages": len(entries), "error": type(exc).__name__},
                    )
                    continue
                failed = answer.get("Failed") or []
                if failed:
                    # The queue's own visibility timeout still applies to these.
                    codes = sorted({str(f.get("Code")) for f in failed})
                    logger.warning(
                        "message visibility not extended",
                        extra={"messages": len(failed), "error": ",".join(codes)},
                    )
        return calls


class InMemoryVisibility:
    """The twin of :class:`SqsVisibility`: remembers each ``(receipt_handle, seconds)``."""

    def __init__(self) -> None:
        self.delays: list[tuple[str, int]] = []

    def delay(self, event_source_arn: str, receipt_handle: str, seconds: int) -> None:
        queue_url_from_arn(event_source_arn)
        self.delays.append((receipt_handle, seconds))


# --------------------------------------------------------------------- backoff


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


def last_receive(record: SQSRecord, max_receives: int | None) -> bool:
    """Whether this receive is the queue's last (its maxReceiveCount): a message that fails
    now is moved to the dead-letter queue."""
    try:
        count = int(record.attributes.approximate_receive_count)
    except (KeyError, TypeError, ValueError):
        return False
    return max_receives is not None and count >= max_receives


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
