"""Session tokens and cursors: JWTs (RFC 7519) signed HS256 with a realm's derived key.

PyJWT does the format. Algorithm confusion and ``alg: none`` are refused by
construction: every decode names exactly one algorithm (HS256) and a bytes key, so a
token saying ``none``, ``RS256`` or anything else fails before its claims are read; the
audience is the realm (a session of one realm is refused by another), ``typ`` tells a
session from a cursor, and ``exp``/``iat``/``aud``/``jti`` are required.

A token carries claims only (the person's email and declared fields), never kintone data.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from .keys import Purpose, RealmKeys

ALGORITHM = "HS256"
ISSUER = "sekisho"
# Clock skew between containers; expiry is otherwise exact.
LEEWAY_SECONDS = 5
_REQUIRED = ["exp", "iat", "aud", "iss", "jti", "typ"]


class TokenRefused(Exception):
    """Not valid here: wrong signature, format, type, audience, or expired. The caller
    answers one problem for all of them."""


@dataclass(frozen=True)
class Session:
    realm: str
    jti: str
    expires_at: int
    claims: Mapping[str, str]


class TokenCodec:
    """Signs and verifies one realm's JWTs of one ``typ``."""

    def __init__(
        self,
        realm: str,
        keys: RealmKeys,
        purpose: Purpose,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._realm = realm
        self._keys = keys
        self._purpose = purpose
        self._clock = clock

    def sign(self, payload: Mapping[str, Any], lifetime: int) -> tuple[str, str, int]:
        """(token, jti, expires_at) for ``payload`` plus the registered claims."""
        now = int(self._clock())
        jti = secrets.token_urlsafe(16)
        claims = {
            **payload,
            "iss": ISSUER,
            "aud": self._realm,
            "typ": self._purpose,
            "iat": now,
            "exp": now + lifetime,
            "jti": jti,
        }
        token = jwt.encode(claims, self._keys.signing(self._purpose), algorithm=ALGORITHM)
        return token, jti, now + lifetime

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or :class:`TokenRefused`."""
        if not isinstance(token, str) or not token or len(token) > 4096:
            raise TokenRefused()
        for attempt in range(2):
            for key in self._keys.verifying(self._purpose):
                claims = self._decode(token, key)
                if claims is not None:
                    return claims
            # Signed with a key this container has not read yet? One forced re-read.
            if attempt or not self._keys.refresh():
                break
        raise TokenRefused()

    def _decode(self, token: str, key: bytes) -> dict[str, Any] | None:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._realm,
                issuer=ISSUER,
                # Expiry is checked below against the codec's clock, the one it signs by.
                options={
                    "require": _REQUIRED,
                    "verify_exp": False,
                    "verify_iat": False,
                    # The audience is one string, the realm: never a list that names it.
                    "strict_aud": True,
                },
            )
        except jwt.InvalidSignatureError:
            return None
        except jwt.PyJWTError as exc:
            # Expired, wrong audience, malformed: the key was right, so no other key helps.
            raise TokenRefused() from exc
        if claims.get("typ") != self._purpose:
            raise TokenRefused()
        now = self._clock()
        issued, expires = claims["iat"], claims["exp"]
        if not all(isinstance(t, int) and not isinstance(t, bool) for t in (issued, expires)):
            raise TokenRefused()
        if expires + LEEWAY_SECONDS < now or issued > now + LEEWAY_SECONDS:
            raise TokenRefused()
        if expires > now + 7200:
            # Nothing sekisho signs lives that long: a token that says so was not ours.
            raise TokenRefused()
        return claims


def session_from(realm: str, claims: Mapping[str, Any]) -> Session:
    values = claims.get("claims")
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        raise TokenRefused()
    return Session(realm, str(claims["jti"]), int(claims["exp"]), dict(values))
