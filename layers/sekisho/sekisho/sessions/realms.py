"""What SessionFunction holds per realm, made once per container: its keys, its token
codecs, its refs and cursors; and the one place every session route gets them from."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from sekisho.webhooks.keys import SecretReader

from .keys import Purpose, RealmKeys
from .refs import Cursors, Refs
from .tokens import TokenCodec

if TYPE_CHECKING:
    from sekisho.policy import Policy


class RealmTools:
    def __init__(
        self, policy: Policy, secrets: SecretReader, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._policy = policy
        self._secrets = secrets
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, RealmKeys] = {}
        self._codecs: dict[tuple[str, str], TokenCodec] = {}

    def keys(self, realm: str) -> RealmKeys:
        with self._lock:
            found = self._keys.get(realm)
            if found is None:
                policy = self._policy.realm(realm)
                # A session signed, or a code mailed, just before a rotation lives on for
                # its lifetime: the previous key is accepted for the longer of the two.
                grace = max(policy.session_seconds, policy.code_seconds)
                found = RealmKeys(self._secrets, policy.key_secret, grace, clock=self._clock)
                self._keys[realm] = found
            return found

    def codec(self, realm: str, purpose: Purpose = "session") -> TokenCodec:
        keys = self.keys(realm)
        with self._lock:
            found = self._codecs.get((realm, purpose))
            if found is None:
                found = TokenCodec(realm, keys, purpose, clock=self._clock)
                self._codecs[(realm, purpose)] = found
            return found

    def refs(self, realm: str) -> Refs:
        return Refs(realm, self.keys(realm))

    def cursors(self, realm: str) -> Cursors:
        return Cursors(self.codec(realm, "cursor"))
