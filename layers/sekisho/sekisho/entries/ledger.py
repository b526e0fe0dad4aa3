"""The entries table: one item per receipt (its state and the seats it holds) and one
counter per seat counter of a form, changed together in DynamoDB transactions.

Table: partition key ``pk`` (S), no sort key.
- ``entry#<form>#<receipt>``: ``status`` (queued, recorded, refused), ``reason`` (a
  problem code, for refused), ``holds`` (M: counter -> seats), ``version`` (N, bumped by
  every change of ``holds``), ``waitlisted`` (BOOL), ``at`` (N, epoch seconds).
- ``seats#<form>#<counter>``: ``taken`` (N).

Why an item per receipt and not only the counters: a seat must be given back exactly once
(a refusal seen twice, a cancel sent twice, a refusal racing a cancel), and a correction
must move exactly the seats the entry holds. Each change of an entry's seats is one
transaction: the entry's item (conditioned on the ``version`` it was read at) and every
counter it touches (a counter that grows conditioned on the seats left), so the counters
always equal the sum of what the entries hold, and none passes its seats.

The entry item is written once, with a condition that no entry has the receipt: a receipt
drawn twice is found here, before kintone, so a kintone unique violation on the receipt
field can only be the relay's own earlier write.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sekisho import aws

from .errors import CapacityFull, EntriesUnavailable, EntryMoved, ReceiptTaken
from .seats import Holds

QUEUED = "queued"
RECORDED = "recorded"
REFUSED = "refused"
CANCELLED = "cancelled"
STATES = frozenset({QUEUED, RECORDED, REFUSED, CANCELLED})
ENTRY_PREFIX = "entry#"
SEATS_PREFIX = "seats#"
# DynamoDB cancels a transaction that races another on the same item
# (TransactionConflict): a seat counter of a popular form is such an item.
_ROUNDS = 8


def entry_key(form: str, receipt: str) -> str:
    return f"{ENTRY_PREFIX}{form}#{receipt}"


def counter_key(form: str, counter: str) -> str:
    return f"{SEATS_PREFIX}{form}#{counter}"


@dataclass(frozen=True)
class Entry:
    form: str
    receipt: str
    status: str
    holds: Mapping[str, int] = field(default_factory=dict)
    version: int = 0
    waitlisted: bool = False
    reason: str | None = None


class EntryLedger:
    """The entries table of one deployment (``client``: a boto3 DynamoDB client)."""

    def __init__(
        self,
        table_name: str,
        client: Any = None,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table = table_name
        self._client = client
        self._clock = clock
        self._sleep = sleep

    @property
    def _dynamodb(self) -> Any:
        return self._client or aws.client("dynamodb")

    # -- an entry's life -------------------------------------------------------------

    def open(
        self,
        form: str,
        receipt: str,
        *,
        claim: Holds,
        limits: Mapping[str, int],
        status: str = QUEUED,
        waitlisted: bool = False,
    ) -> Entry:
        """Write the receipt's entry holding ``claim``'s seats, all or none.

        :class:`ReceiptTaken` when another entry has the receipt; :class:`CapacityFull`
        when a counter has too few seats left (nothing is then written).
        """
        item = {
            "pk": {"S": entry_key(form, receipt)},
            "status": {"S": status},
            "holds": _holds_value(claim),
            "version": {"N": "0"},
            "waitlisted": {"BOOL": waitlisted},
            "at": {"N": str(int(self._clock()))},
        }
        put = {
            "Put": {
                "TableName": self._table,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        for counter, seats in claim.items():
            if seats > limits.get(counter, seats):
                raise CapacityFull("no seats left")
        bounded = [c for c in claim if c in limits]
        if bounded:
            # A consistent read first: once a counter is full every later entry is refused
            # here, without a transaction that would only be cancelled (and contend with
            # the ones that can still succeed). The transaction decides the rest.
            taken = self.taken(form, bounded)
            if any(taken[c] + claim[c] > limits[c] for c in bounded):
                raise CapacityFull("no seats left")
        self._transact([put, *self._counter_updates(form, claim, limits, grow=True)])
        return Entry(form, receipt, status, dict(claim), 0, waitlisted)

    def read(self, form: str, receipt: str) -> Entry | None:
        try:
            response = self._dynamodb.get_item(
                TableName=self._table,
                Key={"pk": {"S": entry_key(form, receipt)}},
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise EntriesUnavailable(f"the entries table failed ({aws.error_code(exc)})") from exc
        item = response.get("Item")
        return None if item is None else _entry(form, receipt, item)

    def mark(self, form: str, receipt: str, status: str, *, reason: str | None = None) -> None:
        """Set the entry's state (the seats it holds stay as they are)."""
        names = {"#s": "status"}
        values: dict[str, Any] = {":s": {"S": status}}
        expression = "SET #s = :s"
        if reason is not None:
            names["#r"] = "reason"
            values[":r"] = {"S": reason}
            expression += ", #r = :r"
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key={"pk": {"S": entry_key(form, receipt)}},
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                # An entry of before the table (or of a form renamed since): nothing to mark.
                return
            raise EntriesUnavailable(f"the entries table failed ({aws.error_code(exc)})") from exc
        except BotoCoreError as exc:
            raise EntriesUnavailable(f"the entries table failed ({aws.error_code(exc)})") from exc

    def move(
        self,
        entry: Entry,
        to: Holds,
        *,
        limits: Mapping[str, int],
        status: str | None = None,
        reason: str | None = None,
    ) -> Entry:
        """Make ``entry`` hold ``to``'s seats instead of its own, in one transaction.

        Counters that grow are checked against their seats (:class:`CapacityFull`);
        :class:`EntryMoved` when the entry changed since it was read.
        """
        names = {"#h": "holds", "#v": "version"}
        values: dict[str, Any] = {
            ":h": _holds_value(to),
            ":v": {"N": str(entry.version)},
            ":next": {"N": str(entry.version + 1)},
        }
        expression = "SET #h = :h, #v = :next"
        if status is not None:
            names["#s"] = "status"
            values[":s"] = {"S": status}
            expression += ", #s = :s"
        if reason is not None:
            names["#r"] = "reason"
            values[":r"] = {"S": reason}
            expression += ", #r = :r"
        update = {
            "Update": {
                "TableName": self._table,
                "Key": {"pk": {"S": entry_key(entry.form, entry.receipt)}},
                "UpdateExpression": expression,
                "ConditionExpression": "#v = :v",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }
        grow = {c: to[c] - entry.holds.get(c, 0) for c in to if to[c] > entry.holds.get(c, 0)}
        shrink = {
            c: entry.holds[c] - to.get(c, 0) for c in entry.holds if entry.holds[c] > to.get(c, 0)
        }
        for counter, seats in grow.items():
            if entry.holds.get(counter, 0) + seats > limits.get(counter, seats):
                raise CapacityFull("no seats left")
        changes = [
            *self._counter_updates(entry.form, grow, limits, grow=True),
            *self._counter_updates(entry.form, shrink, limits, grow=False),
        ]
        try:
            self._transact([update, *changes])
        except ReceiptTaken:
            raise EntryMoved("the entry changed since it was read") from None
        return Entry(
            entry.form,
            entry.receipt,
            status or entry.status,
            dict(to),
            entry.version + 1,
            entry.waitlisted,
            reason or entry.reason,
        )

    def release(self, form: str, receipt: str, *, status: str, reason: str | None = None) -> bool:
        """Give back every seat the entry holds and set its state; False when there is no
        entry. Given back once however often it is asked (a redelivered refusal, a
        cancel sent twice)."""
        for _ in range(_ROUNDS):
            entry = self.read(form, receipt)
            if entry is None:
                return False
            try:
                self.move(entry, {}, limits={}, status=status, reason=reason)
                return True
            except EntryMoved:
                continue
        raise EntriesUnavailable("the entry stayed contended")

    # -- counters --------------------------------------------------------------------

    def taken(self, form: str, counters: list[str]) -> dict[str, int]:
        """Seats taken on each of ``counters`` (0 for a counter never written)."""
        if not counters:
            return {}
        keys = [{"pk": {"S": counter_key(form, c)}} for c in counters]
        found: dict[str, int] = {}
        request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
        try:
            for _ in range(_ROUNDS):
                response = self._dynamodb.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table, []):
                    counter = item["pk"]["S"].removeprefix(f"{SEATS_PREFIX}{form}#")
                    found[counter] = int(item.get("taken", {}).get("N", "0"))
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise EntriesUnavailable("the entries table kept deferring the read")
        except (ClientError, BotoCoreError) as exc:
            raise EntriesUnavailable(f"the entries table failed ({aws.error_code(exc)})") from exc
        return {c: found.get(c, 0) for c in counters}

    def set_taken(self, form: str, counter: str, *, expected: int, value: int) -> bool:
        """Set a counter (an operator's reconcile) if it still holds ``expected``."""
        condition = "#t = :expected"
        if expected == 0:
            condition = f"attribute_not_exists(#t) OR {condition}"
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key={"pk": {"S": counter_key(form, counter)}},
                UpdateExpression="SET #t = :value",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#t": "taken"},
                ExpressionAttributeValues={
                    ":value": {"N": str(value)},
                    ":expected": {"N": str(expected)},
                },
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return False
            raise EntriesUnavailable(f"the entries table failed ({aws.error_code(exc)})") from exc
        return True

    # -- steps -----------------------------------------------------------------------

    def _counter_updates(
        self, form: str, seats: Holds, limits: Mapping[str, int], *, grow: bool
    ) -> list[dict[str, Any]]:
        updates = []
        for counter, amount in seats.items():
            if amount <= 0:
                continue
            update: dict[str, Any] = {
                "TableName": self._table,
                "Key": {"pk": {"S": counter_key(form, counter)}},
                "UpdateExpression": "ADD #t :amount",
                "ExpressionAttributeNames": {"#t": "taken"},
                "ExpressionAttributeValues": {":amount": {"N": str(amount if grow else -amount)}},
            }
            if grow and counter in limits:
                # The most the counter may hold before this entry's seats are added.
                update["ConditionExpression"] = "attribute_not_exists(#t) OR #t <= :most"
                update["ExpressionAttributeValues"][":most"] = {"N": str(limits[counter] - amount)}
            updates.append({"Update": update})
        return updates

    def _transact(self, items: list[dict[str, Any]]) -> None:
        for attempt in range(_ROUNDS):
            try:
                if len(items) == 1 and "Put" in items[0]:
                    self._dynamodb.put_item(**items[0]["Put"])
                else:
                    self._dynamodb.transact_write_items(TransactItems=items)
                return
            except ClientError as exc:
                code = _code(exc)
                if code == "ConditionalCheckFailedException":
                    raise ReceiptTaken("the receipt is taken") from None
                if code != "TransactionCanceledException":
                    raise EntriesUnavailable(
                        f"the entries table failed ({aws.error_code(exc)})"
                    ) from exc
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons") or []]
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    # The first item is always the entry's: its receipt or version.
                    raise ReceiptTaken("the receipt is taken") from None
                if "ConditionalCheckFailed" in reasons or not reasons:
                    raise CapacityFull("no seats left") from None
                # TransactionConflict (another entry's seats on the same counter): again.
                self._sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 - jitter
            except BotoCoreError as exc:
                raise EntriesUnavailable(
                    f"the entries table failed ({aws.error_code(exc)})"
                ) from exc
        raise EntriesUnavailable("the seat counters stayed contended")


def _holds_value(holds: Holds) -> dict[str, Any]:
    return {"M": {counter: {"N": str(seats)} for counter, seats in holds.items()}}


def _entry(form: str, receipt: str, item: Mapping[str, Any]) -> Entry:
    holds = {c: int(v["N"]) for c, v in item.get("holds", {}).get("M", {}).items()}
    return Entry(
        form,
        receipt,
        item.get("status", {}).get("S", QUEUED),
        holds,
        int(item.get("version", {}).get("N", "0")),
        bool(item.get("waitlisted", {}).get("BOOL", False)),
        item.get("reason", {}).get("S"),
    )


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
