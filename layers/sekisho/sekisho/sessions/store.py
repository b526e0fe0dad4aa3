"""Where one-time codes and revoked sessions live: DynamoDB's guard table, keyed
``session:<realm>#...`` (SessionFunction's role may touch no other key), each item
expiring with what it stands for (DynamoDB's TTL on ``expires_at``).

A code is stored only as a keyed hash, one item per address: a new code replaces the
old one, and a code is taken by a conditional delete, so two sign-ins racing with the
same code cannot both win.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from sekisho.guard.dynamodb import dynamodb_client
from sekisho.guard.store import is_expired

from .errors import SessionStoreUnavailable


class SessionStore(Protocol):
    def put_code(self, key: str, digest: str, expires_at: int) -> None:
        """Store (or replace) the code of ``key``."""
        ...

    def take_code(self, key: str, digest: str) -> int | None:
        """Remove and accept the code when it is ``digest`` and unexpired: its expiry
        (epoch seconds, to put it back if the sign-in cannot go on); else None."""
        ...

    def revoke(self, key: str, expires_at: int) -> None: ...

    def is_revoked(self, key: str) -> bool: ...


def _failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class DynamoSessionStore:
    def __init__(
        self, table_name: str, client: Any = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._table = table_name
        self._client = client
        self._clock = clock

    @property
    def _dynamodb(self) -> Any:
        return self._client or dynamodb_client()

    def put_code(self, key: str, digest: str, expires_at: int) -> None:
        item = {"pk": {"S": key}, "digest": {"S": digest}, "expires_at": {"N": str(expires_at)}}
        self._call("put_item", TableName=self._table, Item=item)

    def take_code(self, key: str, digest: str) -> int | None:
        try:
            answer = self._dynamodb.delete_item(
                TableName=self._table,
                Key={"pk": {"S": key}},
                ConditionExpression="#d = :d AND #exp >= :now",
                ExpressionAttributeNames={"#d": "digest", "#exp": "expires_at"},
                ExpressionAttributeValues={
                    ":d": {"S": digest},
                    ":now": {"N": str(int(self._clock()))},
                },
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if _failed(exc):
                return None
            raise SessionStoreUnavailable("sign-in is unavailable now") from exc
        except BotoCoreError as exc:
            raise SessionStoreUnavailable("sign-in is unavailable now") from exc
        return int(answer["Attributes"]["expires_at"]["N"])

    def revoke(self, key: str, expires_at: int) -> None:
        item = {"pk": {"S": key}, "expires_at": {"N": str(expires_at)}}
        self._call("put_item", TableName=self._table, Item=item)

    def is_revoked(self, key: str) -> bool:
        answer = self._call(
            "get_item",
            TableName=self._table,
            Key={"pk": {"S": key}},
            ConsistentRead=True,
            ProjectionExpression="expires_at",
        )
        raw = (answer.get("Item") or {}).get("expires_at", {}).get("N")
        # A revocation lives as long as the session it ends; expired, both are gone.
        return raw is not None and not is_expired(int(raw), self._clock())

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._dynamodb, operation)(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            # Fail closed: no session is trusted and no code sent without the store.
            raise SessionStoreUnavailable("sign-in is unavailable now") from exc


class InMemorySessionStore:
    """The twin of :class:`DynamoSessionStore` for unit tests."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.items: dict[str, tuple[str, int]] = {}

    def put_code(self, key: str, digest: str, expires_at: int) -> None:
        with self._lock:
            self.items[key] = (digest, expires_at)

    def take_code(self, key: str, digest: str) -> int | None:
        with self._lock:
            stored = self.items.get(key)
            if stored is None or stored[0] != digest or is_expired(stored[1], self._clock()):
                return None
            del self.items[key]
            return stored[1]

    def revoke(self, key: str, expires_at: int) -> None:
        with self._lock:
            self.items[key] = ("", expires_at)

    def is_revoked(self, key: str) -> bool:
        with self._lock:
            stored = self.items.get(key)
            return stored is not None and not is_expired(stored[1], self._clock())
