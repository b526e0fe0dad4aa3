"""An in-memory guard store: the twin of the DynamoDB one for unit tests.

Only for tests: counters must be shared by every container, so production counts in
DynamoDB.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from botocore.exceptions import ClientError

from .store import is_expired


class InMemoryGuardStore:
    """Same semantics as :class:`~sekisho.guard.DynamoGuardStore`; ``fail`` simulates an
    outage with DynamoDB's ``fail_code``.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._items: dict[str, tuple[int, int]] = {}
        self.fail = False
        self.fail_code = "ProvisionedThroughputExceededException"
        self.calls = 0  # increments asked for, as DynamoDB would bill them

    def increment(self, key: str, *, limit: int, expires_at: int, amount: int = 1) -> int | None:
        with self._lock:
            self._check("UpdateItem")
            self.calls += 1
            count, item_expires_at = self._items.get(key, (0, expires_at))
            if is_expired(item_expires_at, self._clock()):
                count, item_expires_at = 0, expires_at
            if count + amount > limit:
                return None
            self._items[key] = (count + amount, item_expires_at)
            return count + amount

    def read_many(self, keys: Sequence[str]) -> list[int]:
        with self._lock:
            self._check("BatchGetItem")
            now = self._clock()
            items = [self._items.get(key) for key in keys]
            return [0 if i is None or is_expired(i[1], now) else i[0] for i in items]

    def items(self) -> dict[str, tuple[int, int]]:
        """``{key: (count, expires_at)}``, for tests that inspect what is stored."""
        with self._lock:
            return dict(self._items)

    def _check(self, operation: str) -> None:
        if self.fail:
            raise ClientError({"Error": {"Code": self.fail_code, "Message": "x"}}, operation)
