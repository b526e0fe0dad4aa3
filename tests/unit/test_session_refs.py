"""Refs name one record of one app for one realm; cursors one session's place in one
view. Anything else is refused: a ref as None (the uniform 404), a cursor as 400."""

from __future__ import annotations

import jwt
import pytest

from sekisho.sessions.errors import CursorInvalid
from sekisho.sessions.refs import Cursors, Refs
from sekisho.sessions.tokens import Session, TokenCodec
from tests.unit.test_session_support import (
    APP,
    HANAKO,
    KEY,
    KEY_SECRET,
    OTHER_KEY,
    REALM,
    VIEW,
    World,
    key_secret,
)


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def refs(world) -> Refs:
    return world.tools.refs(REALM)


def test_a_ref_names_its_record(refs):
    ref = refs.make(APP, "42")
    assert ref.startswith("42.")
    assert refs.record_id(APP, ref) == 42


def test_a_ref_made_by_another_container_of_the_realm_is_the_same(world, refs):
    assert World().tools.refs(REALM).make(APP, "42") == refs.make(APP, "42")


def _tampered(ref: str) -> str:
    record_id, tag = ref.split(".")
    return f"{record_id}.{'A' if tag[0] != 'A' else 'B'}{tag[1:]}"


def _swapped_id(ref: str) -> str:
    return "43." + ref.split(".")[1]


REFUSED_REFS = [
    pytest.param(lambda w, r: Refs("other-realm", w.tools.keys(REALM)).make(APP, "42"), id="realm"),
    pytest.param(lambda w, r: r.make(APP + 1, "42"), id="another-app"),
    pytest.param(lambda w, r: _tampered(r.make(APP, "42")), id="tampered-tag"),
    pytest.param(lambda w, r: _swapped_id(r.make(APP, "42")), id="another-id-same-tag"),
    pytest.param(lambda w, r: r.make(APP, "042"), id="leading-zero-even-if-tagged"),
    pytest.param(lambda w, r: r.make(APP, "0"), id="zero-even-if-tagged"),
    pytest.param(lambda w, r: r.make(APP, "9" * 20), id="huge-even-if-tagged"),
    pytest.param(lambda w, r: r.make(APP, "-1"), id="negative-even-if-tagged"),
    pytest.param(lambda w, r: r.make(APP, "4 2"), id="a-blank-inside"),
    pytest.param(lambda w, r: r.make(APP, "42") + "=", id="padded-tag"),
    pytest.param(lambda w, r: r.make(APP, "42")[:-1], id="short-tag"),
    pytest.param(lambda w, r: " " + r.make(APP, "42"), id="leading-blank"),
    pytest.param(lambda w, r: r.make(APP, "42") + "\n", id="trailing-newline"),
    pytest.param(lambda w, r: "42", id="no-tag"),
    pytest.param(lambda w, r: "", id="empty"),
    pytest.param(lambda w, r: None, id="None"),
    pytest.param(lambda w, r: 42, id="an-int"),
    pytest.param(lambda w, r: ["42"], id="a-list"),
]


@pytest.mark.parametrize("forge", REFUSED_REFS)
def test_a_ref_this_realm_did_not_make_for_this_app_is_refused(world, refs, forge):
    assert refs.record_id(APP, refs.make(APP, "42")) == 42  # the control
    assert refs.record_id(APP, forge(world, refs)) is None


def test_the_largest_canonical_id_is_accepted(refs):
    big = "9" * 19
    assert refs.record_id(APP, refs.make(APP, big)) == int(big)


def test_a_ref_made_with_the_previous_key_resolves_during_the_grace(world):
    old_ref = world.tools.refs(REALM).make(APP, "7")
    rotated = World()
    rotated.backend.put(KEY_SECRET, key_secret(KEY), stage="AWSPREVIOUS")
    rotated.backend.put(KEY_SECRET, key_secret(OTHER_KEY, rotated_at=rotated.clock.now))

    refs = rotated.tools.refs(REALM)
    assert refs.make(APP, "7") != old_ref
    assert refs.record_id(APP, old_ref) == 7


