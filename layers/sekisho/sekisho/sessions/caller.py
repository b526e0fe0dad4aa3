"""Who is calling a session route: the token from the cookie or the Authorization
header, and whether a cookie-borne state change comes from an allowed origin.

Pages send the session as the ``__Host-sekisho`` cookie (HttpOnly: no script of the page
can read it; ``__Host-``: only this host, over HTTPS, path ``/``, can set it; SameSite
Strict). API callers send ``Authorization: Bearer``. A browser attaches a cookie to
requests other sites make, so a state change that rides on the cookie must also carry
an ``Origin`` the route allows (CSRF); a bearer token is never sent by a browser on its
own, so it needs no such check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

COOKIE_NAME = "__Host-sekisho"
_COOKIE_ATTRIBUTES = "Path=/; Secure; HttpOnly; SameSite=Strict"


@dataclass(frozen=True)
class Credentials:
    token: str | None
    via_cookie: bool
    origin: str | None

    def origin_allowed(self, allowed: Sequence[str]) -> bool:
        return self.origin is not None and self.origin in allowed


def credentials(headers: Mapping[str, str | None]) -> Credentials:
    """The caller's session token: Bearer first (an API caller), else the cookie."""
    lower = {name.lower(): value for name, value in headers.items() if value is not None}
    origin = lower.get("origin") or None
    scheme, _, value = (lower.get("authorization") or "").strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return Credentials(value.strip(), via_cookie=False, origin=origin)
    return Credentials(_cookie(lower.get("cookie") or ""), via_cookie=True, origin=origin)


def _cookie(header: str) -> str | None:
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name == COOKIE_NAME and value:
            return value
    return None


def session_cookie(token: str, max_age: int) -> str:
    return f"{COOKIE_NAME}={token}; {_COOKIE_ATTRIBUTES}; Max-Age={max_age}"


def cleared_cookie() -> str:
    return f"{COOKIE_NAME}=; {_COOKIE_ATTRIBUTES}; Max-Age=0"
