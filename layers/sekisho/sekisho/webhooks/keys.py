"""The versions of a source's secret a delivery may be signed with.

AWSCURRENT always; AWSPREVIOUS only while the current version is younger than the
source's grace period, measured from the ``rotated_at`` (epoch seconds) the rotation
wrote into the current version. A current version without ``rotated_at`` opens no grace
period: an old key is accepted only when someone said when it stopped being current.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from sekisho.errors import SekishoError
from sekisho.secrets import SecretStageMissing

if TYPE_CHECKING:
    from sekisho.policy import WebhookPolicy

logger = logging.getLogger(__name__)

CURRENT = "AWSCURRENT"
PREVIOUS = "AWSPREVIOUS"


class SecretReader(Protocol):
    def get(self, name: str) -> dict[str, Any]: ...

    def get_stage(self, name: str, stage: str) -> dict[str, Any]: ...

    def refresh(self, name: str, stage: str = ...) -> bool: ...


def rotated_at(secret: dict[str, Any]) -> float | None:
    value = secret.get("rotated_at")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


class SigningKeys:
    def __init__(self, secrets: SecretReader, *, clock: Callable[[], float] = time.time) -> None:
        self._secrets = secrets
        self.clock = clock

    def versions(self, hook: WebhookPolicy) -> Iterator[tuple[str, dict[str, Any]]]:
        """(stage, secret) to try in order; the previous one is read only when asked for."""
        current = self._secrets.get(hook.secret)
        yield CURRENT, current
        since = rotated_at(current)
        if since is None or self.clock() - since > hook.grace_seconds:
            return
        try:
            previous = self._secrets.get_stage(hook.secret, PREVIOUS)
        except SecretStageMissing:
            return
        yield PREVIOUS, previous

    def refresh(self, hook: WebhookPolicy) -> bool:
        """Re-read the current version now; True when it changed.

        A sender switched to a new key as soon as it was rotated in must not be refused
        for the cache's lifetime (kintone, for one, never retries). The store allows one
        forced read per secret every 30 s, so forged deliveries cannot turn this into a
        Secrets Manager call each.
        """
        try:
            return self._secrets.refresh(hook.secret)
        except SekishoError:
            logger.warning("webhook secret refresh failed", extra={"secret": hook.secret})
            return False
