"""Session tokens: HS256 JWTs of one realm and one typ, refused whatever else they are."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable

import jwt
import pytest

from sekisho.secrets.memory import InMemorySecretBackend
from sekisho.secrets.store import SecretStore
from sekisho.sessions.keys import RealmKeys
from sekisho.sessions.tokens import TokenCodec, TokenRefused, session_from
from tests.unit.test_session_support import (
    HANAKO,
    KEY,
    KEY_SECRET,
    NOW,
    OTHER_KEY,
    REALM,
    Clock,
    key_secret,
)

GRACE = 900
PREVIOUS = "AWSPREVIOUS"
CLAIMS = {"claims": {"email": HANAKO}}


class CountingBackend(InMemorySecretBackend):
    def __init__(self) -> None:
        super().__init__()
        self.fetched: list[tuple[str, str]] = []

    def fetch(self, name: str, stage: str) -> str:
        self.fetched.append((name, stage))
        return super().fetch(name, stage)


class Container:
    """One SessionFunction container's view of the realm key: its own cached store."""

    def __init__(self, backend: InMemorySecretBackend, clock: Clock) -> None:
        self.store = SecretStore(backend, allowed={KEY_SECRET}, clock=clock)
        self.keys = RealmKeys(self.store, KEY_SECRET, GRACE, clock=clock)

    def codec(self, purpose: str = "session", realm: str = REALM, clock=None) -> TokenCodec:
        return TokenCodec(realm, self.keys, purpose, clock=clock or self.keys._clock)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def backend() -> CountingBackend:
    backend = CountingBackend()
    backend.put(KEY_SECRET, key_secret(KEY))
    return backend


