"""Idempotency-Key: a browser's retry of the same submission gets the first answer.

Built on Powertools' idempotency utility (``idempotent_function`` with a persistence
layer; DynamoDB in production). The idempotency key is the form plus the header's value,
and the payload check is a SHA-256 of the body, so the same key with a different body is
refused (422) rather than answered with another submission's receipt. Only answers are
stored: when the submission fails, Powertools deletes its in-progress record and the
browser may try again with the same key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

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
from botocore.exceptions import ClientError

from sekisho.errors import UpstreamUnavailable, ValidationFailed

from .errors import IdempotencyKeyReused, RequestInProgress

logger = logging.getLogger(__name__)

EXPIRY_SECONDS = 24 * 3600
# Stable across function renames and redeploys: the stored keys stay valid.
KEY_PREFIX = "sekisho.intake"
MAX_KEY_LENGTH = 128
_KEY = re.compile(rf"[\x21-\x7e]{{1,{MAX_KEY_LENGTH}}}")
# When nothing says how long the invocation may still run, an in-progress record blocks
# its key this long after a crash instead of until the whole record expires.
DEFAULT_REMAINING_MS = 30_000


class IdempotencyUnavailable(UpstreamUnavailable):
    """The idempotency table could not be used; nothing was accepted."""


def check_idempotency_key(value: str | None) -> str | None:
    """The header's value if usable, None when absent, else a 400."""
    if value is None:
        return None
    if not isinstance(value, str) or not _KEY.fullmatch(value):
        raise ValidationFailed(
            "the Idempotency-Key header is not valid",
            errors=[
                {
                    "pointer": "/headers/Idempotency-Key",
                    "code": "format",
                    "detail": f"1 to {MAX_KEY_LENGTH} visible ASCII characters",
                }
            ],
        )
    return value


def body_digest(body: Mapping[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class _Remaining:
    """What Powertools reads from a Lambda context: the time left in this invocation."""

    remaining_ms: Callable[[], int]

    def get_remaining_time_in_millis(self) -> int:
        return int(self.remaining_ms())


@dataclass(frozen=True)
class Outcome:
    response: dict[str, Any]
    replayed: bool  # the stored answer of an earlier request with the same key


def _run_once(claim: dict[str, Any], action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    # The attempt id comes back in the stored answer, which tells a replay from a run.
    return {**action(), "attempt": claim["attempt"]}


class Idempotency:
    def __init__(
        self, persistence: BasePersistenceLayer, *, expires_after_seconds: int = EXPIRY_SECONDS
    ) -> None:
        self._persistence = persistence
        self._expires_after_seconds = expires_after_seconds

    def _once(self, remaining_ms: Callable[[], int]) -> Callable[..., dict[str, Any]]:
        # A config per call: it carries this invocation's clock (how long an in-progress
        # record may block its key after a crash), and concurrent calls must not share it.
        config = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="body",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=self._expires_after_seconds,
            hash_function="sha256",
            lambda_context=_Remaining(remaining_ms),
        )
        return idempotent_function(
            data_keyword_argument="claim",
            persistence_store=self._persistence,
            config=config,
            key_prefix=KEY_PREFIX,
        )(_run_once)

    def run(
        self,
        *,
        form: str,
        key: str,
        body: Mapping[str, Any],
        action: Callable[[], dict[str, Any]],
        remaining_ms: Callable[[], int] | None = None,
    ) -> Outcome:
        """Run ``action`` once per (form, key); later calls get its stored answer."""
        attempt = uuid.uuid4().hex
        claim = {"key": f"{form}#{key}", "body": body_digest(body), "attempt": attempt}
        finished: list[dict[str, Any]] = []

        def tracked() -> dict[str, Any]:
            finished.append(action())
            return finished[-1]

        once = self._once(remaining_ms or (lambda: DEFAULT_REMAINING_MS))
        try:
            response = once(claim=claim, action=tracked)
        except IdempotencyAlreadyInProgressError as exc:
            raise RequestInProgress("try again in a moment") from exc
        except IdempotencyValidationError as exc:
            raise IdempotencyKeyReused("send a new Idempotency-Key for a new body") from exc
        except (IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError) as exc:
            if finished:
                # The submission was accepted; only storing its answer failed. The answer
                # must still reach the browser, or it would submit again.
                logger.warning("idempotency answer not stored", extra={"error": type(exc).__name__})
                return Outcome(finished[-1], replayed=False)
            raise IdempotencyUnavailable("the idempotency store failed") from exc
        stored = dict(response)
        return Outcome(stored, replayed=stored.pop("attempt", None) != attempt)


class InMemoryPersistenceLayer(BasePersistenceLayer):
    """Powertools' persistence contract in memory (the DynamoDB layer's twin in tests).

    Set ``fail`` to make every call fail like an unreachable table.
    """

    def __init__(self) -> None:
        super().__init__()
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

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)
