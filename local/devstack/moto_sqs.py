"""moto's SQS, fitted for pollers that overlap, as the local stack's pumps do (moto process only).

Two things in moto's SQS backend stop a queue from draining at the rate Lambda's pollers
would drain it:

- it is not thread-safe: a receive walks a queue's set of in-flight messages while a
  delete or a visibility change of another thread alters it ("Set changed size during
  iteration"), and the messages that receive had marked come back only after their
  visibility timeout;
- every message a receive hands out is checked against the queue's retention period by
  rebuilding all the queue's attributes, three counts over every message among them:
  with a backlog of thousands, one receive took half a second.

So every call that reads or changes a queue's messages takes one lock, a long poll waits
outside it (on the queue's own condition, which a send notifies), and the retention check
reads the one attribute it needs. What each call answers is unchanged.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any

# The backend's calls that read or change a queue's messages; receive_message is below.
LOCKED = (
    "send_message",
    "send_message_batch",
    "delete_message",
    "delete_message_batch",
    "change_message_visibility",
    "change_message_visibility_batch",
    "purge_queue",
    "get_queue_attributes",
)


def _locked(method: Callable[..., Any], lock: threading.RLock) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return method(*args, **kwargs)

    return call


def fit(backend_class: type, unix_time: Callable[[], float]) -> threading.RLock:
    """Patch moto's SQSBackend (`backend_class`) in this process; the lock is returned."""
    lock = threading.RLock()
    for name in LOCKED:
        setattr(backend_class, name, _locked(getattr(backend_class, name), lock))
    receive = backend_class.receive_message

    @functools.wraps(receive)
    def receive_message(  # noqa: PLR0917 - moto's own signature
        self: Any,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list[Any]:
        deadline = time.monotonic() + (wait_seconds_timeout or 0)
        while True:
            with lock:
                # One pass, no waiting: the lock is never held through a long poll.
                messages = receive(
                    self, queue_name, count, 0, visibility_timeout, message_attribute_names
                )
            remaining = deadline - time.monotonic()
            if messages or remaining <= 0:
                return messages
            self.get_queue(queue_name).wait_for_messages(min(1.0, remaining))

    def is_message_valid_based_on_retention_period(
        self: Any, queue_name: str, message: Any
    ) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return retention + message.sent_timestamp / 1000 > unix_time()

    backend_class.receive_message = receive_message
    backend_class.is_message_valid_based_on_retention_period = (
        is_message_valid_based_on_retention_period
    )
    return lock
