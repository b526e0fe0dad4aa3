"""The one hook a secret backend implements; the store does caching and error wrapping."""

from __future__ import annotations

from typing import Protocol

CURRENT = "AWSCURRENT"
PREVIOUS = "AWSPREVIOUS"


class SecretBackend(Protocol):
    def fetch(self, name: str, stage: str) -> str:
        """The SecretString of ``name`` at ``stage``.

        Failures surface as botocore's ``ClientError`` (with Secrets Manager's error code)
        or ``BotoCoreError``; the in-memory twin raises the same, so the store maps
        failures in one place whatever the backend.
        """
        ...
