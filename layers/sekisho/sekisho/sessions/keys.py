"""A realm's signing key: the current version, and the previous one during the grace.

The secret is ``{"kind": "hmac", "key": "...", "rotated_at": <epoch s>}``, generated and
rotated by RotateFunction. After a rotation a session signed a moment before with the
previous key is still valid for the rest of its life, so the previous version is
accepted for ``session_seconds`` after the current one's ``rotated_at`` and never after.

Each use gets a key of its own, derived from the secret (HMAC-SHA256 of a purpose
label), so a session token, a cursor, a ref and a code's hash can never stand in for one
another even though one secret is rotated for all.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any, Literal

from sekisho.errors import ConfigurationError, SekishoError
from sekisho.secrets.errors import SecretMalformed, SecretStageMissing
from sekisho.webhooks.keys import (
    CURRENT,
    PREVIOUS,
    SecretReader,
    within_grace,
)

Purpose = Literal["session", "cursor", "ref", "code", "file"]
MIN_KEY_CHARS = 32


def _derive(key: str, purpose: Purpose) -> bytes:
    return hmac.new(key.encode(), f"sekisho.{purpose}.v1".encode(), hashlib.sha256).digest()


def _key_of(secret: dict[str, Any], name: str) -> str:
    key = secret.get("key")
    if not isinstance(key, str) or len(key) < MIN_KEY_CHARS:
        raise ConfigurationError(
            f"secret {name} holds no key of at least {MIN_KEY_CHARS} characters"
        )
    return key


class RealmKeys:
    """The keys of one realm's secret, current first."""

    def __init__(
        self,
        secrets: SecretReader,
        secret_name: str,
        grace_seconds: int,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secrets = secrets
        self._name = secret_name
        self._grace = grace_seconds
        self._clock = clock

    def signing(self, purpose: Purpose) -> bytes:
        """The key new values are signed with: always the current version's."""
        return _derive(_key_of(self._secrets.get(self._name), self._name), purpose)

    def verifying(self, purpose: Purpose) -> list[bytes]:
        """The keys a value may carry: current, and previous while the grace lasts."""
        current = self._secrets.get(self._name)
        keys = [_derive(_key_of(current, self._name), purpose)]
        previous = self._previous(current)
        if previous is not None:
            keys.append(_derive(previous, purpose))
        return keys

    def refresh(self) -> bool:
        """Re-read the current version (another container may have signed with a newer
        one); True when it changed. The store spaces forced reads out."""
        try:
            return self._secrets.refresh(self._name, CURRENT)
        except SekishoError:
            return False

    def _previous(self, current: dict[str, Any]) -> str | None:
        if not within_grace(current, self._grace, self._clock()):
            return None
        try:
            previous = self._secrets.get_stage(self._name, PREVIOUS)
        except (SecretStageMissing, SecretMalformed):
            return None
        key = previous.get("key")
        # The template's first version holds a placeholder: that is no previous key.
        return key if isinstance(key, str) and len(key) >= MIN_KEY_CHARS else None
