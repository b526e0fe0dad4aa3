"""The secret store: allowlisted, cached, stale-if-error reads of JSON secrets.

One store per function, built at cold start with the names its policy section names.
Every backend (Secrets Manager, the in-memory twin) only fetches a SecretString; the
allowlist, the cache, the forced refresh and the mapping of failures to the relay's
errors live here, once.

Values never leave this module except through :meth:`SecretStore.get` and friends: they
are not logged, not put in exceptions and not shown by ``repr``.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sekisho import aws
from sekisho.errors import ConfigurationError
from sekisho.kintone.client import TokenSource

from .backend import CURRENT, SecretBackend
from .errors import (
    SecretMalformed,
    SecretMissing,
    SecretNotAllowed,
    SecretStageMissing,
    SecretUnavailable,
)
from .kintone_token import check_kintone_token
from .value import json_object

logger = logging.getLogger(__name__)

MAX_TTL = 300.0
# Shortens the cache's lifetime below MAX_TTL (never past it): the local stack's fault
# rehearsal (`make chaos`) sets it so every warm cache expires inside a one-minute Secrets
# Manager outage and has to serve stale. The template does not set it.
TTL_VARIABLE = "SEKISHO_SECRET_CACHE_TTL"
# Secrets Manager's answers for "this deployment cannot read that secret": retrying will
# not help, so with nothing cached they are configuration errors, not 503s.
_MISSING_CODES = frozenset(
    {"ResourceNotFoundException", "AccessDeniedException", "DecryptionFailure"}
)
_ABSENT_CODES = frozenset({"ResourceNotFoundException"})


@dataclass
class _Entry:
    # None: the backend said this (name, stage) does not exist. Remembering that for the
    # TTL keeps a flood of forged webhooks from turning each AWSPREVIOUS fallback into a
    # Secrets Manager call before the first rotation.
    value: dict[str, Any] | None = field(repr=False)
    expires_at: float


def _parse(raw: str, name: str, stage: str) -> dict[str, Any]:
    try:
        return json_object(raw)
    except ValueError as exc:
        raise SecretMalformed(f"secret {name!r} ({stage}) {exc}") from None


def default_ttl(env: Mapping[str, str] | None = None) -> float:
    """MAX_TTL, or the shorter lifetime TTL_VARIABLE gives."""
    text = (os.environ if env is None else env).get(TTL_VARIABLE, "").strip()
    if not text:
        return MAX_TTL
    try:
        ttl = float(text)
    except ValueError:
        raise ConfigurationError(f"{TTL_VARIABLE} must be a number of seconds") from None
    if not 0 <= ttl <= MAX_TTL:
        raise ConfigurationError(f"{TTL_VARIABLE} must be between 0 and {MAX_TTL:g} s")
    return ttl


def _missing(name: str, stage: str, *, absent: bool) -> SecretMissing:
    if absent and stage != CURRENT:
        return SecretStageMissing(f"secret {name!r} has no version at stage {stage}")
    return SecretMissing(f"secret {name!r} ({stage}) does not exist or may not be read")


# Every store of the container, for SnapStart's hooks (forget_cached_values).
_STORES: weakref.WeakSet[SecretStore] = weakref.WeakSet()


def forget_cached_values() -> int:
    """Empty every store's cache (values and forced-refresh times): the next read of each
    secret goes to the backend. The number of cached entries forgotten."""
    forgotten = 0
    for store in list(_STORES):
        forgotten += store.forget()
    return forgotten


class SecretStore:
    def __init__(
        self,
        backend: SecretBackend,
        *,
        allowed: Iterable[str],
        ttl: float | None = None,
        min_refresh_interval: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(allowed, str):
            raise ConfigurationError("allowed must be a collection of secret names")
        ttl = default_ttl() if ttl is None else ttl
        names = frozenset(allowed)
        if not all(isinstance(n, str) and n for n in names):
            raise ConfigurationError("allowed secret names must be non-empty strings")
        if not 0 <= ttl <= MAX_TTL:
            raise ConfigurationError(f"secret cache ttl must be between 0 and {MAX_TTL:g} s")
        if min_refresh_interval < 0:
            raise ConfigurationError("min_refresh_interval must not be negative")
        self._backend = backend
        self._allowed = names
        self._ttl = ttl
        self._min_refresh_interval = min_refresh_interval
        self._clock = clock
        # One lock for the cache and the backend call: a container serves one event at a
        # time, so it only makes concurrent threads share one fetch instead of racing.
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._forced_at: dict[tuple[str, str], float] = {}
        _STORES.add(self)

    # -- public API ----------------------------------------------------------------

    def get(self, name: str) -> dict[str, Any]:
        """The JSON object stored at ``name`` (AWSCURRENT)."""
        return self.get_stage(name, CURRENT)

    def get_stage(self, name: str, stage: str) -> dict[str, Any]:
        """The JSON object at an explicit ``VersionStage`` (e.g. AWSPREVIOUS)."""
        key = self._key(name, stage)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or self._clock() >= entry.expires_at:
                entry = self._load(key, entry)
            return self._value(entry, key)

    def refresh(self, name: str, stage: str = CURRENT) -> bool:
        """Re-read ``name`` now, ignoring the TTL; True when the value changed.

        At most one forced read per name and stage per ``min_refresh_interval``: a token
        that stays invalid must not turn every request into a Secrets Manager call.
        """
        key = self._key(name, stage)
        with self._lock:
            now = self._clock()
            last = self._forced_at.get(key)
            if last is not None and now - last < self._min_refresh_interval:
                return False
            self._forced_at[key] = now
            before = self._entries.get(key)
            after = self._load(key, before)
            self._value(after, key)
            return before is None or before.value != after.value

    def forget(self) -> int:
        """Drop every cached value; the number dropped."""
        with self._lock:
            forgotten = len(self._entries)
            self._entries.clear()
            self._forced_at.clear()
            return forgotten

    def token_source(self, name: str, key: str = "token") -> TokenSource:
        """A kintone token source over ``name``; GAIA_IA02 triggers :meth:`refresh`."""
        self._key(name, CURRENT)

        def current() -> str:
            token = self.get(name).get(key)
            if not isinstance(token, str) or not token:
                raise SecretMalformed(f"secret {name!r} has no non-empty string {key!r}")
            # Checked on every read, not only the first: a refresh may bring a new value.
            return check_kintone_token(token, name=name, key=key)

        return TokenSource(current=current, refresh=lambda: self.refresh(name))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(backend={self._backend!r}, "
            f"allowed={sorted(self._allowed)!r}, ttl={self._ttl:g}, "
            f"cached={len(self._entries)})"
        )

    # -- internals -----------------------------------------------------------------

    def _key(self, name: str, stage: str) -> tuple[str, str]:
        # Defence in depth beside IAM: checked before any backend call.
        if not isinstance(name, str) or name not in self._allowed:
            raise SecretNotAllowed(f"secret {name!r} is not named by this function's policy")
        if not isinstance(stage, str) or not stage:
            raise ConfigurationError("a secret version stage must be a non-empty string")
        return (name, stage)

    def _load(self, key: tuple[str, str], cached: _Entry | None) -> _Entry:
        name, stage = key
        now = self._clock()
        try:
            raw = self._backend.fetch(name, stage)
        except (ClientError, BotoCoreError) as exc:
            code = aws.error_code(exc)
            if cached is not None:
                logger.warning(
                    "secret read failed; serving the cached value",
                    extra={"secret_name": name, "secret_stage": stage, "error_code": code},
                )
                # Hold the stale value a while before asking again, so an outage does
                # not make every request wait for Secrets Manager's timeouts.
                retry_at = now + min(self._min_refresh_interval, MAX_TTL)
                stale = _Entry(cached.value, max(cached.expires_at, retry_at))
                self._entries[key] = stale
                return stale
            if code in _ABSENT_CODES:
                self._entries[key] = _Entry(None, now + self._ttl)
            if code in _MISSING_CODES:
                raise _missing(name, stage, absent=code in _ABSENT_CODES) from exc
            logger.warning(
                "secret read failed with nothing cached",
                extra={"secret_name": name, "secret_stage": stage, "error_code": code},
            )
            raise SecretUnavailable(f"secret {name!r} ({stage}) cannot be read now") from exc
        entry = _Entry(_parse(raw, name, stage), now + self._ttl)
        self._entries[key] = entry
        return entry

    @staticmethod
    def _value(entry: _Entry, key: tuple[str, str]) -> dict[str, Any]:
        if entry.value is None:
            raise _missing(*key, absent=True)
        # Callers get a copy: a handler that edits its dict must not edit the cache.
        return copy.deepcopy(entry.value)
