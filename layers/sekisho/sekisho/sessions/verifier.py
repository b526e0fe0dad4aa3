"""The session of a request to a realm's routes: a valid token, not revoked, claims only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .caller import Credentials
from .errors import OriginRefused, SessionInvalid, SessionRequired
from .store import SessionStore
from .tokens import Session, TokenCodec, TokenRefused, session_from

if TYPE_CHECKING:
    from sekisho.policy.sessions import RealmPolicy


def revocation_key(realm: str, jti: str) -> str:
    return f"session:{realm}#revoked#{jti}"


class SessionVerifier:
    def __init__(
        self,
        codec_for: Callable[[str], TokenCodec],
        store: SessionStore,
        allowed_origins: Sequence[str],
    ) -> None:
        self._codec_for = codec_for
        self._store = store
        self._origins = tuple(allowed_origins)

    def session(
        self, realm_name: str, realm: RealmPolicy, caller: Credentials, *, changes_state: bool
    ) -> Session:
        if caller.token is None:
            raise SessionRequired(realm_name)
        if caller.via_cookie and changes_state and not caller.origin_allowed(self._origins):
            # Before the token is even read: a forged cross-site request learns nothing.
            raise OriginRefused()
        try:
            session = session_from(realm_name, self._codec_for(realm_name).verify(caller.token))
        except TokenRefused:
            raise SessionInvalid(realm_name) from None
        if set(session.claims) != set(realm.claim_names):
            raise SessionInvalid(realm_name)
        if self._store.is_revoked(revocation_key(realm_name, session.jti)):
            raise SessionInvalid(realm_name)
        return session

    def revoke(self, session: Session) -> None:
        self._store.revoke(revocation_key(session.realm, session.jti), session.expires_at)
