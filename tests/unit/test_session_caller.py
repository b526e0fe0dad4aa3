"""Who calls: the token from Authorization: Bearer or the __Host-sekisho cookie, the
cookie's exact attributes, and the verifier that turns a token into a session."""

from __future__ import annotations

import pytest

from sekisho.sessions.caller import (
    COOKIE_NAME,
    Credentials,
    cleared_cookie,
    credentials,
    session_cookie,
)
from sekisho.sessions.errors import OriginRefused, SessionInvalid, SessionRequired
from sekisho.sessions.verifier import revocation_key
from tests.unit.test_session_support import HANAKO, ORIGIN, REALM, World, bearer, cookie


def test_the_session_cookie_is_host_only_secure_http_only_strict_and_short_lived():
    assert session_cookie("eyJ.a.b", 900) == (
        "__Host-sekisho=eyJ.a.b; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=900"
    )


def test_the_cleared_cookie_has_the_same_attributes_and_no_value():
    assert cleared_cookie() == (
        "__Host-sekisho=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"
    )


def test_bearer_wins_over_the_cookie():
    caller = credentials(
        {"Authorization": "Bearer from-header", "Cookie": f"{COOKIE_NAME}=from-cookie"}
    )
    assert caller == Credentials("from-header", via_cookie=False, origin=None)


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": "Bearer tok"},
        {"AUTHORIZATION": "bearer tok"},
        {"Authorization": "BEARER   tok  "},
    ],
)
def test_header_names_and_the_scheme_are_case_insensitive(headers):
    assert credentials(headers).token == "tok"
    assert credentials(headers).via_cookie is False


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Basic dXNlcjpwYXNz", id="another-scheme"),
        pytest.param("Bearer", id="bearer-without-a-token"),
        pytest.param("Bearer    ", id="bearer-with-blanks"),
        pytest.param("", id="empty"),
        pytest.param(None, id="none"),
    ],
)
def test_without_a_bearer_token_the_cookie_is_used(authorization):
    caller = credentials({"Authorization": authorization, "Cookie": f"{COOKIE_NAME}=c"})
    assert caller == Credentials("c", via_cookie=True, origin=None)


@pytest.mark.parametrize(
    ("header", "token"),
    [
        pytest.param(f"{COOKIE_NAME}=tok", "tok", id="alone"),
        pytest.param(f"theme=dark; {COOKIE_NAME}=tok; lang=ja", "tok", id="among-others"),
        pytest.param(f"theme=dark;{COOKIE_NAME}=tok", "tok", id="no-space-after-semicolon"),
        pytest.param(f"  {COOKIE_NAME}=tok  ", "tok", id="blanks-around"),
        pytest.param(f"{COOKIE_NAME}=", None, id="no-value"),
        pytest.param(COOKIE_NAME, None, id="no-equals-sign"),
        pytest.param(f"x{COOKIE_NAME}=tok", None, id="a-prefix-before-the-name"),
        pytest.param(f"__Secure-{COOKIE_NAME}=tok", None, id="another-cookie-prefix"),
        pytest.param(f"{COOKIE_NAME}x=tok", None, id="a-suffix-after-the-name"),
        pytest.param("__host-sekisho=tok", None, id="other-case"),
        pytest.param("sekisho=tok", None, id="without-the-host-prefix"),
        pytest.param(f"theme=dark; {COOKIE_NAME}=; lang=ja", None, id="no-value-among-others"),
        pytest.param("", None, id="empty-header"),
    ],
)
def test_the_cookie_is_read_by_its_exact_name(header, token):
    caller = credentials({"Cookie": header})
    assert caller.token == token
    assert caller.via_cookie is True


def test_no_headers_at_all_is_no_token():
    assert credentials({}) == Credentials(None, via_cookie=True, origin=None)


def test_the_origin_is_kept_and_compared_exactly():
    caller = credentials({"Origin": ORIGIN, "Cookie": f"{COOKIE_NAME}=tok"})
    assert caller.origin == ORIGIN
    assert caller.origin_allowed([ORIGIN]) is True
    assert caller.origin_allowed([ORIGIN + "/"]) is False
    assert caller.origin_allowed(["https://evil.example"]) is False
    assert credentials({"Origin": ""}).origin is None
    assert credentials({}).origin_allowed([ORIGIN]) is False


# -- the verifier ---------------------------------------------------------------------


@pytest.fixture
def world() -> World:
    world = World()
    world.apply()
    return world


def _verify(world: World, caller: Credentials, *, changes_state: bool = False):
    return world.verifier.session(
        REALM, world.policy.realm(REALM), caller, changes_state=changes_state
    )


def test_a_signed_in_token_is_a_session_with_the_realm_s_claims(world):
    session = _verify(world, bearer(world.sign_in()))
    assert (session.realm, dict(session.claims)) == (REALM, {"email": HANAKO})


def test_no_token_is_session_required_with_the_realm_in_www_authenticate(world):
    with pytest.raises(SessionRequired) as refused:
        _verify(world, Credentials(None, via_cookie=True, origin=ORIGIN))
    assert type(refused.value) is SessionRequired
    assert refused.value.problem()["code"] == "session_required"
    assert refused.value.status == 401
    assert refused.value.headers == {"WWW-Authenticate": f'Bearer realm="{REALM}"'}


def test_a_refused_token_is_session_invalid(world):
    with pytest.raises(SessionInvalid) as refused:
        _verify(world, bearer("eyJhbGciOiJub25lIn0.e30."))
    assert refused.value.problem()["code"] == "session_invalid"
    assert refused.value.status == 401
    assert refused.value.headers["WWW-Authenticate"] == (
        f'Bearer realm="{REALM}", error="invalid_token"'
    )


@pytest.mark.parametrize("origin", [None, "https://evil.example", "null", ORIGIN.upper()], ids=repr)
def test_a_state_change_on_the_cookie_needs_an_allowed_origin(world, origin):
    token = world.sign_in()
    with pytest.raises(OriginRefused) as refused:
        _verify(world, cookie(token, origin=origin), changes_state=True)
    assert (refused.value.status, refused.value.problem()["code"]) == (403, "origin_refused")


def test_the_origin_is_checked_before_the_token_is_read(world):
    with pytest.raises(OriginRefused):
        _verify(world, cookie("not-a-token", origin=None), changes_state=True)


def test_a_read_on_the_cookie_and_a_bearer_state_change_need_no_origin(world):
    token = world.sign_in()
    assert _verify(world, cookie(token, origin=None)).claims["email"] == HANAKO
    assert _verify(world, bearer(token), changes_state=True).claims["email"] == HANAKO
    assert _verify(world, cookie(token), changes_state=True).claims["email"] == HANAKO


def test_a_revoked_session_is_invalid_until_it_would_have_expired_anyway(world):
    token = world.sign_in()
    session = _verify(world, bearer(token))
    world.verifier.revoke(session)

    assert revocation_key(REALM, session.jti) in world.store.items
    with pytest.raises(SessionInvalid):
        _verify(world, bearer(token))


def test_a_token_whose_claims_are_not_the_realm_s_is_invalid(world):
    codec = world.tools.codec(REALM)
    extra, _, _ = codec.sign({"claims": {"email": HANAKO, "role": "admin"}}, 900)
    missing, _, _ = codec.sign({"claims": {}}, 900)
    for token in (extra, missing):
        with pytest.raises(SessionInvalid):
            _verify(world, bearer(token))
