"""LookupFunction: ``POST /views/{view}``."""

from __future__ import annotations

import functools

from sekisho import runtime
from sekisho.aws import Service
from sekisho.lookup import LookupService
from sekisho.secrets.aws import SecretsManagerBackend
from sekisho.secrets.store import SecretStore

from .guarded import guard
from .routes import route_switches

# The AWS services this function's role may call (template.yaml), so its clients: with
# SnapStart, built by the init into the snapshot (snapstart.prepare), not by a request.
AWS_SERVICES: tuple[Service, ...] = ("dynamodb", "secretsmanager", "ssm")


@functools.cache
def lookup_service() -> LookupService:
    current = runtime.settings()
    (table,) = runtime.required("guard_table")
    store = SecretStore(
        SecretsManagerBackend(),
        allowed=runtime.policy().secret_names("views") | {current.guard_hash_key_secret},
    )
    return LookupService(
        runtime.policy(),
        store.token_source,
        guard(store, current, table),
        runtime.kintone_base_url(),
        not_found_deadline=current.not_found_deadline_ms / 1000,
        switches=route_switches(),
    )
