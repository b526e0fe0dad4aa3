"""Correcting and cancelling one's own entry: the uniform 404, the locks, the revision
the caller saw, and one write with the edit token against the revision just read."""

from __future__ import annotations

import secrets

import pytest

from sekisho.errors import NotFound, ValidationFailed
from sekisho.kintone.errors import KintoneRevisionConflict
from sekisho.sessions.entries import EntryRequest
from sekisho.sessions.errors import (
    EntryLocked,
    OriginRefused,
    RevisionMismatch,
    RevisionRequired,
    SessionInvalid,
)
from tests.unit.test_session_support import (
    APP,
    CLIENT_IP,
    CORRECT_TOKEN,
    HANAKO,
    PEOPLE_TOKEN,
    REALM,
    TARO,
    World,
    bearer,
    cookie,
    policy_from,
    shipped_policy_data,
)

CORRECTION = {"fields": {"name": "山田 はな子", "seats": 3}}


class Visitor:
    """Hanako, signed in, with one application of her own (revision 1)."""

    def __init__(self) -> None:
        self.world = World()
        self.record = self.world.apply(HANAKO)
        self.token = self.world.sign_in(HANAKO)
        self.ref = self.world.tools.refs(REALM).make(APP, str(self.record))
        self.world.kintone.calls.clear()

    def correct(self, body=CORRECTION, if_match: str | None = "1", ref=None, caller=None):
        request = self.world.request(self.token, ref or self.ref, if_match, caller)
        return self.world.entries.correct(request, body)

    def cancel(self, if_match: str | None = None, ref=None, caller=None):
        request = self.world.request(self.token, ref or self.ref, if_match, caller)
        return self.world.entries.cancel(request)

    def writes(self):
        return self.world.kintone.calls_of("update_record")


@pytest.fixture
def visitor() -> Visitor:
    return Visitor()


def _correct(v: Visitor, **kwargs):
    return v.correct(**kwargs)


def _cancel(v: Visitor, **kwargs):
    kwargs.pop("body", None)
    return v.cancel(**kwargs)


BOTH = [pytest.param(_correct, id="correct"), pytest.param(_cancel, id="cancel")]


# -- it works --------------------------------------------------------------------------


def test_a_correction_writes_the_editable_fields_and_answers_the_new_revision(visitor):
    assert visitor.correct() == {"revision": "2"}

    [write] = visitor.writes()
    assert write.values == {"氏名": "山田 はな子", "人数": "3"}
    assert visitor.world.kintone.records[visitor.record]["人数"] == "3"


def test_a_cancel_sets_the_declared_status_and_answers_the_new_revision(visitor):
    assert visitor.cancel() == {"status": "cancelled", "revision": "2"}
    [write] = visitor.writes()
    assert write.values == {"申込状況": "キャンセル"}


@pytest.mark.parametrize("action", BOTH)
def test_the_read_uses_the_realm_token_and_the_write_the_edit_token(visitor, action):
    action(visitor, if_match="1")

    calls = [(call.secret, call.operation) for call in visitor.world.kintone.calls]
    assert calls == [(PEOPLE_TOKEN, "get_records"), (CORRECT_TOKEN, "update_record")]
    read = visitor.world.kintone.calls[0]
    assert read.query == f'($id = "{visitor.record}") and (メール = "hanako@example.com") limit 1'


@pytest.mark.parametrize("action", BOTH)
def test_the_write_is_made_against_the_revision_read(visitor, action):
    visitor.world.kintone.touch(visitor.record, 受付経路="phone")  # now revision 2
    action(visitor, if_match='"2"')

    [write] = visitor.writes()
    assert (write.record_id, write.revision) == (visitor.record, "2")


def test_a_cancel_without_if_match_is_still_written_against_the_revision_read(visitor):
    visitor.world.kintone.touch(visitor.record, 受付経路="phone")
    assert visitor.cancel(if_match=None) == {"status": "cancelled", "revision": "3"}
    assert visitor.writes()[0].revision == "2"


