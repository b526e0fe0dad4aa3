"""Rate limits and lockouts for a route scope, counted in a shared store.

Fixed windows: a counter's key carries the window number ``int(now // window_seconds)``,
so a window's counters start from zero without any reset traffic and expire from the
table a minute after the window ends. The trade-off, accepted for one atomic write per
check: a client can spend a whole window's allowance at the end of one window and again
at the start of the next, up to 2x the limit within ``window_seconds`` across the
boundary. A sliding window would need a read-modify-write or one item per request.

Keys and logs carry only keyed fingerprints of client IPs and predicate values: a plain
hash of a short identifier is brute-forced offline in seconds, an HMAC without the key
is not.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from botocore.exceptions import BotoCoreError, ClientError

from sekisho.errors import ValidationFailed

from .errors import GuardMisconfigured, GuardUnavailable
from .store import GuardStore

logger = logging.getLogger(__name__)

MIN_HASH_KEY_BYTES = 16
MAX_SCOPE_LENGTH = 256
FINGERPRINT_LENGTH = 32
# Counters outlive their window by a minute so a request that started just before the
# boundary still finds its counter; DynamoDB's TTL then removes them.
EXPIRY_GRACE_SECONDS = 60
# The share of a route budget at which its operator is warned (a metric and an alarm).
WARNING_SHARE = 0.8
# The most units of a route budget a container reserves at once (see lease_size).
MAX_LEASE = 10
_FINGERPRINT_DOMAIN = "sekisho.guard.v1"
_MISCONFIGURED_CODES = frozenset({"ResourceNotFoundException", "AccessDeniedException"})


class Rate(Protocol):
    """``count`` events per ``window_seconds`` (the policy's ``Rate`` model fits)."""

    @property
    def count(self) -> int: ...

    @property
    def window_seconds(self) -> int: ...


def _framed(part: str) -> bytes:
    if not isinstance(part, str):
        raise ValidationFailed("guarded values must be strings")
    # surrogatepass: any Python str has an encoding, so no input can make this raise.
    data = part.encode("utf-8", "surrogatepass")
    return len(data).to_bytes(4, "big") + data


def _check_rate(rate: Rate) -> tuple[int, int]:
    count, window = getattr(rate, "count", None), getattr(rate, "window_seconds", None)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise GuardMisconfigured("a guard rate needs a count of at least 1")
    # Whole seconds keep window numbers and TTLs integral; a float model field is fine.
    if (
        not isinstance(window, int | float)
        or isinstance(window, bool)
        or window < 1
        or not float(window).is_integer()
    ):
        raise GuardMisconfigured("a guard rate needs a window of whole seconds, at least 1")
    return count, int(window)


def _checked_key(hash_key: object) -> bytes:
    if not isinstance(hash_key, bytes) or len(hash_key) < MIN_HASH_KEY_BYTES:
        raise GuardMisconfigured(f"the guard hash key must be at least {MIN_HASH_KEY_BYTES} bytes")
    return hash_key


@dataclass(frozen=True)
class Standing:
    """What one read of the guard's counters says about a request."""

    locked: bool
    budget_exhausted: bool = False
    budget_resets_in: int = 0


@dataclass(frozen=True)
class BudgetSpend:
    """One kintone request counted against a route's budget."""

    exhausted: bool  # nothing was left: the request must not reach kintone
    limit: int
    resets_in: int  # seconds until the window ends
    # The shared count after this request's reservation, when it made one (None when it
    # spent a unit its container had reserved before).
    reserved: int | None = None
    # True for the one reservation that took the count past 80 % of the limit (the
    # counter is atomic, so exactly one request of all containers sees it).
    crossed_warning: bool = False


def lease_size(limit: int) -> int:
    """How many units a container reserves at once: one DynamoDB write per that many
    requests, instead of one each, on a key every container of the route writes. At
    most 1 % of the budget and 10, so a container idle with its lease withholds little;
    a small budget is counted one unit at a time, exactly."""
    return max(1, min(MAX_LEASE, limit // 100))


class Guard:
    def __init__(
        self,
        store: GuardStore,
        *,
        hash_key: bytes | Callable[[], bytes],
        clock: Callable[[], float] = time.time,
    ) -> None:
        # A callable is the key read on first use (from Secrets Manager): a request a
        # route refuses before its guard (a switch, its when:) then reads no secret.
        self._key_source = hash_key if callable(hash_key) else None
        self._key = None if callable(hash_key) else _checked_key(hash_key)
        self._store = store
        self._clock = clock
        # Budget units this container reserved and has not spent yet: scope -> (the
        # window's counter key, units left). A lease of an ended window is worth nothing.
        self._leases: dict[str, tuple[str, int]] = {}
        self._leases_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(store={self._store!r})"

    def _hash_key(self) -> bytes:
        if self._key is None:
            assert self._key_source is not None  # noqa: S101 - one of the two is set
            # Two threads may both read it once: the same key, no harm.
            self._key = _checked_key(self._key_source())
        return self._key

    # -- public API ----------------------------------------------------------------

    def fingerprint(self, scope: str, name: str, value: str) -> str:
        """HMAC-SHA256 over length-prefixed scope, name and value; 32 hex characters.

        Length prefixes keep ("a", "bc") and ("ab", "c") apart; the scope and name keep
        one value's fingerprint in one view from matching it in another.
        """
        message = b"".join(_framed(p) for p in (_FINGERPRINT_DOMAIN, scope, name, value))
        digest = hmac.new(self._hash_key(), message, hashlib.sha256).hexdigest()
        return digest[:FINGERPRINT_LENGTH]

    def allow_request(self, scope: str, client_ip: str, rate: Rate) -> bool:
        """Count one request from ``client_ip``; False once it is over ``rate``."""
        count, window_seconds = _check_rate(rate)
        [key], expires_at = self._counters("ip", scope, {"client_ip": client_ip}, window_seconds)
        with self._failing_closed():
            return self._store.increment(key, limit=count, expires_at=expires_at) is not None

    def take(self, key: str, *, limit: int, expires_at: int) -> bool:
        """Count one at ``key``, a key its caller built (nothing in it is fingerprinted: a
        partner's id, a nonce); False when the count is already ``limit``. Fails closed."""
        with self._failing_closed():
            return self._store.increment(key, limit=limit, expires_at=expires_at) is not None

    def is_locked(
        self, scope: str, values: Mapping[str, str], rate: Rate, *, network: str | None = None
    ) -> bool:
        """True if any submitted value has reached ``rate.count`` failures this window."""
        return self.standing(scope, values, rate, network=network).locked

    def standing(
        self,
        scope: str,
        values: Mapping[str, str],
        failures: Rate,
        *,
        network: str | None = None,
        budget: Rate | None = None,
    ) -> Standing:
        """The lockout of ``values`` and, when given, the route's ``budget``, in one read.

        With ``network``, failures are counted per value *within that network*: a value
        locked from one network is not locked for another.
        """
        count, window_seconds = _check_rate(failures)
        keys, _ = self._counters("fail", scope, values, window_seconds, network)
        budget_key = None
        if budget is not None:
            limit, budget_window = _check_rate(budget)
            budget_key, _ = self._budget_counter(scope, budget_window)
        with self._failing_closed():
            counts = self._store.read_many([*keys, *([budget_key] if budget_key else [])])
        if budget_key is None:
            return Standing(locked=any(n >= count for n in counts))
        spent = counts.pop()
        return Standing(
            locked=any(n >= count for n in counts),
            budget_exhausted=spent >= limit and not self._leased(scope, budget_key),
            budget_resets_in=self._resets_in(budget_window),
        )

    def record_failure(
        self, scope: str, values: Mapping[str, str], rate: Rate, *, network: str | None = None
    ) -> None:
        """Count one failure against each submitted value (within ``network`` if given)."""
        count, window_seconds = _check_rate(rate)
        keys, expires_at = self._counters("fail", scope, values, window_seconds, network)
        with self._failing_closed():
            for key in keys:
                # None means the value is already locked: the count stays at the limit.
                self._store.increment(key, limit=count, expires_at=expires_at)

    def spend_budget(self, scope: str, budget: Rate) -> BudgetSpend:
        """Count one kintone request against the route's budget, shared by every caller.

        A unit this container reserved earlier is spent first; otherwise a lease of
        :func:`lease_size` units is reserved in the shared counter, or the last units
        one by one: all containers together never spend more than the budget, and a
        container may hold back at most a lease's units that others could have used.
        """
        limit, window_seconds = _check_rate(budget)
        key, expires_at = self._budget_counter(scope, window_seconds)
        resets_in = self._resets_in(window_seconds)
        with self._leases_lock:
            held, left = self._leases.get(scope, (key, 0))
            if held == key and left > 0:
                self._leases[scope] = (key, left - 1)
                return BudgetSpend(False, limit, resets_in)
        size = lease_size(limit)
        with self._failing_closed():
            reserved = self._store.increment(key, limit=limit, expires_at=expires_at, amount=size)
            if reserved is None and size > 1:
                size = 1
                reserved = self._store.increment(key, limit=limit, expires_at=expires_at)
        if reserved is None:
            return BudgetSpend(True, limit, resets_in)
        with self._leases_lock:
            # Another thread of this container may have reserved meanwhile: keep both.
            held, left = self._leases.get(scope, (key, 0))
            self._leases[scope] = (key, (left if held == key else 0) + size - 1)
        threshold = math.ceil(limit * WARNING_SHARE)
        crossed = reserved - size < threshold <= reserved
        return BudgetSpend(False, limit, resets_in, reserved=reserved, crossed_warning=crossed)

    def _leased(self, scope: str, key: str) -> bool:
        with self._leases_lock:
            held, left = self._leases.get(scope, (key, 0))
            return held == key and left > 0

    # -- internals -----------------------------------------------------------------

    def _counters(
        self,
        kind: str,
        scope: str,
        values: Mapping[str, str],
        window_seconds: int,
        network: str | None = None,
    ) -> tuple[list[str], int]:
        """The counter keys of ``values`` in the current window, and when they expire."""
        window, expires_at = self._window(scope, window_seconds)
        if network is not None:
            # Another counter per value and network: the name is marked so the two kinds
            # of counter for one value can never share a key.
            values = {f"{name}@network": f"{network}\x00{v}" for name, v in values.items()}
        # The fingerprint covers the scope, so keys of different scopes never collide;
        # the scope is in the key for an operator reading the table (and for IAM: each
        # function's role may touch only keys that start with its own routes' scopes).
        keys = [
            f"{scope}#{kind}#{window_seconds}#{window}#{self.fingerprint(scope, name, value)}"
            for name, value in values.items()
        ]
        return keys, expires_at

    def _budget_counter(self, scope: str, window_seconds: int) -> tuple[str, int]:
        window, expires_at = self._window(scope, window_seconds)
        return f"{scope}#budget#{window_seconds}#{window}", expires_at

    def _window(self, scope: str, window_seconds: int) -> tuple[int, int]:
        if not isinstance(scope, str) or not 0 < len(scope) <= MAX_SCOPE_LENGTH:
            raise GuardMisconfigured("a guard scope must be a short non-empty string")
        window = int(self._clock() // window_seconds)
        return window, (window + 1) * window_seconds + EXPIRY_GRACE_SECONDS

    def _resets_in(self, window_seconds: int) -> int:
        """Whole seconds until the current window ends (at least 1)."""
        now = self._clock()
        return max(1, math.ceil((int(now // window_seconds) + 1) * window_seconds - now))

    @contextlib.contextmanager
    def _failing_closed(self) -> Iterator[None]:
        try:
            yield
        except (ClientError, BotoCoreError) as exc:
            code = (
                str(exc.response.get("Error", {}).get("Code"))
                if isinstance(exc, ClientError)
                else type(exc).__name__
            )
            logger.warning("guard store failed; refusing the request", extra={"error_code": code})
            if code in _MISCONFIGURED_CODES:
                raise GuardMisconfigured("the guard table is missing or not permitted") from exc
            raise GuardUnavailable("the guard cannot count requests now") from exc
