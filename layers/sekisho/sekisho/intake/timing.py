"""How long a recorded submission takes to answer, so a caught bot waits as long.

A filled honeypot is answered like a recorded submission, but it makes no kintone call,
so it would answer a kintone round trip sooner and a bot timing its answers could tell.
Each container keeps the durations of its last recorded submissions and a honeypot's
answer waits until a duration drawn from them has passed.
"""

from __future__ import annotations

import secrets
from collections import deque

# Before the container has recorded anything: about what an add takes from Lambda.
DEFAULT_SECONDS = 0.4
KEEP = 32


class AnswerTimes:
    def __init__(self, *, keep: int = KEEP, default: float = DEFAULT_SECONDS) -> None:
        self._durations: deque[float] = deque(maxlen=keep)
        self._default = default

    def record(self, seconds: float) -> None:
        if seconds >= 0:
            self._durations.append(seconds)

    def sample(self) -> float:
        """One of the recent durations (any of them, so the spread is kept too)."""
        recent = list(self._durations)
        return secrets.choice(recent) if recent else self._default