@pytest.mark.parametrize("if_match", ["1", '"1"', '  "1" ', " 1 "])
def test_if_match_is_a_strong_tag_or_a_bare_revision(visitor, if_match):
    assert visitor.correct(if_match=if_match) == {"revision": "2"}


# -- the uniform 404 -------------------------------------------------------------------


def _others_ref(v: Visitor) -> str:
    taro = v.world.apply(TARO)
    return v.world.tools.refs(REALM).make(APP, str(taro))


def _loose_ref(v: Visitor) -> str:
    v.world.kintone.fold = True
    other = v.world.apply("HANAKO@EXAMPLE.COM")
    return v.world.tools.refs(REALM).make(APP, str(other))


def _deleted_ref(v: Visitor) -> str:
    return v.world.tools.refs(REALM).make(APP, "999")


def _made_up_ref(v: Visitor) -> str:
    return f"{v.record}.{secrets.token_urlsafe(16)}"


def _other_app_ref(v: Visitor) -> str:
    return v.world.tools.refs(REALM).make(APP + 1, str(v.record))


NOT_FOUND_REFS = [
    pytest.param(_others_ref, id="another-person-s-record"),
    pytest.param(_loose_ref, id="a-record-kintone-matches-only-loosely"),
    pytest.param(_deleted_ref, id="a-record-that-does-not-exist"),
    pytest.param(_made_up_ref, id="a-made-up-tag"),
    pytest.param(_other_app_ref, id="a-ref-of-another-app"),
    pytest.param(lambda v: "not-a-ref", id="not-a-ref"),
]


@pytest.mark.parametrize("action", BOTH)
@pytest.mark.parametrize("make_ref", NOT_FOUND_REFS)
def test_an_unknown_ref_and_another_person_s_record_are_the_same_404(visitor, action, make_ref):
    ref = make_ref(visitor)
    with pytest.raises(NotFound) as refused:
        action(visitor, ref=ref)

    assert refused.value.problem() == NotFound().problem()
    assert refused.value.status == 404
    assert visitor.writes() == []


def test_another_person_s_record_is_left_as_it_was(visitor):
    ref = _others_ref(visitor)
    before = dict(visitor.world.kintone.records[2])
    with pytest.raises(NotFound):
        visitor.correct(ref=ref)
    assert visitor.world.kintone.records[2] == before


# -- locks -----------------------------------------------------------------------------


@pytest.mark.parametrize("action", BOTH)
def test_a_paid_entry_is_locked(visitor, action):
    visitor.world.kintone.touch(visitor.record, 支払状況="支払済")
    with pytest.raises(EntryLocked) as refused:
        action(visitor, if_match="2")
    assert (refused.value.status, refused.value.problem()["code"]) == (409, "entry_locked")
    assert visitor.writes() == []


def test_a_cancelled_entry_cannot_be_corrected(visitor):
    visitor.cancel()
    with pytest.raises(EntryLocked):
        visitor.correct(if_match="2")
    assert len(visitor.writes()) == 1


def test_cancelling_a_cancelled_entry_answers_its_revision_and_writes_nothing(visitor):
    first = visitor.cancel()
    again = visitor.cancel()
    with_old_tag = visitor.cancel(if_match="1")

    assert first == again == with_old_tag == {"status": "cancelled", "revision": "2"}
    assert len(visitor.writes()) == 1


# -- revisions -------------------------------------------------------------------------


@pytest.mark.parametrize("action", BOTH)
def test_a_stale_if_match_is_412_and_nothing_is_written(visitor, action):
    visitor.world.kintone.touch(visitor.record, 受付経路="phone")  # someone else: revision 2
    with pytest.raises(RevisionMismatch) as refused:
        action(visitor, if_match="1")
    assert (refused.value.status, refused.value.problem()["code"]) == (412, "revision_mismatch")
    assert visitor.writes() == []