# -- cursors --------------------------------------------------------------------------


def _session(world: World, jti: str = "session-one") -> Session:
    return Session(REALM, jti, int(world.clock.now) + 900, {"email": HANAKO})


@pytest.fixture
def cursors(world) -> Cursors:
    return world.tools.cursors(REALM)


def test_a_cursor_carries_the_last_id_for_its_session_and_view(world, cursors):
    session = _session(world)
    cursor = cursors.make(session, VIEW, 17, world.clock.now)
    assert cursors.last_id(cursor, session, VIEW) == 17


def test_a_cursor_lives_no_longer_than_its_session(world, cursors):
    session = _session(world)
    claims = jwt.decode(
        cursors.make(session, VIEW, 17, world.clock.now), options={"verify_signature": False}
    )
    assert claims["exp"] == session.expires_at
    assert claims["typ"] == "cursor"
    assert set(claims) >= {"sid", "view", "last"}
    assert "email" not in str(claims)


def _signed(world: World, **claims) -> str:
    codec: TokenCodec = world.tools.codec(REALM, "cursor")
    return codec.sign(claims, 900)[0]


REFUSED_CURSORS = [
    pytest.param(
        lambda w, c, s: c.make(_session(w, "session-two"), VIEW, 5, w.clock.now),
        id="of-another-session",
    ),
    pytest.param(lambda w, c, s: c.make(s, "another-view", 5, w.clock.now), id="of-another-view"),
    pytest.param(lambda w, c, s: _signed(w, sid=s.jti, view=VIEW, last=0), id="last-zero"),
    pytest.param(lambda w, c, s: _signed(w, sid=s.jti, view=VIEW, last=-5), id="last-negative"),
    pytest.param(lambda w, c, s: _signed(w, sid=s.jti, view=VIEW, last=True), id="last-true"),
    pytest.param(lambda w, c, s: _signed(w, sid=s.jti, view=VIEW, last="5"), id="last-a-string"),
    pytest.param(lambda w, c, s: _signed(w, sid=s.jti, view=VIEW, last=5.5), id="last-a-float"),
    pytest.param(lambda w, c, s: _signed(w, sid=s.jti, view=VIEW), id="no-last"),
    pytest.param(lambda w, c, s: _signed(w, view=VIEW, last=5), id="no-session"),
    pytest.param(
        lambda w, c, s: w.tools.codec(REALM).sign({"sid": s.jti, "view": VIEW, "last": 5}, 900)[0],
        id="a-session-token-as-a-cursor",
    ),
    pytest.param(
        lambda w, c, s: TokenCodec("other-realm", w.tools.keys(REALM), "cursor").sign(
            {"sid": s.jti, "view": VIEW, "last": 5}, 900
        )[0],
        id="of-another-realm",
    ),
    pytest.param(lambda w, c, s: c.make(s, VIEW, 5, w.clock.now)[:-2], id="truncated"),
    pytest.param(lambda w, c, s: "5", id="a-bare-id"),
    pytest.param(lambda w, c, s: 5, id="an-int"),
    pytest.param(lambda w, c, s: {"last": 5}, id="an-object"),
    pytest.param(lambda w, c, s: "", id="empty"),
]


@pytest.mark.parametrize("forge", REFUSED_CURSORS)
def test_a_cursor_not_given_to_this_session_for_this_view_is_cursor_invalid(world, cursors, forge):
    session = _session(world)
    assert cursors.last_id(cursors.make(session, VIEW, 5, world.clock.now), session, VIEW) == 5

    with pytest.raises(CursorInvalid) as refused:
        cursors.last_id(forge(world, cursors, session), session, VIEW)
    assert refused.value.status == 400
    assert refused.value.problem()["code"] == "cursor_invalid"