@pytest.fixture
def container(backend, clock) -> Container:
    return Container(backend, clock)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json(value: dict) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def _claims(now: float, **changes) -> dict:
    claims = {
        **CLAIMS,
        "iss": "sekisho",
        "aud": REALM,
        "typ": "session",
        "iat": int(now),
        "exp": int(now) + 900,
        "jti": "a-jti-of-sixteen",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _session_key(container: Container) -> bytes:
    return container.keys.signing("session")


def _hand_made(header: dict, claims: dict, key: bytes | None) -> str:
    signing_input = f"{_json(header)}.{_json(claims)}"
    if key is None:
        return f"{signing_input}."
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _edit_payload(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["claims"]["email"] = "mallory@example.com"
    return f"{header}.{_json(claims)}.{signature}"


def _edit_signature(token: str) -> str:
    header, payload, signature = token.split(".")
    first = "B" if signature[0] != "B" else "C"
    return f"{header}.{payload}.{first}{signature[1:]}"


# -- a token round-trips --------------------------------------------------------------


def test_a_signed_session_token_verifies_to_its_claims(container, clock):
    codec = container.codec()
    token, jti, expires_at = codec.sign(CLAIMS, 900)

    claims = codec.verify(token)

    assert claims["claims"] == {"email": HANAKO}
    assert (claims["iss"], claims["aud"], claims["typ"], claims["jti"]) == (
        "sekisho",
        REALM,
        "session",
        jti,
    )
    assert claims["exp"] == expires_at == int(clock.now) + 900
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    session = session_from(REALM, claims)
    assert (session.realm, session.jti, dict(session.claims)) == (REALM, jti, {"email": HANAKO})


def test_two_tokens_for_the_same_person_have_different_ids(container):
    codec = container.codec()
    assert codec.sign(CLAIMS, 900)[1] != codec.sign(CLAIMS, 900)[1]


# -- refused --------------------------------------------------------------------------

Forgery = Callable[[Container, Clock, str], object]

FORGERIES: list = [
    pytest.param(
        lambda c, clock, good: _hand_made({"alg": "none", "typ": "JWT"}, _claims(clock()), None),
        id="alg-none-hand-made",
    ),
    pytest.param(
        lambda c, clock, good: _hand_made({"alg": "None", "typ": "JWT"}, _claims(clock()), None),
        id="alg-None-capitalised",
    ),
    pytest.param(
        lambda c, clock, good: jwt.encode(_claims(clock()), _session_key(c), algorithm="HS384"),
        id="HS384-with-the-right-key",
    ),
    pytest.param(
        lambda c, clock, good: jwt.encode(_claims(clock()), _session_key(c), algorithm="HS512"),
        id="HS512-with-the-right-key",
    ),
    pytest.param(
        # Algorithm confusion: an RS256 header, signed by HMAC with the key as if it were
        # the "public key" a verifier would use for RS256.
        lambda c, clock, good: _hand_made(
            {"alg": "RS256", "typ": "JWT"}, _claims(clock()), _session_key(c)
        ),
        id="RS256-header-HMAC-signed-with-the-key",
    ),
    pytest.param(
        lambda c, clock, good: c.codec(realm="other-realm").sign(CLAIMS, 900)[0],
        id="wrong-audience",
    ),
    pytest.param(
        lambda c, clock, good: jwt.encode(
            _claims(clock(), iss="someone-else"), _session_key(c), algorithm="HS256"
        ),
        id="wrong-issuer",
    ),
    pytest.param(
        lambda c, clock, good: c.codec("cursor").sign(CLAIMS, 900)[0],
        id="a-cursor-used-as-a-session",
    ),
    pytest.param(
        lambda c, clock, good: jwt.encode(
            _claims(clock(), typ="cursor"), _session_key(c), algorithm="HS256"
        ),
        id="typ-cursor-with-the-session-key",
    ),
    pytest.param(
        lambda c, clock, good: jwt.encode(
            _claims(clock(), exp=None), _session_key(c), algorithm="HS256"
        ),
        id="missing-exp",
    ),
    pytest.param(
        lambda c, clock, good: jwt.encode(
            _claims(clock(), jti=None), _session_key(c), algorithm="HS256"
        ),
        id="missing-jti",
    ),
    pytest.param(
        lambda c, clock, good: jwt.encode(
            _claims(clock(), typ=None), _session_key(c), algorithm="HS256"
        ),
        id="missing-typ",
    ),
    pytest.param(
        lambda c, clock, good: jwt.encode(
            _claims(clock(), exp=int(clock()) + 86_400), _session_key(c), algorithm="HS256"
        ),
        id="a-lifetime-sekisho-never-signs",
    ),
    pytest.param(
        lambda c, clock, good: jwt.encode(
            _claims(clock() - 2000, exp=int(clock()) - 1000), _session_key(c), algorithm="HS256"
        ),
        id="expired-long-ago",
    ),
    pytest.param(lambda c, clock, good: _edit_payload(good), id="payload-edited"),
    pytest.param(lambda c, clock, good: _edit_signature(good), id="signature-edited"),
    pytest.param(lambda c, clock, good: good + "x", id="signature-extended"),
    pytest.param(lambda c, clock, good: good.rsplit(".", 1)[0] + ".", id="signature-dropped"),
    pytest.param(
        lambda c, clock, good: jwt.encode(_claims(clock()), OTHER_KEY.encode(), algorithm="HS256"),
        id="signed-with-another-key",
    ),
    pytest.param(
        lambda c, clock, good: jwt.encode(_claims(clock()), KEY.encode(), algorithm="HS256"),
        id="signed-with-the-raw-secret-not-the-derived-key",
    ),
    pytest.param(
        lambda c, clock, good: c.codec().sign({"claims": {"email": "x" * 4096}}, 900)[0],
        id="validly-signed-but-longer-than-4096",
    ),
    pytest.param(lambda c, clock, good: None, id="None"),
    pytest.param(lambda c, clock, good: 12345, id="an-int"),
    pytest.param(lambda c, clock, good: good.encode(), id="bytes"),
    pytest.param(lambda c, clock, good: "", id="empty"),
    pytest.param(lambda c, clock, good: "not.a.jwt", id="garbage"),
]


# HS384/HS512 forgeries are made with a 32-byte key, which PyJWT warns about.
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("forge", FORGERIES)
def test_a_token_that_is_not_a_session_of_this_realm_is_refused(container, clock, forge):
    codec = container.codec()
    good, _, _ = codec.sign(CLAIMS, 900)
    assert codec.verify(good)["claims"] == CLAIMS["claims"]  # the control

    with pytest.raises(TokenRefused):
        codec.verify(forge(container, clock, good))


def test_a_token_is_refused_once_the_codec_s_clock_passes_its_expiry(container, clock):
    codec = container.codec()
    token, _, expires_at = codec.sign(CLAIMS, 900)
    clock.now = expires_at - 1
    assert codec.verify(token)["exp"] == expires_at

    # Past exp and the 5 s leeway by the clock the codec was given.
    clock.now = expires_at + 6
    with pytest.raises(TokenRefused):
        codec.verify(token)


def test_a_token_issued_in_the_future_is_refused(container, clock):
    ahead = container.codec(clock=lambda: clock() + 600)
    token, _, _ = ahead.sign(CLAIMS, 900)
    with pytest.raises(TokenRefused):
        container.codec().verify(token)


# -- rotation ---------------------------------------------------------------------------


def _rotate(backend: InMemorySecretBackend, rotated_at: float | None, previous: str = KEY) -> None:
    backend.put(KEY_SECRET, key_secret(previous), stage=PREVIOUS)
    backend.put(KEY_SECRET, key_secret(OTHER_KEY, rotated_at=rotated_at))


def test_a_session_signed_with_the_previous_key_is_accepted_within_the_grace(backend, clock):
    # A lifetime longer than the grace, so only the key can refuse it.
    token, _, _ = Container(backend, clock).codec().sign(CLAIMS, 3600)
    _rotate(backend, rotated_at=clock.now + 10)
    clock.advance(10 + GRACE - 1)  # one second before the grace ends

    assert Container(backend, clock).codec().verify(token)["claims"] == CLAIMS["claims"]


def test_a_session_signed_with_the_previous_key_is_refused_after_the_grace(backend, clock):
    # A lifetime longer than the grace, so only the key can refuse it.
    token, _, _ = Container(backend, clock).codec().sign(CLAIMS, 3600)
    _rotate(backend, rotated_at=clock.now + 10)
    clock.advance(10 + GRACE + 1)

    with pytest.raises(TokenRefused):
        Container(backend, clock).codec().verify(token)


@pytest.mark.parametrize(
    "rotated_at",
    [
        pytest.param(None, id="no-rotated_at"),
        pytest.param(NOW + 3600, id="rotated_at-an-hour-ahead"),
        pytest.param(NOW * 1000, id="rotated_at-in-milliseconds"),
        pytest.param("yesterday", id="rotated_at-a-string"),
        pytest.param(True, id="rotated_at-a-bool"),
    ],
)
def test_without_a_usable_rotated_at_there_is_no_previous_key(backend, clock, rotated_at):
    token, _, _ = Container(backend, clock).codec().sign(CLAIMS, 900)
    backend.put(KEY_SECRET, key_secret(KEY), stage=PREVIOUS)
    current = {"kind": "hmac", "key": OTHER_KEY, "rotated_at": rotated_at}
    backend.put(KEY_SECRET, json.dumps(current))

    with pytest.raises(TokenRefused):
        Container(backend, clock).codec().verify(token)


def test_a_token_signed_by_a_newer_key_is_accepted_after_one_forced_refresh(backend, clock):
    old = Container(backend, clock)
    old_codec = old.codec()
    old_codec.verify(old_codec.sign(CLAIMS, 900)[0])  # the old key is now cached
    _rotate(backend, rotated_at=clock.now)
    newer = Container(backend, clock).codec().sign(CLAIMS, 900)[0]
    backend.fetched.clear()

    assert old_codec.verify(newer)["claims"] == CLAIMS["claims"]
    assert backend.fetched.count((KEY_SECRET, "AWSCURRENT")) == 1


def test_a_token_of_an_unknown_key_forces_at_most_one_refresh(backend, clock, container):
    codec = container.codec()
    codec.verify(codec.sign(CLAIMS, 900)[0])
    forged = jwt.encode(_claims(clock()), b"k" * 32, algorithm="HS256")
    backend.fetched.clear()

    for _ in range(3):
        with pytest.raises(TokenRefused):
            codec.verify(forged)

    # The store spaces forced reads out: a flood of forgeries is not a flood of reads.
    assert backend.fetched.count((KEY_SECRET, "AWSCURRENT")) == 1


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({}, id="no-claims"),
        pytest.param({"claims": "hanako"}, id="claims-not-an-object"),
        pytest.param({"claims": {"email": 7}}, id="a-claim-not-a-string"),
        pytest.param({"claims": {"email": ["a", "b"]}}, id="a-claim-a-list"),
    ],
)
def test_a_verified_token_without_string_claims_is_no_session(container, claims):
    codec = container.codec()
    with pytest.raises(TokenRefused):
        session_from(REALM, codec.verify(codec.sign(claims, 900)[0]))
