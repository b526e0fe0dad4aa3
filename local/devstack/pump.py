"""Lambda's SQS event source mapping, on this machine: poll a queue, invoke the function with
a batch, delete the messages that did not fail.

What a failed message does next is the queue's business, as in AWS: it becomes visible
again once its visibility timeout ends, and moto moves it to the dead-letter queue when a
receive would exceed the RedrivePolicy's maxReceiveCount.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .pool import Invocation, Outcome
from .sam import SqsSource
from .sqs_event import failed_message_ids, sqs_event

log = logging.getLogger(__name__)

# A long poll short enough that stopping the stack never waits long for it.
POLL_WAIT_SECONDS = 1
# ReceiveMessage's and DeleteMessageBatch's limit.
MAX_MESSAGES_PER_CALL = 10
_IDLE_PAUSE = 0.2

Invoke = Callable[[dict[str, Any], str], Invocation]


@dataclass(frozen=True)
class BatchOutcome:
    """What one batch came to; message ids only, never bodies."""

    queue: str
    function: str
    received: tuple[str, ...]
    deleted: tuple[str, ...]
    failed: tuple[str, ...]
    invocation: Outcome | None  # None when the queue had nothing to give


class SqsPump:
    """One event source mapping: a poller that starts up to `concurrency` batches at once."""

    def __init__(self, source: SqsSource, queue_url: str, sqs: Any, invoke: Invoke) -> None:
        self.source = source
        self.queue_url = queue_url
        self._sqs = sqs
        self._invoke = invoke
        self._slots = threading.BoundedSemaphore(source.concurrency)
        # NOTE: moto's ReceiveMessage is not atomic: two concurrent calls can both take a
        # message that SQS would hand to one poller only.
        self._receiving = threading.Lock()
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._executor: ThreadPoolExecutor | None = None

    def once(self, wait_seconds: int = POLL_WAIT_SECONDS) -> BatchOutcome:
        """One batch, now: a single ReceiveMessage (no batching window), for tests."""
        with self._slots:
            return self._process(self._receive(0, wait_seconds))

    def start(self) -> None:
        self._executor = ThreadPoolExecutor(
            self.source.concurrency, thread_name_prefix=f"pump-{self.source.function}"
        )
        self._poller = threading.Thread(
            target=self._poll,
            args=(self._executor,),
            name=f"poll-{self.source.queue_name}",
            daemon=True,
        )
        self._poller.start()

    def stop(self) -> None:
        """Stop polling; batches already handed to the function finish first."""
        self._stop.set()
        if self._poller is not None:
            self._poller.join()
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    def _poll(self, executor: ThreadPoolExecutor) -> None:
        while not self._stop.is_set():
            # A slot first: a message received while every slot is busy would only sit
            # in flight with its visibility timeout running.
            if not self._slots.acquire(timeout=POLL_WAIT_SECONDS):
                continue
            try:
                batch = self._receive(self.source.window, POLL_WAIT_SECONDS)
            except (BotoCoreError, ClientError) as exc:
                self._slots.release()
                log.warning("polling %s failed: %s", self.source.queue_name, exc)
                self._stop.wait(POLL_WAIT_SECONDS)
                continue
            if not batch:
                self._slots.release()
                continue
            executor.submit(self._process, batch).add_done_callback(self._finished)

    def _finished(self, future: Future[BatchOutcome]) -> None:
        self._slots.release()
        error = future.exception()
        if error is not None:
            log.error("a batch from %s failed in the pump", self.source.queue_name, exc_info=error)

    def _receive(self, window: float, wait_seconds: int) -> list[dict[str, Any]]:
        """Up to BatchSize messages: what one long poll brings, then, within the batching
        window, whatever more arrives."""
        batch = self._receive_call(self.source.batch_size, wait_seconds)
        deadline = time.monotonic() + window
        while batch and len(batch) < self.source.batch_size and not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            more = self._receive_call(
                self.source.batch_size - len(batch), min(POLL_WAIT_SECONDS, int(remaining))
            )
            batch += more
            if not more and remaining < 1:
                self._stop.wait(min(remaining, _IDLE_PAUSE))
        return batch

    def _receive_call(self, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        with self._receiving:
            answer = self._sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(count, MAX_MESSAGES_PER_CALL),
                WaitTimeSeconds=wait_seconds,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
        return list(answer.get("Messages") or [])

    def _process(self, messages: Sequence[Mapping[str, Any]]) -> BatchOutcome:
        received = tuple(str(message["MessageId"]) for message in messages)
        if not messages:
            return BatchOutcome(self.source.queue_name, self.source.function, (), (), (), None)
        # Lambda's request id is its own for every invocation.
        invocation = self._invoke(sqs_event(messages, self.source.queue_arn), str(uuid.uuid4()))
        if invocation.outcome is not Outcome.OK:
            # An error, a crash or a timeout: Lambda deletes nothing of the batch.
            failed = set(received)
        elif self.source.report_failures:
            failed = failed_message_ids(invocation.result, received)
        else:
            failed = set()
        deleted = self._delete([m for m in messages if m["MessageId"] not in failed])
        log.info(
            "%s -> %s: %d received, %d deleted, %d failed (%s)",
            self.source.queue_name,
            self.source.function,
            len(received),
            len(deleted),
            len(failed),
            invocation.outcome.value,
        )
        return BatchOutcome(
            queue=self.source.queue_name,
            function=self.source.function,
            received=received,
            deleted=deleted,
            failed=tuple(message_id for message_id in received if message_id in failed),
            invocation=invocation.outcome,
        )

    def _delete(self, messages: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
        deleted: list[str] = []
        for start in range(0, len(messages), MAX_MESSAGES_PER_CALL):
            chunk = messages[start : start + MAX_MESSAGES_PER_CALL]
            entries = [
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                for index, message in enumerate(chunk)
            ]
            try:
                answer = self._sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except (BotoCoreError, ClientError) as exc:
                # Not lost: they are delivered again after their visibility timeout.
                log.warning("deleting from %s failed: %s", self.source.queue_name, exc)
                continue
            done = {entry["Id"] for entry in answer.get("Successful") or []}
            deleted += [
                str(message["MessageId"])
                for index, message in enumerate(chunk)
                if str(index) in done
            ]
        return tuple(deleted)