@pytest.mark.parametrize("action", BOTH)
def test_kintone_s_revision_conflict_is_412(visitor, action):
    visitor.world.kintone.update_failure = KintoneRevisionConflict(
        "changed", kintone_code="GAIA_CO02", http_status=409
    )
    with pytest.raises(RevisionMismatch):
        action(visitor, if_match="1")
    assert len(visitor.writes()) == 1


def test_a_change_between_the_read_and_the_write_is_412(visitor):
    world = visitor.world
    original = world.kintone.update_record

    def racing(*args, **kwargs):
        world.kintone.touch(visitor.record, 支払状況="支払済")  # the organiser, just now
        return original(*args, **kwargs)

    world.kintone.update_record = racing
    with pytest.raises(RevisionMismatch):
        visitor.correct()
    assert world.kintone.records[visitor.record]["氏名"] == "山田 花子"


@pytest.mark.parametrize("if_match", [None, "", "   "], ids=repr)
def test_a_correction_without_if_match_is_428(visitor, if_match):
    with pytest.raises(RevisionRequired) as refused:
        visitor.correct(if_match=if_match)
    assert (refused.value.status, refused.value.problem()["code"]) == (428, "revision_required")
    assert visitor.world.kintone.calls == []


@pytest.mark.parametrize("action", BOTH)
@pytest.mark.parametrize("if_match", ['W/"1"', "*", '"1", "2"', "abc", "-1", '"1'])
def test_an_if_match_that_names_no_one_revision_is_412(visitor, action, if_match):
    with pytest.raises(RevisionMismatch):
        action(visitor, if_match=if_match)
    assert visitor.writes() == []


# -- who asks --------------------------------------------------------------------------


@pytest.mark.parametrize("action", BOTH)
def test_the_cookie_needs_an_allowed_origin_before_anything_is_read(visitor, action):
    with pytest.raises(OriginRefused):
        action(visitor, caller=cookie(visitor.token, origin="https://evil.example"))
    with pytest.raises(OriginRefused):
        action(visitor, caller=cookie(visitor.token, origin=None))
    assert visitor.world.kintone.calls == []


@pytest.mark.parametrize("action", BOTH)
def test_the_cookie_with_an_allowed_origin_and_a_bearer_without_one_are_served(visitor, action):
    assert action(visitor, caller=cookie(visitor.token), if_match="1")["revision"] == "2"
    assert action(visitor, caller=bearer(visitor.token), if_match="2")["revision"]


@pytest.mark.parametrize("action", BOTH)
def test_a_revoked_session_writes_nothing(visitor, action):
    visitor.world.sign_in_service.sign_out(REALM, bearer(visitor.token))
    with pytest.raises(SessionInvalid):
        action(visitor)
    assert visitor.writes() == []


def test_an_invalid_correction_is_400_before_kintone_is_read(visitor):
    with pytest.raises(ValidationFailed) as refused:
        visitor.correct(body={"fields": {"seats": 9}})
    assert refused.value.errors[0]["pointer"] == "/fields/seats"
    assert visitor.world.kintone.calls == []


@pytest.mark.parametrize("form", ["seminar-apply", "no-such-form"])
def test_a_form_without_editable_has_no_entries(form):
    data = shipped_policy_data()
    del data["forms"]["seminar-apply"]["editable"]
    del data["forms"]["seminar-apply"]["cancel"]
    world = World(policy_from(data))
    world.apply(HANAKO)
    token = world.sign_in(HANAKO)
    ref = world.tools.refs(REALM).make(APP, "1")
    request = EntryRequest(form, ref, "1", bearer(token), CLIENT_IP)
    world.kintone.calls.clear()

    with pytest.raises(NotFound):
        world.entries.correct(request, CORRECTION)
    with pytest.raises(NotFound):
        world.entries.cancel(request)
    assert world.kintone.calls == []
