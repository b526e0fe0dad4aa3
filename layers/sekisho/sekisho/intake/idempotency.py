"""Idempotency-Key: a browser's retry of the same submission gets the first answer.

:class:`sekisho.once.RunOnce` (Powertools' idempotency utility) keyed by the form plus
the header's value; the payload check is a SHA-256 of the body, so the same key with a
different body is refused (422) rather than answered with another submission's receipt.
Only answers are stored: when the submission fails, its in-progress record is deleted and
the browser may try again with the same key. :meth:`Idempotency.replay` reads a stored
answer without claiming anything, so intake can answer a replay before it counts the
request against the client's rate.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer

from sekisho.errors import UpstreamUnavailable
from sekisho.once import (
    AlreadyRunning,
    InMemoryPersistenceLayer,
    Outcome,
    PayloadMismatch,
    RunOnce,
    StoreUnavailable,
)

from .errors import IdempotencyKeyReused, RequestInProgress
from .header import KEY_PATTERN, MAX_KEY_LENGTH, check_idempotency_key

__all__ = [
    "KEY_PATTERN",
    "MAX_KEY_LENGTH",
    "Idempotency",
    "IdempotencyUnavailable",
    "InMemoryPersistenceLayer",
    "Outcome",
    "body_digest",
    "check_idempotency_key",
]

EXPIRY_SECONDS = 24 * 3600
# Stable across function renames and redeploys: the stored keys stay valid.
KEY_PREFIX = "sekisho.intake"


class IdempotencyUnavailable(UpstreamUnavailable):
    """The idempotency table could not be used; nothing was accepted."""


def body_digest(body: Mapping[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


class Idempotency:
    def __init__(
        self, persistence: BasePersistenceLayer, *, expires_after_seconds: int = EXPIRY_SECONDS
    ) -> None:
        self._once = RunOnce(
            persistence, key_prefix=KEY_PREFIX, expires_after_seconds=expires_after_seconds
        )

    def replay(self, *, form: str, key: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
        """The answer stored for (form, key) when ``body`` is the body it answered, else
        None: a fresh key, another body, one still in progress or a store that cannot be
        read are left to :meth:`run`, after the request has been counted."""
        return self._once.stored(key=f"{form}#{key}", payload=body_digest(body))

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
        try:
            return self._once.run(
                key=f"{form}#{key}",
                payload=body_digest(body),
                action=action,
                remaining_ms=remaining_ms,
            )
        except AlreadyRunning as exc:
            raise RequestInProgress("try again in a moment") from exc
        except PayloadMismatch as exc:
            raise IdempotencyKeyReused("send a new Idempotency-Key for a new body") from exc
        except StoreUnavailable as exc:
            raise IdempotencyUnavailable("the idempotency store failed") from exc
