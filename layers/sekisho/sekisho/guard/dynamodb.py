"""Guard counters in DynamoDB, shared by every container of every function.

Table: partition key ``pk`` (S), no sort key; ``n`` (N) is the count and ``expires_at``
(N, epoch seconds) is the table's TTL attribute.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import ClientError

from sekisho import aws

from .errors import GuardUnavailable
from .store import is_expired

_NAMES = {"#n": "n", "#exp": "expires_at"}
# Add to a live counter that stays within the limit, or start a counter where there is
# none. A counter past its expiry fails this condition and is reset by _restart instead:
# one update expression cannot both test expiry and choose between ADD and a reset.
_ADD_CONDITION = "attribute_not_exists(pk) OR (#n <= :most AND #exp >= :now)"
_RESTART_CONDITION = "attribute_not_exists(pk) OR attribute_not_exists(#exp) OR #exp < :now"
# Each round is an add and, for an expired counter, a reset. A reset only fails when
# another container reset the same counter first, so the next add settles it.
_ROUNDS = 3
# BatchGetItem may hand back keys it did not read yet (UnprocessedKeys).
_BATCH_ROUNDS = 3


def dynamodb_client() -> Any:
    """The container's DynamoDB client (:mod:`sekisho.aws`): the guard's counters, and
    the idempotency records and ledgers that share it."""
    return aws.client("dynamodb")


def _conditional_check_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class DynamoGuardStore:
    def __init__(
        self,
        table_name: str,
        client: Any = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._table = table_name
        self._client = client
        self._clock = clock

    @property
    def _dynamodb(self) -> Any:
        return self._client or dynamodb_client()

    def increment(self, key: str, *, limit: int, expires_at: int, amount: int = 1) -> int | None:
        if limit < 1 or not 1 <= amount <= limit:
            return None
        for _ in range(_ROUNDS):
            now = int(self._clock())
            values = {
                # The most the counter may hold before this addition.
                ":most": {"N": str(limit - amount)},
                ":now": {"N": str(now)},
            }
            try:
                response = self._dynamodb.update_item(
                    TableName=self._table,
                    Key={"pk": {"S": key}},
                    UpdateExpression="ADD #n :amount SET #exp = if_not_exists(#exp, :exp)",
                    ConditionExpression=_ADD_CONDITION,
                    ExpressionAttributeNames=_NAMES,
                    ExpressionAttributeValues=values
                    | {":amount": {"N": str(amount)}, ":exp": {"N": str(expires_at)}},
                    ReturnValues="UPDATED_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return int(response["Attributes"]["n"]["N"])
            except ClientError as exc:
                if not _conditional_check_failed(exc):
                    raise
                # What ALL_OLD returns on a failed condition (botocore's stubs leave it out).
                old: object = exc.response.get("Item")
            if isinstance(old, dict) and not self._expired(old, now):
                return None
            if self._restart(key, expires_at, values, amount):
                return amount
        raise GuardUnavailable("a guard counter stayed contended")

    def _restart(self, key: str, expires_at: int, values: dict[str, Any], amount: int) -> bool:
        """Replace an expired (or vanished) counter with a count of ``amount``."""
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": key},
                    "n": {"N": str(amount)},
                    "expires_at": {"N": str(expires_at)},
                },
                ConditionExpression=_RESTART_CONDITION,
                ExpressionAttributeNames={"#exp": "expires_at"},
                ExpressionAttributeValues={":now": values[":now"]},
            )
        except ClientError as exc:
            if not _conditional_check_failed(exc):
                raise
            return False
        return True

    def read_many(self, keys: Sequence[str]) -> list[int]:
        # One BatchGetItem for every value of a lookup instead of one GetItem each: the
        # lockout check sits on every request's path.
        wanted = list(dict.fromkeys(keys))
        counts: dict[str, int] = {}
        request: dict[str, Any] = {
            self._table: {
                "Keys": [{"pk": {"S": key}} for key in wanted],
                "ConsistentRead": True,
                "ProjectionExpression": "pk, #n, #exp",
                "ExpressionAttributeNames": _NAMES,
            }
        }
        now = self._clock()
        for _ in range(_BATCH_ROUNDS):
            if not wanted:
                break
            response = self._dynamodb.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(self._table, []):
                if not self._expired(item, now):
                    counts[item["pk"]["S"]] = int(item.get("n", {}).get("N", "0"))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            # DynamoDB kept deferring the reads (throttling): fail closed, as for errors.
            raise GuardUnavailable("the guard cannot read its counters now")
        return [counts.get(key, 0) for key in keys]

    @staticmethod
    def _expired(item: dict[str, Any], now: float) -> bool:
        # The relay always writes expires_at; an item without one is treated as stale.
        raw = item.get("expires_at", {}).get("N")
        return raw is None or is_expired(int(raw), now)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(table={self._table!r})"
