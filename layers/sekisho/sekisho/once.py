"""Run an action once per key: the first caller runs it, later callers get its answer.

Built on Powertools' idempotency utility (``idempotent_function`` over a persistence
layer; DynamoDB in production). Powertools writes an in-progress record before the action
runs, replaces it with the answer once the action returned, and deletes it when the action
raised, so a failed action never blocks the key. Intake (the ``Idempotency-Key`` header)
and webhook receipt (the sender's event id) both use it; each maps the outcomes to its own
errors.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import (
    STATUS_CONSTANTS,
    DataRecord,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

logger = logging.getLogger(__name__)

# When nothing says how long the invocation may still run, an in-progress record blocks
# its key this long after a crash instead of until the whole record expires.
DEFAULT_REMAINING_MS = 30_000


class AlreadyRunning(Exception):
    """Another caller holds the key's in-progress record right now."""


class PayloadMismatch(Exception):
    """The key was used before with a different payload."""


class StoreUnavailable(Exception):
    """The persistence layer failed before the action ran: nothing happened."""


@dataclass(frozen=True)
class Outcome:
    response: dict[str, Any]
    replayed: bool  # the stored answer of an earlier call with the same key


@dataclass(frozen=True)
class _Remaining:
    """What Powertools reads from a Lambda context: the time left in this invocation."""

    remaining_ms: Callable[[], int]

    def get_remaining_time_in_millis(self) -> int:
        return int(self.remaining_ms())


def _run_once(claim: dict[str, Any], action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    # The attempt id comes back in the stored answer, which tells a replay from a run.
    return {**action(), "attempt": claim["attempt"]}


class RunOnce:
    """One per persistence layer: Powertools configures a layer once, from the first
    config it sees, so a second RunOnce on the same layer would silently run with the
    first one's expiry."""

    def __init__(
        self,
        persistence: BasePersistenceLayer,
        *,
        key_prefix: str,
        expires_after_seconds: int,
    ) -> None:
        self._persistence = persistence
        # Stable across function renames and redeploys, so stored keys stay valid.
        self._key_prefix = key_prefix
        self._expires_after_seconds = expires_after_seconds

    def _config(self, remaining_ms: Callable[[], int]) -> IdempotencyConfig:
        return IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="payload",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=self._expires_after_seconds,
            hash_function="sha256",
            # Powertools wants a LambdaContext and calls only its get_remaining_time_in_millis.
            lambda_context=cast(LambdaContext, _Remaining(remaining_ms)),
        )

    def _once(self, remaining_ms: Callable[[], int]) -> Callable[..., dict[str, Any]]:
        # A config per call: it carries this invocation's clock (how long an in-progress
        # record may block its key after a crash), and concurrent calls must not share it.
        config = self._config(remaining_ms)
        # Powertools types the decorated function Any; it keeps _run_once's signature.
        once: Callable[..., dict[str, Any]] = idempotent_function(
            data_keyword_argument="claim",
            persistence_store=self._persistence,
            config=config,
            key_prefix=self._key_prefix,
        )(_run_once)
        return once

    def stored(self, *, key: str, payload: str = "") -> dict[str, Any] | None:
        """The answer an earlier call with this ``key`` and ``payload`` stored, or None
        (no record, one in progress or expired, another payload, or the store failed):
        a look that changes nothing, so the caller can tell a replay before it counts
        anything. Whatever None hides, :meth:`run` meets again and reports."""
        # The same configuration run() gives the layer, so the record's key (the prefix
        # plus the hash of ``key``) and the payload check are the ones run() uses.
        self._persistence.configure(
            self._config(lambda: DEFAULT_REMAINING_MS), key_prefix=self._key_prefix
        )
        try:
            record = self._persistence.get_record({"key": key, "payload": payload})
        except (IdempotencyItemNotFoundError, IdempotencyValidationError):
            return None
        except (ClientError, BotoCoreError) as exc:
            logger.warning("run-once record not read", extra={"error": type(exc).__name__})
            return None
        if record is None or record.status != STATUS_CONSTANTS["COMPLETED"]:
            return None
        stored = dict(record.response_json_as_dict() or {})
        stored.pop("attempt", None)
        return stored or None

    def run(
        self,
        *,
        key: str,
        action: Callable[[], dict[str, Any]],
        payload: str = "",
        remaining_ms: Callable[[], int] | None = None,
    ) -> Outcome:
        """Run ``action`` once per ``key``; later calls get its stored answer.

        Raises :class:`AlreadyRunning`, :class:`PayloadMismatch` (same key, different
        ``payload``), :class:`StoreUnavailable`, or whatever ``action`` raised.
        """
        attempt = uuid.uuid4().hex
        claim = {"key": key, "payload": payload, "attempt": attempt}
        finished: list[dict[str, Any]] = []

        def tracked() -> dict[str, Any]:
            finished.append(action())
            return finished[-1]

        once = self._once(remaining_ms or (lambda: DEFAULT_REMAINING_MS))
        try:
            response = once(claim=claim, action=tracked)
        except IdempotencyAlreadyInProgressError as exc:
            raise AlreadyRunning(key) from exc
        except IdempotencyValidationError as exc:
            raise PayloadMismatch(key) from exc
        except (IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError) as exc:
            if finished:
                # The action ran; only storing its answer failed. The answer must still
                # reach the caller, or it would try again.
                logger.warning("run-once answer not stored", extra={"error": type(exc).__name__})
                return Outcome(finished[-1], replayed=False)
            raise StoreUnavailable(type(exc).__name__) from exc
        stored = dict(response)
        return Outcome(stored, replayed=stored.pop("attempt", None) != attempt)


class InMemoryPersistenceLayer(BasePersistenceLayer):
    """Powertools' persistence contract in memory (the DynamoDB layer's twin in tests).

    Set ``fail`` to make every call fail like an unreachable table.
    """

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Powertools leaves it unannotated
        self._lock = threading.Lock()
        self._records: dict[str, DataRecord] = {}
        self.fail = False

    def _check(self, operation: str) -> None:
        if self.fail:
            raise ClientError(
                {"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, operation
            )

    def _get_record(self, idempotency_key: str) -> DataRecord:
        with self._lock:
            self._check("GetItem")
            try:
                return self._records[idempotency_key]
            except KeyError:
                raise IdempotencyItemNotFoundError() from None

    def _put_record(self, data_record: DataRecord) -> None:
        with self._lock:
            self._check("PutItem")
            old = self._records.get(data_record.idempotency_key)
            now_ms = int(dt.datetime.now().timestamp() * 1000)
            in_progress_expired = (
                old is not None
                and old.status == STATUS_CONSTANTS["INPROGRESS"]
                and old.in_progress_expiry_timestamp is not None
                and old.in_progress_expiry_timestamp < now_ms
            )
            if old is not None and not old.is_expired and not in_progress_expired:
                raise IdempotencyItemAlreadyExistsError()
            self._records[data_record.idempotency_key] = data_record

    def _update_record(self, data_record: DataRecord) -> None:
        with self._lock:
            self._check("UpdateItem")
            self._records[data_record.idempotency_key] = data_record

    def _delete_record(self, data_record: DataRecord) -> None:
        with self._lock:
            self._check("DeleteItem")
            self._records.pop(data_record.idempotency_key, None)

    def forget_all(self) -> None:
        """Drop every record, as an expired or restored table would."""
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)
