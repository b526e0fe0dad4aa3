"""When and how long to wait before trying kintone again.

urllib3's ``Retry`` decides by HTTP status alone, but kintone's database lock (GAIA_DA02)
is an HTTP 400 and an invalid token once came back as HTTP 520, so the decision is made
on the typed exception instead, and the whole call is bounded by a time budget as well as
an attempt count.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay: float = 0.2  # seconds, first backoff ceiling
    max_delay: float = 2.0  # seconds, ceiling for any one wait
    budget: float = 8.0  # seconds for all attempts and waits together
    rand: Callable[[float, float], float] = field(default=random.uniform, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.base_delay, self.max_delay, self.budget) < 0:
            raise ValueError("delays and budget must not be negative")

    def delay(self, failed_attempts: int) -> float:
        """Full jitter: uniform in [0, min(max_delay, base * 2**(n-1))].

        Spreading waits over the whole range keeps many containers that failed together
        from retrying together, which matters when kintone refuses past 100 concurrent
        requests for the whole domain.
        """
        ceiling = min(self.max_delay, self.base_delay * (2 ** max(failed_attempts - 1, 0)))
        return self.rand(0.0, ceiling)


NO_RETRY = RetryPolicy(max_attempts=1)
