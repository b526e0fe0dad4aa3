"""Secrets Manager as a secret backend."""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.config import Config

from .errors import SecretMalformed

# Lambda's default boto3 timeouts are 60 s; a lookup cannot wait that long for a token
# it may already hold (stale-if-error), so fail fast and let the store decide.
SECRETS_MANAGER_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "max_attempts": 3},
)


@functools.cache
def secretsmanager_client() -> Any:
    """One client per container. boto3 honours AWS_ENDPOINT_URL (the local stack's moto)."""
    return boto3.client("secretsmanager", config=SECRETS_MANAGER_CONFIG)


class SecretsManagerBackend:
    def __init__(self, client: Any = None) -> None:
        self._client = client

    def fetch(self, name: str, stage: str) -> str:
        client = self._client or secretsmanager_client()
        # VersionStage is always explicit: moto (the local stack) does not resolve
        # AWSCURRENT by default the way Secrets Manager does after put_secret_value.
        response = client.get_secret_value(SecretId=name, VersionStage=stage)
        value = response.get("SecretString")
        if not isinstance(value, str):
            raise SecretMalformed(f"secret {name!r} ({stage}) holds binary data, not JSON text")
        return value

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
