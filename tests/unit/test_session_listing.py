"""A session view lists the visitor's own records, a page at a time: every predicate from
the session's claims, one kintone request per page sought by $id, re-checked exactly."""

from __future__ import annotations

import pytest

from sekisho.errors import NotFound, ValidationFailed
from sekisho.sessions.errors import CursorInvalid, SessionInvalid, SessionRequired
from tests.unit.test_session_support import (
    APP,
    CLIENT_IP,
    HANAKO,
    MINE_TOKEN,
    REALM,
    TARO,
    VIEW,
    Credentials,
    World,
    bearer,
    cookie,
    policy_from,
    shipped_policy_data,
)

SHOWN = {"ref", "revision", "受付ID", "氏名", "人数", "支払状況", "申込状況", "履歴書"}


@pytest.fixture
def world() -> World:
    return World()


def _ids(world: World, page: dict) -> list[int]:
    refs = world.tools.refs(REALM)
    return [refs.record_id(APP, record["ref"]) for record in page["records"]]


def _queries(world: World) -> list[str]:
    return [
        call.query for call in world.kintone.calls_of("get_records") if call.secret == MINE_TOKEN
    ]


def test_a_page_shows_the_visitor_s_records_with_ref_revision_and_the_view_s_fields(world):
    mine = world.apply(HANAKO, 氏名="山田 花子", 人数="3")
    world.apply(TARO, 氏名="鈴木 太郎")
    token = world.sign_in(HANAKO)
    world.kintone.touch(mine, 人数="4")
    world.kintone.calls.clear()

    page = world.page(token)

    assert page["next"] is None
    [record] = page["records"]
    assert set(record) == SHOWN
    assert (record["氏名"], record["人数"], record["revision"]) == ("山田 花子", "4", "2")
    assert world.tools.refs(REALM).record_id(APP, record["ref"]) == mine


def test_the_page_is_read_with_the_view_s_own_token_and_only_the_fields_it_needs(world):
    world.apply(HANAKO)
    token = world.sign_in(HANAKO)
    world.kintone.calls.clear()

    world.page(token)

    [call] = world.kintone.calls
    assert (call.secret, call.app) == (MINE_TOKEN, APP)
    assert call.query == '(メール = "hanako@example.com") order by $id desc limit 6'
    assert set(call.fields) == {
        "受付ID",
        "氏名",
        "人数",
        "支払状況",
        "申込状況",
        "履歴書",
        "メール",
        "$id",
        "$revision",
    }


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"email": TARO}, id="the-claimed-member"),
        pytest.param({"cursor": None, "email": TARO}, id="beside-a-cursor"),
        pytest.param({"match": {"email": TARO}}, id="a-match-object"),
        pytest.param({"limit": 500}, id="a-limit"),
        pytest.param({"where": "$id > 0"}, id="a-where"),
    ],
)
def test_every_predicate_comes_from_the_claims_and_any_other_body_member_is_400(world, body):
    world.apply(HANAKO)
    world.apply(TARO)
    token = world.sign_in(HANAKO)
    world.kintone.calls.clear()

    with pytest.raises(ValidationFailed) as refused:
        world.page(token, body)

    problem = refused.value.problem()
    assert (problem["status"], problem["code"]) == (400, "validation_failed")
    assert [e["code"] for e in problem["errors"]] == ["unknown"] * (len(body) - ("cursor" in body))
    assert world.kintone.calls == []


def test_an_empty_body_and_a_null_cursor_are_the_first_page(world):
    world.apply(HANAKO)
    token = world.sign_in(HANAKO)
    assert world.page(token, {}) == world.page(token, {"cursor": None})


def test_others_records_are_never_listed(world):
    for email in (TARO, HANAKO, TARO, "hanako@example.org"):
        world.apply(email)
    token = world.sign_in(HANAKO)
    assert _ids(world, world.page(token)) == [2]


def test_pages_are_sought_by_id_one_kintone_call_each_with_limit_plus_one(world):
    ids = [world.apply(HANAKO) for _ in range(12)]
    token = world.sign_in(HANAKO)
    world.kintone.calls.clear()

    first = world.page(token)
    second = world.page(token, {"cursor": first["next"]})
    third = world.page(token, {"cursor": second["next"]})

    assert _ids(world, first) == ids[::-1][:5]
    assert _ids(world, second) == ids[::-1][5:10]
    assert _ids(world, third) == ids[::-1][10:]
    assert third["next"] is None
    assert _queries(world) == [
        '(メール = "hanako@example.com") order by $id desc limit 6',
        f'($id < {ids[7]}) and (メール = "hanako@example.com") order by $id desc limit 6',
        f'($id < {ids[2]}) and (メール = "hanako@example.com") order by $id desc limit 6',
    ]
    assert len(world.kintone.calls) == 3
    assert "offset" not in " ".join(_queries(world))


