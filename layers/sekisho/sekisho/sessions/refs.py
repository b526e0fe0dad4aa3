"""Opaque references a signed-in visitor is handed: an entry's ``ref`` and a list's cursor.

A ref names one record of one app for one realm: ``<id>.<tag>``, the tag an HMAC of
(realm, app, id) with the realm's ref key, so a visitor cannot make up the ref of a record
they were never shown. It is not the only check: every use re-reads the record and compares
its owner with the session's claim, so a leaked ref is worth nothing to anyone else.

A cursor is a short JWT (:mod:`.tokens`) bound to the session (its ``jti``) and the view,
carrying the last ``$id`` shown: the next page is sought by ``$id`` (kintone refuses
offsets past 10,000). A cursor from another session or another view is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any

from .errors import CursorInvalid
from .keys import RealmKeys
from .tokens import Session, TokenCodec, TokenRefused

_REF = re.compile(r"([1-9][0-9]{0,18})\.([A-Za-z0-9_-]{22})")


def _tag(key: bytes, realm: str, app: int, record_id: str) -> str:
    message = f"{realm}\x00{app}\x00{record_id}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class Refs:
    def __init__(self, realm: str, keys: RealmKeys) -> None:
        self._realm = realm
        self._keys = keys

    def make(self, app: int, record_id: str) -> str:
        return f"{record_id}.{_tag(self._keys.signing('ref'), self._realm, app, record_id)}"

    def record_id(self, app: int, ref: str) -> int | None:
        """The record a ref names, or None when it is not one this realm made."""
        match = _REF.fullmatch(ref) if isinstance(ref, str) else None
        if match is None:
            return None
        record_id, tag = match.groups()
        for key in self._keys.verifying("ref"):
            if hmac.compare_digest(tag, _tag(key, self._realm, app, record_id)):
                return int(record_id)
        return None


class Cursors:
    def __init__(self, codec: TokenCodec) -> None:
        self._codec = codec

    def make(self, session: Session, view: str, last_id: int, now: float) -> str:
        lifetime = max(1, session.expires_at - int(now))
        token, _, _ = self._codec.sign(
            {"sid": session.jti, "view": view, "last": last_id}, lifetime
        )
        return token

    def last_id(self, cursor: Any, session: Session, view: str) -> int:
        try:
            claims = self._codec.verify(cursor)
        except TokenRefused:
            raise CursorInvalid() from None
        last = claims.get("last")
        if (
            claims.get("sid") != session.jti
            or claims.get("view") != view
            or not isinstance(last, int)
            or isinstance(last, bool)
            or last < 1
        ):
            raise CursorInvalid()
        return last
