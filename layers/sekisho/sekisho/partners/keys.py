"""The keys a partner's signature may verify with.

hmac-sha256: the current version of the partner's secret, and the previous one while the
grace lasts (``grace_seconds`` from the current version's ``rotated_at``, as webhook
secrets and session keys count it). ed25519: the public key the policy declares. The
previous version of a never-rotated secret is the template's placeholder or absent: no
key then, and a signature that matches neither is refused alike.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from sekisho.errors import ConfigurationError, SekishoError
from sekisho.policy.partners import PartnerPolicy
from sekisho.secrets.errors import SecretMalformed, SecretStageMissing
from sekisho.secrets.partner_key import partner_key_bytes
from sekisho.webhooks.keys import CURRENT, PREVIOUS, SecretReader, within_grace

logger = logging.getLogger(__name__)


@functools.cache
def _public_key(pem: str) -> Ed25519PublicKey:
    key = load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigurationError("a partner's public_key is not an Ed25519 key")
    return key


class PartnerKeys:
    def __init__(self, secrets: SecretReader, *, clock: Callable[[], float] = time.time) -> None:
        self._secrets = secrets
        self._clock = clock

    def keys(self, partner: PartnerPolicy) -> list[Any]:
        """The keys to try, current first."""
        if partner.algorithm == "ed25519":
            assert partner.public_key is not None  # noqa: S101 - validation requires it
            return [_public_key(partner.public_key)]
        name = partner.key_secret
        assert name is not None  # noqa: S101 - validation requires it
        current = self._secrets.get(name)
        keys = [partner_key_bytes(current, name=name)]
        previous = self._previous(name, current, partner.grace_seconds)
        if previous is not None:
            keys.append(previous)
        return keys

    def refresh(self, partner: PartnerPolicy) -> bool:
        """Re-read the current version now (a partner may sign with a key rotated in
        since this container cached it); True when it changed. The store spaces forced
        reads out, so forged calls cannot make each one a Secrets Manager call."""
        if partner.key_secret is None:
            return False
        try:
            return self._secrets.refresh(partner.key_secret, CURRENT)
        except SekishoError:
            return False

    def _previous(self, name: str, current: dict[str, Any], grace: int) -> bytes | None:
        if not within_grace(current, grace, self._clock()):
            return None
        try:
            return partner_key_bytes(self._secrets.get_stage(name, PREVIOUS), name=name)
        except (SecretStageMissing, SecretMalformed):
            return None