def test_exactly_a_page_of_records_has_no_next_page(world):
    for _ in range(5):
        world.apply(HANAKO)
    page = world.page(world.sign_in(HANAKO))
    assert len(page["records"]) == 5
    assert page["next"] is None


def test_a_record_kintone_matched_loosely_is_dropped_but_the_cursor_moves_past_it(world):
    world.kintone.fold = True  # kintone's collation may ignore case
    exact = [world.apply(HANAKO) for _ in range(3)]
    loose = [world.apply("Hanako@Example.com") for _ in range(4)]
    token = world.sign_in(HANAKO)
    world.kintone.calls.clear()

    first = world.page(token)
    # kintone gave 7, 6, 5, 4 (loose) and 3 (exact), and 2 beyond the page.
    assert _ids(world, first) == [exact[2]]
    assert first["next"] is not None
    second = world.page(token, {"cursor": first["next"]})

    assert _ids(world, second) == [exact[1], exact[0]]
    assert second["next"] is None
    assert _queries(world)[1].startswith(f"($id < {exact[2]}) and ")
    shown = [r["ref"] for r in first["records"] + second["records"]]
    assert not any(world.tools.refs(REALM).record_id(APP, ref) in loose for ref in shown)


def test_a_page_of_only_loose_matches_is_empty_and_still_leads_on(world):
    world.kintone.fold = True
    mine = world.apply(HANAKO)
    for _ in range(6):
        world.apply("HANAKO@EXAMPLE.COM")
    token = world.sign_in(HANAKO)

    first = world.page(token)
    assert first["records"] == []
    assert _ids(world, world.page(token, {"cursor": first["next"]})) == [mine]


def test_oldest_first_seeks_with_greater_than_in_ascending_order():
    data = shipped_policy_data()
    data["views"][VIEW]["order"] = "oldest_first"
    world = World(policy_from(data))
    ids = [world.apply(HANAKO) for _ in range(7)]
    token = world.sign_in(HANAKO)
    world.kintone.calls.clear()

    first = world.page(token)
    second = world.page(token, {"cursor": first["next"]})

    assert _ids(world, first) == ids[:5]
    assert _ids(world, second) == ids[5:]
    assert second["next"] is None
    assert _queries(world) == [
        '(メール = "hanako@example.com") order by $id asc limit 6',
        f'($id > {ids[4]}) and (メール = "hanako@example.com") order by $id asc limit 6',
    ]


def test_a_cursor_of_another_session_is_cursor_invalid(world):
    for _ in range(7):
        world.apply(HANAKO)
    first_session = world.sign_in(HANAKO)
    cursor = world.page(first_session)["next"]
    second_session = world.sign_in(HANAKO)
    world.kintone.calls.clear()

    with pytest.raises(CursorInvalid) as refused:
        world.page(second_session, {"cursor": cursor})
    assert refused.value.problem()["code"] == "cursor_invalid"
    assert world.kintone.calls == []


@pytest.mark.parametrize("cursor", ["garbage", "", 7, ["x"], {"last": 1}], ids=repr)
def test_a_cursor_that_is_not_one_is_cursor_invalid(world, cursor):
    world.apply(HANAKO)
    token = world.sign_in(HANAKO)
    with pytest.raises(CursorInvalid):
        world.page(token, {"cursor": cursor})


def test_the_view_needs_a_session(world):
    with pytest.raises(SessionRequired) as refused:
        world.views.page(VIEW, {}, Credentials(None, via_cookie=True, origin=None), CLIENT_IP)
    assert refused.value.problem()["code"] == "session_required"
    with pytest.raises(SessionInvalid):
        world.page("eyJhbGciOiJIUzI1NiJ9.e30.x")


def test_the_view_is_read_on_the_cookie_without_an_origin(world):
    world.apply(HANAKO)
    token = world.sign_in(HANAKO)
    page = world.views.page(VIEW, {}, cookie(token, origin=None), CLIENT_IP)
    assert len(page["records"]) == 1


def test_a_browser_view_is_not_a_session_view(world):
    world.apply(HANAKO)
    token = world.sign_in(HANAKO)
    with pytest.raises(NotFound):
        world.views.page("deal-status", {}, bearer(token), CLIENT_IP)
