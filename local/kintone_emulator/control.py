"""Switches the tests turn (maintenance, limits, faults, collation) and what was counted."""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

DEFAULT_CONCURRENCY = 100  # kintone's limit per domain


# A fault that reaches the client as a broken connection rather than an answer.
RESET = "reset"
TIMEOUT = "timeout"
# Longer than any read timeout of the relay's kintone clients (10 s), so the client, not
# the emulator, ends the wait.
DEFAULT_STALL_MS = 11_000


@dataclass(frozen=True)
class Faults:
    rate_429: float = 0.0
    rate_503: float = 0.0
    latency_ms: int = 0
    seed: int | None = None
    # The request is worked on (a write is stored), then its answer never arrives: the
    # connection is reset at once, or held `stall_ms` and then reset.
    rate_reset: float = 0.0
    rate_timeout: float = 0.0
    stall_ms: int = DEFAULT_STALL_MS

    def as_dict(self) -> dict[str, Any]:
        return {
            "rate_429": self.rate_429,
            "rate_503": self.rate_503,
            "latency_ms": self.latency_ms,
            "seed": self.seed,
            "rate_reset": self.rate_reset,
            "rate_timeout": self.rate_timeout,
            "stall_ms": self.stall_ms,
        }


@dataclass(frozen=True)
class Slot:
    """A kintone request's place in the concurrency count."""

    admitted: bool
    running: int  # including this request
    limit: int


class Controls:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Not part of reset: requests in flight across a reset still leave.
        self._running = 0
        self._admitted = 0
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.maintenance = False
            self.concurrency = DEFAULT_CONCURRENCY
            self.faults = Faults()
            self.fold = False
            self._rng = random.Random()
            self._served: Counter[int] = Counter()
            self._broken: Counter[str] = Counter()
            self._max_running = 0
            self._max_admitted = 0

    def set_faults(self, faults: Faults) -> None:
        with self._lock:
            self.faults = faults
            self._rng = random.Random(faults.seed)

    def enter(self) -> Slot:
        # Rejected requests count too while they are answered, which is how kintone's
        # X-ConcurrencyLimit-Running can read one more than the limit.
        with self._lock:
            self._running += 1
            self._max_running = max(self._max_running, self._running)
            admitted = self._running <= self.concurrency
            if admitted:
                self._admitted += 1
                self._max_admitted = max(self._max_admitted, self._admitted)
            return Slot(admitted, self._running, self.concurrency)

    def leave(self, slot: Slot) -> None:
        with self._lock:
            self._running -= 1
            if slot.admitted:
                self._admitted -= 1

    def draw_fault(self) -> int | None:
        """429 or 503 when a random fault is due, else None."""
        with self._lock:
            draw = self._rng.random()
            if draw < self.faults.rate_503:
                return 503
            if draw < self.faults.rate_503 + self.faults.rate_429:
                return 429
            return None

    def draw_broken_connection(self) -> str | None:
        """RESET or TIMEOUT when the answer is to be lost on its way back, else None."""
        with self._lock:
            rates = self.faults.rate_reset + self.faults.rate_timeout
            if not rates:
                return None
            draw = self._rng.random()
            if draw < self.faults.rate_reset:
                self._broken[RESET] += 1
                return RESET
            if draw < rates:
                self._broken[TIMEOUT] += 1
                return TIMEOUT
            return None

    def count(self, status: int) -> None:
        with self._lock:
            self._served[status] += 1

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": sum(self._served.values()),
                "by_status": {str(status): n for status, n in sorted(self._served.items())},
                # Answers worked out and then lost: connections reset, or stalled then reset.
                "broken": {RESET: self._broken[RESET], TIMEOUT: self._broken[TIMEOUT]},
                "max_concurrent": self._max_running,
                # Requests kintone actually worked on at once (rejected ones excluded).
                "max_admitted": self._max_admitted,
                "running": self._running,
                "concurrency_limit": self.concurrency,
            }

    def settings(self) -> dict[str, Any]:
        with self._lock:
            return {
                "maintenance": self.maintenance,
                "concurrency": self.concurrency,
                "faults": self.faults.as_dict(),
                "fold": self.fold,
            }
