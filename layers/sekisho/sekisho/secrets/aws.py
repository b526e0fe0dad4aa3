"""Secrets Manager as a secret backend: declared names in, the stack's full names out."""

from __future__ import annotations

from typing import Any

from sekisho import aws

from .errors import SecretMalformed
from .names import full_name, resolve_prefix


def secretsmanager_client() -> Any:
    """The container's Secrets Manager client (:mod:`sekisho.aws`)."""
    return aws.client("secretsmanager")


class SecretsManagerBackend:
    """``name`` is a declared name; the secret read is the one under ``prefix`` (None: the
    environment's SEKISHO_SECRET_PREFIX, read once, here), :mod:`sekisho.secrets.names`."""

    def __init__(self, client: Any = None, *, prefix: str | None = None) -> None:
        self._client = client
        self.prefix = resolve_prefix(prefix)

    def fetch(self, name: str, stage: str) -> str:
        client = self._client or secretsmanager_client()
        # VersionStage is always explicit: moto (the local stack) does not resolve
        # AWSCURRENT by default the way Secrets Manager does after put_secret_value.
        response = client.get_secret_value(
            SecretId=full_name(name, self.prefix), VersionStage=stage
        )
        value = response.get("SecretString")
        if not isinstance(value, str):
            raise SecretMalformed(f"secret {name!r} ({stage}) holds binary data, not JSON text")
        return value

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prefix={self.prefix!r})"
