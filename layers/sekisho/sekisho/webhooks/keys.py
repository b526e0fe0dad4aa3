"""The versions of a source's secret a delivery may be signed with.

AWSCURRENT always; AWSPREVIOUS only while the current version is younger than the
source's grace period, measured from the ``rotated_at`` (epoch seconds) the rotation
wrote into the current version. A current version without ``rotated_at`` opens no grace
period: an old key is accepted only when someone said when it stopped being current, and
one dated in the future (milliseconds written by hand, say) opens none either: it would
keep the old key valid for years.

After a source's first rotation AWSPREVIOUS is the template's placeholder, a key left
empty: that, or any previous version the verifier cannot use, is no previous key (a forged
delivery is refused as forged, not answered 500). An unusable current key stays the
operator's configuration error.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from sekisho.errors import SekishoError
from sekisho.secrets.errors import SecretMalformed, SecretStageMissing
from sekisho.secrets.store import MAX_TTL

if TYPE_CHECKING:
    from sekisho.policy import WebhookPolicy

logger = logging.getLogger(__name__)

CURRENT = "AWSCURRENT"
PREVIOUS = "AWSPREVIOUS"
# A rotation writes its own clock's now; a little ahead of ours is skew, more is no time a
# rotation happened at.
MAX_CLOCK_SKEW_SECONDS = 300
# A warning about a secret's versions is repeated at most once per secret cache period:
# forged deliveries reach these checks too, and must not each write a log line.
WARNING_INTERVAL_SECONDS = MAX_TTL


class SecretReader(Protocol):
    def get(self, name: str) -> dict[str, Any]: ...

    def get_stage(self, name: str, stage: str) -> dict[str, Any]: ...

    def refresh(self, name: str, stage: str = ...) -> bool: ...


def rotated_at(secret: dict[str, Any]) -> float | None:
    value = secret.get("rotated_at")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def within_grace(current: dict[str, Any], grace_seconds: float, now: float) -> bool:
    """May the previous version still verify? Only when the current one says when it was
    rotated in (``rotated_at``), no later than the skew ahead of ``now``, and no longer
    than ``grace_seconds`` ago."""
    since = rotated_at(current)
    if since is None or since > now + MAX_CLOCK_SKEW_SECONDS:
        return False
    return now - since <= grace_seconds


class SigningKeys:
    def __init__(self, secrets: SecretReader, *, clock: Callable[[], float] = time.time) -> None:
        self._secrets = secrets
        self.clock = clock
        self._warned: dict[tuple[str, str], float] = {}

    def versions(self, hook: WebhookPolicy) -> Iterator[tuple[str, dict[str, Any]]]:
        """(stage, secret) to try in order; the previous one is read only when asked for."""
        current = self._secrets.get(hook.secret)
        yield CURRENT, current
        since = rotated_at(current)
        if since is None:
            return
        now = self.clock()
        if since > now + MAX_CLOCK_SKEW_SECONDS:
            self._warn(hook, "webhook secret's rotated_at is in the future: no grace period")
            return
        if now - since > hook.grace_seconds:
            return
        try:
            previous = self._secrets.get_stage(hook.secret, PREVIOUS)
        except SecretStageMissing:
            return
        except SecretMalformed:
            # Not a JSON object: no key to try, like a placeholder's empty one.
            self.previous_unusable(hook)
            return
        yield PREVIOUS, previous

    def previous_unusable(self, hook: WebhookPolicy) -> None:
        """The previous version holds no key its verifier can use: said once a while."""
        self._warn(hook, "the previous version of a webhook secret holds no usable key")

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

    def _warn(self, hook: WebhookPolicy, message: str) -> None:
        # The secret's name only: a value, rotated_at included, stays in the secret.
        now, key = self.clock(), (hook.secret, message)
        last = self._warned.get(key)
        if last is not None and 0 <= now - last < WARNING_INTERVAL_SECONDS:
            return
        self._warned[key] = now
        logger.warning(message, extra={"secret": hook.secret})
