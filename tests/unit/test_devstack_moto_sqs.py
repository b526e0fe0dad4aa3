"""moto's SQS as the local stack fits it: every call on a queue's messages under one lock,
long polls waiting outside it, and the retention check reading one attribute."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from devstack import moto_sqs


class FakeQueue:
    def __init__(self, backend: FakeBackend) -> None:
        self.backend = backend
        self.message_retention_period = "60"
        self.waits: list[tuple[float, bool]] = []

    def wait_for_messages(self, timeout: float) -> None:
        self.waits.append((timeout, self.backend.lock_held()))
        time.sleep(min(timeout, 0.01))


class FakeBackend:
    """The shape of moto's SQSBackend that `fit` patches, recording how it is called."""

    lock: threading.RLock | None = None

    def __init__(self, answers: list[list[str]]) -> None:
        self.answers = answers
        self.calls: list[tuple[int, bool]] = []
        self.queue = FakeQueue(self)

    def lock_held(self) -> bool:
        # An RLock held by another thread cannot be taken from here.
        result: list[bool] = []
        probe = threading.Thread(target=lambda: result.append(not self._take_and_give()))
        probe.start()
        probe.join()
        return result[0]

    def _take_and_give(self) -> bool:
        lock = type(self).lock
        if lock.acquire(blocking=False):
            lock.release()
            return True
        return False

    def get_queue(self, name: str) -> FakeQueue:
        return self.queue

    def receive_message(
        self, queue_name, count, wait_seconds_timeout, visibility_timeout, names=None
    ):
        self.calls.append((wait_seconds_timeout, self.lock_held()))
        return self.answers.pop(0) if self.answers else []

    def get_queue_attributes(self, queue_name, names):
        return {"held": self.lock_held()}

    send_message = send_message_batch = delete_message = delete_message_batch = get_queue_attributes
    change_message_visibility = change_message_visibility_batch = purge_queue = get_queue_attributes

    def is_message_valid_based_on_retention_period(self, queue_name, message):
        raise AssertionError("replaced by fit")


def fitted(answers: list[list[str]], now: float = 1_000.0) -> FakeBackend:
    backend_class = type("Backend", (FakeBackend,), {})
    backend_class.lock = moto_sqs.fit(backend_class, lambda: now)
    return backend_class(answers)


def test_a_receive_passes_once_without_waiting_and_holds_the_lock_for_that_pass():
    backend = fitted([["m1"]])

    assert backend.receive_message("q", 10, 20, 30) == ["m1"]
    assert backend.calls == [(0, True)]


def test_a_long_poll_waits_outside_the_lock_until_a_message_comes():
    backend = fitted([[], [], ["m1"]])

    assert backend.receive_message("q", 10, 5, 30) == ["m1"]
    assert [wait for wait, _ in backend.calls] == [0, 0, 0]
    assert backend.queue.waits
    assert not any(held for _, held in backend.queue.waits)


def test_a_long_poll_with_nothing_to_give_ends_at_its_wait_time():
    backend = fitted([])
    started = time.monotonic()

    assert backend.receive_message("q", 10, 1, 30) == []
    assert 1 <= time.monotonic() - started < 3


def test_a_receive_without_a_wait_passes_once():
    backend = fitted([])

    assert backend.receive_message("q", 10, 0, 30) == []
    assert len(backend.calls) == 1
    assert backend.queue.waits == []


def test_every_call_that_reads_or_changes_messages_holds_the_lock():
    backend = fitted([])

    for name in moto_sqs.LOCKED:
        assert getattr(backend, name)("q", []) == {"held": True}, name


def test_a_message_is_kept_until_its_retention_period_ends():
    backend = fitted([], now=1_000.0)
    # Sent 59 s and 60 s ago, retained for 60 s.
    fresh, old = SimpleNamespace(sent_timestamp=941_000), SimpleNamespace(sent_timestamp=940_000)

    assert backend.is_message_valid_based_on_retention_period("q", fresh) is True
    assert backend.is_message_valid_based_on_retention_period("q", old) is False
