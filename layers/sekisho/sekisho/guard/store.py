"""The one atomic operation a guard store offers, and when a counter counts as expired."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class GuardStore(Protocol):
    def increment(self, key: str, *, limit: int, expires_at: int, amount: int = 1) -> int | None:
        """Add ``amount`` to the counter at ``key`` if the sum stays within ``limit``; the
        new count, or None when it would not (nothing is added then). An expired counter
        counts as absent; a new counter expires at ``expires_at`` (epoch seconds).

        Failures surface as botocore's ``ClientError`` / ``BotoCoreError`` (the in-memory
        twin raises the same), so :class:`~sekisho.guard.Guard` maps them in one place.
        """
        ...

    def read_many(self, keys: Sequence[str]) -> list[int]:
        """The current counts at ``keys`` in one round trip (strongly consistent); 0 for
        an absent or expired counter."""
        ...


def is_expired(expires_at: int, now: float) -> bool:
    """DynamoDB deletes expired items lazily (up to days late), so readers decide."""
    return expires_at < int(now)
