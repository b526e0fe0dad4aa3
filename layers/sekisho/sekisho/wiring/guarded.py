"""The per-IP and per-value guard of the browser routes (lookup and intake)."""

from __future__ import annotations

from sekisho.errors import ConfigurationError
from sekisho.guard.dynamodb import DynamoGuardStore
from sekisho.guard.guard import Guard
from sekisho.secrets.store import SecretStore
from sekisho.settings import Settings

MIN_HASH_KEY_CHARS = 32


def guard(store: SecretStore, current: Settings, table: str) -> Guard:
    """The guard over ``table``, keyed by the hash key secret (read on first use)."""

    def hash_key() -> bytes:
        value = store.get(current.guard_hash_key_secret).get("key")
        if not isinstance(value, str) or len(value) < MIN_HASH_KEY_CHARS:
            raise ConfigurationError("the guard hash key secret holds no usable key")
        return value.encode()

    return Guard(DynamoGuardStore(table), hash_key=hash_key)
