"""Switches the tests turn (maintenance, limits, faults, collation) and what was counted."""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

DEFAULT_CONCURRENCY = 100  # kintone's limit per domain


@dataclass(frozen=True)
class Faults:
    rate_429: float = 0.0
    rate_503: float = 0.0
    latency_ms: int = 0
    seed: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rate_429": self.rate_429,
            "rate_503": self.rate_503,
            "latency_ms": self.latency_ms,
            "seed": self.seed,
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

    def count(self, status: int) -> None:
        with self._lock:
            self._served[status] += 1

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": sum(self._served.values()),
                "by_status": {str(status): n for status, n in sorted(self._served.items())},
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
