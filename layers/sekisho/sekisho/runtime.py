"""What one container builds once: settings, policy, and each function's service.

Settings and the policy are read at cold start so a bad deployment fails at init with a
clear message; what needs a network call (the guard's hash key) waits for the first
request.
"""

from __future__ import annotations

import functools

from sekisho.errors import ConfigurationError
from sekisho.guard import DynamoGuardStore, Guard
from sekisho.http import HttpSettings
from sekisho.lookup import LookupService
from sekisho.policy import Policy, load_policy
from sekisho.secrets import SecretsManagerBackend, SecretStore
from sekisho.settings import Settings


@functools.cache
def settings() -> Settings:
    return Settings.from_env()


@functools.cache
def policy() -> Policy:
    return load_policy(settings().policy_path)


def http_settings() -> HttpSettings:
    current = settings()
    return HttpSettings(
        allowed_origins=current.allowed_origins, max_body_bytes=current.max_body_bytes
    )


def kintone_base_url() -> str:
    return settings().kintone_base_url or str(policy().kintone.base_url)


@functools.cache
def lookup_service() -> LookupService:
    current = settings()
    if not current.guard_table:
        raise ConfigurationError("GUARD_TABLE is not set")
    store = SecretStore(
        SecretsManagerBackend(),
        allowed=policy().secret_names("views") | {current.guard_hash_key_secret},
    )
    hash_key = store.get(current.guard_hash_key_secret).get("key")
    if not isinstance(hash_key, str) or len(hash_key) < 32:
        raise ConfigurationError("the guard hash key secret holds no usable key")
    guard = Guard(DynamoGuardStore(current.guard_table), hash_key=hash_key.encode())
    return LookupService(
        policy(),
        store.token_source,
        guard,
        kintone_base_url(),
        not_found_floor=current.not_found_floor_ms / 1000,
    )
