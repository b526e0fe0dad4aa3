"""Sign-in by a one-time code: request it, trade it for a session, end the session.

Nothing about an address leaks from the code request: known or not, it answers the same
202 with the same body at the same floor after the request started; a failure that only
a known address meets (SES, the code store) is logged and answered 202 all the same.
The person is read live from kintone at the request and again at sign-in, so a record
removed or no longer ``active`` in between stops the sign-in.

A code is six digits from ``secrets``, valid ``code_seconds``, stored as an HMAC keyed
with the realm's code key over (realm, address, code), one per address (a new request
replaces it) and taken once by a conditional delete. Wrong codes count against the
address in the guard (``failures_per_key``): past it the address is locked for the
window and even the right code fails; every attempt also counts against the client IP.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sekisho.audit import audit
from sekisho.errors import RateLimited, SekishoError, ValidationFailed
from sekisho.forms.fields import checker
from sekisho.forms.problems import FieldProblem
from sekisho.policy.constants import EMAIL_MAX_LENGTH
from sekisho.policy.routes import FormField
from sekisho.safe_traceback import log_unexpected

from .caller import Credentials
from .errors import SignInFailed
from .mail import Mailer, code_message
from .people import find_person
from .realms import RealmTools
from .route import SessionRoute
from .store import SessionStore

if TYPE_CHECKING:
    from sekisho.policy.model import Policy
    from sekisho.policy.sessions import RealmPolicy

logger = logging.getLogger(__name__)

CODE_DIGITS = 6
_CODE = re.compile(r"[0-9]{6}")
_EMAIL = checker(FormField(code="email", type="email", required=True, max_length=EMAIL_MAX_LENGTH))
ACCEPTED = "code_requested"


@dataclass(frozen=True)
class SignedIn:
    token: str
    expires_in: int


def scope(realm: str) -> str:
    # Every item of a realm is keyed "session:<realm>#...": SessionFunction's role may
    # touch no other key of the guard table.
    return f"session:{realm}"


def _email(body: Mapping[str, Any], allowed: frozenset[str]) -> str:
    errors = [
        {"pointer": f"/{key}", "code": "unknown", "detail": "the body has no such member"}
        for key in body
        if key not in allowed
    ]
    raw = body.get("email")
    try:
        if isinstance(raw, str) and any(unicodedata.category(c) == "Cc" for c in raw):
            # Before normalising, which trims: CR or LF at either end is refused too, as an
            # address that carries one was never typed into a form.
            raise FieldProblem("encoding", "must not contain control characters")
        email = str(_EMAIL(raw))
    except FieldProblem as problem:
        code = "required" if body.get("email") in (None, "") else problem.code
        errors.insert(0, {"pointer": "/email", "code": code, "detail": problem.detail})
        email = ""
    if errors:
        raise ValidationFailed("the body is not valid", errors=errors)
    return email


def _digest(key: bytes, realm_name: str, email: str, code: str) -> str:
    message = f"{realm_name}\x00{email}\x00{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


class SignInService(SessionRoute):
    def __init__(
        self,
        policy: Policy,
        tools: RealmTools,
        *,
        store: SessionStore,
        mailer: Mailer,
        code_floor: float = 1.5,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        **parts: Any,
    ) -> None:
        super().__init__(policy, tools, **parts)
        self._store = store
        self._mailer = mailer
        self._floor = code_floor
        self._clock = clock
        self._sleep = sleep

    # -- POST /sessions/{realm}/code ----------------------------------------------

    def request_code(
        self, realm_name: str, body: Mapping[str, Any], client_ip: str
    ) -> dict[str, Any]:
        started = self._clock()
        realm = self._realm(realm_name, client_ip)
        email = _email(body, frozenset({"email"}))
        outcome = "unknown_address"
        if not self._guard.allow_request(
            f"{scope(realm_name)}#mail", email, realm.guard.per_address
        ):
            outcome = "address_rate_limited"  # answered as usual: nothing is sent
        else:
            person = find_person(
                self._clients(realm.token_secret), realm, self._policy.apps[realm.app], email
            )
            if person is not None:
                outcome = self._send_code(realm_name, realm, email)
        audit(
            "sign_in_code",
            route=scope(realm_name),
            caller="anonymous",
            outcome=outcome,
            realm=realm_name,
        )
        self._pad(started)
        return {"status": ACCEPTED, "expires_in": realm.code_seconds}

    def _send_code(self, realm_name: str, realm: RealmPolicy, email: str) -> str:
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        expires_at = int(self._wall()) + realm.code_seconds
        try:
            key = self._tools.keys(realm_name).signing("code")
            digest = _digest(key, realm_name, email, code)
            self._store.put_code(self._code_key(realm_name, email), digest, expires_at)
            self._mailer.send(code_message(email, code, realm.code_seconds))
        except SekishoError as exc:
            # Answered 202 like any address: a 503 only a known address could meet
            # would tell which addresses are known. The visitor asks again.
            logger.error("sign-in code not sent", extra={"problem": exc.code, "realm": realm_name})
            return "not_sent"
        except Exception as exc:  # a bug here must not tell a known address from an unknown one
            log_unexpected(logger, "sign-in code not sent", exc)
            return "not_sent"
        return "sent"

    # -- POST /sessions/{realm} ---------------------------------------------------

    def sign_in(self, realm_name: str, body: Mapping[str, Any], client_ip: str) -> SignedIn:
        realm = self._realm(realm_name, client_ip)
        email = _email(body, frozenset({"email", "code"}))
        code = body.get("code")
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            raise ValidationFailed(
                "the body is not valid",
                errors=[{"pointer": "/code", "code": "format", "detail": "six digits"}],
            )
        values = {"email": email}
        failures = realm.guard.failures_per_key
        outcome = "failed"
        try:
            if self._guard.standing(scope(realm_name), values, failures).locked:
                outcome = "locked"
                raise SignInFailed()
            taken = self._take_code(realm_name, email, code)
            if taken is None:
                self._guard.record_failure(scope(realm_name), values, failures)
                outcome = "wrong_code"
                raise SignInFailed()
            try:
                person = find_person(
                    self._clients(realm.token_secret), realm, self._policy.apps[realm.app], email
                )
            except SekishoError:
                # kintone could not say (down, busy): the code is not spent on that, the
                # visitor tries it again.
                self._store.put_code(self._code_key(realm_name, email), *taken)
                outcome = "person_unreadable"
                raise
            if person is None:
                outcome = "not_active"
                raise SignInFailed()
            token, _, _ = self._tools.codec(realm_name).sign(
                {"claims": dict(person)}, realm.session_seconds
            )
            outcome = "signed_in"
            return SignedIn(token, realm.session_seconds)
        finally:
            audit(
                "sign_in",
                route=scope(realm_name),
                caller="anonymous",
                outcome=outcome,
                realm=realm_name,
            )

    # -- DELETE /sessions/{realm} -------------------------------------------------

    def sign_out(self, realm_name: str, caller: Credentials) -> None:
        realm = self._policy.realm(realm_name)
        session = self._verifier.session(realm_name, realm, caller, changes_state=True)
        self._verifier.revoke(session)
        audit(
            "sign_out",
            route=scope(realm_name),
            caller="visitor",
            outcome="revoked",
            realm=realm_name,
        )

    # -----------------------------------------------------------------------------

    def _realm(self, realm_name: str, client_ip: str) -> RealmPolicy:
        realm = self._policy.realm(realm_name)
        self._switches.check("realms", realm_name, enabled=realm.enabled)
        self._check_when(realm.when, client_ip)
        if not self._guard.allow_request(scope(realm_name), client_ip, realm.guard.per_ip):
            raise RateLimited("try again later")
        return realm

    def _take_code(self, realm_name: str, email: str, code: str) -> tuple[str, int] | None:
        """(digest, expiry) of the code taken, or None. A code mailed just before a key
        rotation was hashed with the previous key."""
        item = self._code_key(realm_name, email)
        for key in self._tools.keys(realm_name).verifying("code"):
            digest = _digest(key, realm_name, email, code)
            expires_at = self._store.take_code(item, digest)
            if expires_at is not None:
                return digest, expires_at
        return None

    def _code_key(self, realm_name: str, email: str) -> str:
        # The address itself never becomes a key: a fingerprint keyed by the guard's key.
        return (
            f"{scope(realm_name)}#code#{self._guard.fingerprint(scope(realm_name), 'email', email)}"
        )

    def _pad(self, started: float) -> None:
        remaining = self._floor - (self._clock() - started)
        if remaining > 0:
            self._sleep(remaining)
        else:
            logger.warning(
                "a code request passed its floor; raise CODE_REQUEST_FLOOR_MS",
                extra={"late_ms": round(-remaining * 1000, 1)},
            )
