"""ActionFunction's work: each verified event on WebhookQueue becomes its declared write.

Per SQS record: parse the event, find the one action of its source that takes its type
(none: acknowledged and dropped, audited), check the action's condition on the event
(``when``; unmet: acknowledged and skipped, audited, before kintone or the ledger is
touched), and run the action once per event through a
ledger in the GuardTable (Powertools idempotency, the same mechanism that dedupes
receipt), so a redelivered message is answered from the ledger without touching kintone.
Inside, the event is mapped (pointers, types) and written by :class:`ActionWriter`, whose
receipt field makes kintone itself refuse a second write should the ledger ever forget.

- A refusal (:class:`ActionRefused`: a missing pointer, a bad value, no record) is sent to
  the dead-letter queue at once with its reason and acknowledged: never a retry loop.
- Anything that may pass (kintone busy or down, a concurrent edit, the ledger, a token
  being rotated) backs the message off by its age, like intake's deliveries, and is
  reported as a batch item failure; after the queue's maxReceiveCount it lands in the
  dead-letter queue by redrive.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import BotoCoreError, ClientError

from sekisho import metrics
from sekisho.audit import audit
from sekisho.errors import OutOfTime, SekishoError, UpstreamUnavailable
from sekisho.once import AlreadyRunning, RunOnce, StoreUnavailable
from sekisho.policy.metric_routes import webhook_route
from sekisho.redelivery import Backoff, last_receive

from .condition import SKIPPED, reads_record, unmet_condition
from .dead_letters import DeadLetters
from .errors import (
    ActionInProgress,
    ActionRefused,
    DeadLetterUnavailable,
    LedgerUnavailable,
    RecordGone,
)
from .event import QueuedEvent
from .mapping import map_event
from .writes import DUPLICATE, ActionWriter

if TYPE_CHECKING:
    from sekisho.policy import ActionPolicy, Policy, WebhookPolicy
    from sekisho.webhooks.refetch import Refetcher

logger = logging.getLogger(__name__)

KEY_PREFIX = "sekisho.action"
# Longer than any redelivery: SQS keeps a message 14 days, redrives included.
LEDGER_SECONDS = 14 * 86_400
# An event is started only with this much of the invocation left (a read and a write,
# each with a few quick retries, must finish before Lambda's timeout).
MIN_REMAINING_MS = 15_000


@dataclass
class _Trail:
    """What the audit line says about one record; never a value of the event."""

    message_id: str
    receive_count: str | None
    source: str | None = None
    dedupe_key: str | None = None
    event_type: str | None = None
    action_name: str | None = None
    outcome: str = "failed"
    reason: str | None = None
    field: str | None = None
    # The condition's pointer an event did not meet (skipped_condition), never its value.
    pointer: str | None = None
    # The kintone record written (added or updated), never its values.
    record_ids: list[str] = dataclasses.field(default_factory=list)

    def audit(self) -> None:
        fields = dict(self.__dict__)
        audit(
            "webhook.action",
            route=f"webhook:{self.source}" if self.source else "undeclared",
            caller="webhook",
            outcome=fields.pop("outcome"),
            **fields,
        )


class ActionService:
    def __init__(
        self,
        policy: Policy,
        writer: ActionWriter,
        ledger: RunOnce,
        dead_letters: DeadLetters,
        backoff: Backoff,
        *,
        refetcher: Refetcher | None = None,
        min_remaining_ms: int = MIN_REMAINING_MS,
        max_receives: int | None = None,
    ) -> None:
        self._policy = policy
        # WebhookQueue's maxReceiveCount: a failure on that receive is a dead letter.
        self._max_receives = max_receives
        self._writer = writer
        self._ledger = ledger
        self._dead_letters = dead_letters
        self._back_off = backoff
        self._refetcher = refetcher
        self._min_remaining_ms = min_remaining_ms

    # -- public API ----------------------------------------------------------------

    def apply_record(self, record: SQSRecord | dict[str, Any], lambda_context: Any = None) -> str:
        """Apply one SQS record; raise to report it as a batch item failure.

        Returns ``applied``, ``duplicate``, ``dropped`` (no action takes it),
        ``skipped_condition`` (the action's condition does not hold) or ``dead_lettered``
        (refused, now on the dead-letter queue).
        """
        if isinstance(record, dict):
            record = SQSRecord(record)
        trail = _Trail(record.message_id, record.attributes.approximate_receive_count)
        seen = metrics.MessageScope(metrics.WEBHOOK_QUEUE, record.attributes.get("SentTimestamp"))
        try:
            try:
                event = QueuedEvent.from_message(
                    record.body, record.raw_event.get("messageAttributes")
                )
                trail.source, trail.dedupe_key = event.source, event.dedupe_key
                trail.event_type = event.event_type
                metrics.name_route(webhook_route(self._policy, event.source))
                trail.outcome = self.apply(event, trail, lambda_context)
            except ActionRefused as exc:
                trail.reason, trail.field = exc.reason, exc.field
                self._dead_letter(record, trail)
                trail.outcome = "dead_lettered"
                logger.warning("event refused", extra={"reason": exc.reason, "detail": exc.detail})
            # Dropped and skipped events are done with too: acknowledged, nothing to write.
            dead = trail.outcome == "dead_lettered"
            seen.done(metrics.DEAD_LETTERED if dead else metrics.RECORDED)
            return trail.outcome
        except Exception as exc:
            trail.reason = type(exc).__name__
            # Deferred (may pass later) or failed: a token or configuration problem an
            # operator can fix is retried too, never dropped.
            trail.outcome = self._back_off.after_failure(record, exc, "action")
            final = last_receive(record, self._max_receives)
            seen.done(metrics.DEAD_LETTERED if final else metrics.RETRIED)
            if isinstance(exc, SekishoError):
                raise
            raise SekishoError("action crashed") from exc
        finally:
            seen.close()
            trail.audit()

    def apply(self, event: QueuedEvent, trail: _Trail, lambda_context: Any = None) -> str:
        hook = self._policy.webhooks.get(event.source)
        found = hook.action_for(event.event_type) if hook is not None else None
        if hook is None or found is None:
            # Acknowledged: an event nothing is declared for stays unanswered forever.
            trail.reason = "unknown_source" if hook is None else "no_action"
            return "dropped"
        trail.action_name, action = found
        self._check_time(lambda_context)
        if action.when is not None:
            if event.refetched is False and reads_record(action):
                # Queued while kintone was down, without its record, and the condition
                # reads it: read it now with the source's view-only refetch token, the
                # read the write would make anyway. Deciding without it would skip an
                # event that may hold (or write one that may not); nothing is written
                # and no ledger entry made until the condition holds.
                event = self._read_record(hook, event)
            unmet = unmet_condition(action, event.document())
            if unmet is not None:
                # Acknowledged, not refused: the sender did nothing wrong, and a retry of
                # the same event would be skipped the same way.
                trail.pointer, trail.reason = unmet.pointer, unmet.reason
                return SKIPPED

        def run() -> dict[str, Any]:
            return {"outcome": self._write(hook, action, event, trail.record_ids)}

        remaining = lambda_context.get_remaining_time_in_millis if lambda_context else None
        try:
            outcome = self._ledger.run(key=event.ledger_key, action=run, remaining_ms=remaining)
        except AlreadyRunning as exc:
            raise ActionInProgress("the same event is being applied") from exc
        except StoreUnavailable as exc:
            raise LedgerUnavailable("the action ledger failed") from exc
        return DUPLICATE if outcome.replayed else str(outcome.response["outcome"])

    # -- steps -----------------------------------------------------------------------

    def _write(
        self, hook: WebhookPolicy, action: ActionPolicy, event: QueuedEvent, record_ids: list[str]
    ) -> str:
        if event.refetched is False:
            event = self._read_record(hook, event)
        types = self._policy.apps[action.app].fields
        write = map_event(action, types, event.document())
        return self._writer.apply(
            action, types, write, receipt=event.ledger_key, record_ids=record_ids
        )

    def _read_record(self, hook: WebhookPolicy, event: QueuedEvent) -> QueuedEvent:
        """kintone was down when the event arrived: read its record now, as receipt would."""
        if self._refetcher is None or hook.refetch is None:
            raise RecordGone("the event carries no record and none can be read")
        try:
            found = self._refetcher.event(hook.refetch, event.notification())
        except SekishoError as exc:
            if isinstance(exc, UpstreamUnavailable):
                raise
            raise RecordGone("the event's record is not there to read") from exc
        if not found.get("refetched"):
            raise UpstreamUnavailable("kintone could not be read for the event's record")
        return event.with_record(found.get("record"))

    def _dead_letter(self, record: SQSRecord, trail: _Trail) -> None:
        fields = {
            "reason": trail.reason,
            "source": trail.source,
            "dedupe_key": trail.dedupe_key,
            "action": trail.action_name,
            "field": trail.field,
        }
        try:
            self._dead_letters.send(record.body, fields)
        except (ClientError, BotoCoreError) as exc:
            raise DeadLetterUnavailable("the dead-letter queue refused the event") from exc

    def _check_time(self, lambda_context: Any) -> None:
        if lambda_context is None:
            return
        if lambda_context.get_remaining_time_in_millis() < self._min_remaining_ms:
            raise OutOfTime("too little time left in this invocation")
