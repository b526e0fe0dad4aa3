"""A rate the guards count in: ``count`` events per fixed window, written ``N/unit``."""

from __future__ import annotations

import re

from .constants import WINDOWS
from .rule import Rule

_RATE = re.compile(r"([1-9][0-9]{0,8})/(second|minute|hour|day)")


class Rate(Rule):
    """``count`` events per fixed window of ``window_seconds``; written ``N/unit``."""

    count: int
    window_seconds: int

    def __init__(self, count: int, window_seconds: int) -> None:
        super().__init__(count=count, window_seconds=window_seconds)

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``N/second``, ``N/minute``, ``N/hour`` or ``N/day`` with 1 <= N < 10**9."""
        match = _RATE.fullmatch(text)
        if not match:
            raise ValueError("a rate is written N/second, N/minute, N/hour or N/day, N >= 1")
        return cls(int(match[1]), WINDOWS[match[2]])

    def __str__(self) -> str:
        for unit, seconds in WINDOWS.items():
            if self.window_seconds == seconds:
                return f"{self.count}/{unit}"
        return f"{self.count}/{self.window_seconds}s"

    @property
    def per_day(self) -> int:
        """The most events this rate admits in a day of back-to-back windows."""
        return -(-self.count * WINDOWS["day"] // self.window_seconds)


def per_hour(count: int) -> Rate:
    return Rate(count, WINDOWS["hour"])
