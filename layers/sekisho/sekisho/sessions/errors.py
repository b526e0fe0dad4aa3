"""The problems a signed-in visitor's routes answer with (one hierarchy: sekisho.errors)."""

from __future__ import annotations

from sekisho.errors import SekishoError, UpstreamUnavailable, ValidationFailed


class SignInFailed(SekishoError, code="sign_in_failed", status=401, title="The code is not valid"):
    """A wrong, expired or used code, an unknown or locked address, a person no longer
    active: one answer for all, so none of them can be told from another."""

    def __init__(self) -> None:
        super().__init__("the code is wrong, expired or used: request a new one")


class SessionRequired(SekishoError, code="session_required", status=401, title="Sign in first"):
    def __init__(self, realm: str, detail: str | None = None) -> None:
        super().__init__(detail or "this route needs a session: sign in")
        # RFC 6750: a 401 for a bearer-protected resource says which realm to sign in to.
        self.headers = {"WWW-Authenticate": f'Bearer realm="{realm}"'}


class SessionInvalid(SessionRequired, code="session_invalid", title="The session is not valid"):
    def __init__(self, realm: str) -> None:
        super().__init__(realm, "the session has ended or is not valid here: sign in again")
        self.headers["WWW-Authenticate"] += ', error="invalid_token"'


class CursorInvalid(ValidationFailed, code="cursor_invalid", title="The cursor is not valid"):
    def __init__(self) -> None:
        super().__init__("the cursor is not one this session was given for this view")


class OriginRefused(
    SekishoError, code="origin_refused", status=403, title="The request's origin is not allowed"
):
    def __init__(self) -> None:
        super().__init__("a request with the session cookie must come from an allowed origin")


class EntryLocked(
    SekishoError, code="entry_locked", status=409, title="The entry can no longer be changed"
):
    def __init__(self) -> None:
        super().__init__("the entry is paid or cancelled")


class RevisionMismatch(
    SekishoError, code="revision_mismatch", status=412, title="The entry has changed"
):
    def __init__(self) -> None:
        super().__init__("the entry changed since that revision: read it again")


class RevisionRequired(
    SekishoError, code="revision_required", status=428, title="Say which revision you change"
):
    def __init__(self) -> None:
        super().__init__("send If-Match with the entry's revision")


class SessionStoreUnavailable(UpstreamUnavailable):
    """DynamoDB could not answer for codes or revocations: fail closed, retry later."""
