"""Sign-in by a mailed one-time code: the same answer for every address, one code per
address, used once, locked after wrong guesses, and a session of the realm's claims only."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import jwt
import pytest

from sekisho.errors import NotFound, RateLimited, ValidationFailed
from sekisho.kintone.errors import KintoneMaintenance
from sekisho.sessions import signin
from sekisho.sessions.errors import (
    OriginRefused,
    SessionInvalid,
    SessionStoreUnavailable,
    SignInFailed,
)
from sekisho.sessions.mail import SUBJECT
from sekisho.sessions.verifier import revocation_key
from tests.unit.test_session_support import (
    CLIENT_IP,
    HANAKO,
    PEOPLE_TOKEN,
    REALM,
    TARO,
    World,
    bearer,
    code_in,
    cookie,
)

STRANGER = "nobody@example.com"
ANSWER = {"status": "code_requested", "expires_in": 600}
FLOOR = 1.5


@pytest.fixture
def world() -> World:
    world = World(floor=FLOOR)
    world.apply(HANAKO)
    return world


@pytest.fixture
def codes(monkeypatch):
    """The codes the service draws, in order (instead of secrets.randbelow)."""
    queue: list[int] = []

    def randbelow(bound: int) -> int:
        assert bound == 10**6
        return queue.pop(0)

    monkeypatch.setattr(signin, "secrets", SimpleNamespace(randbelow=randbelow))
    return queue


def _sign_in(world: World, email: str, code: str, ip: str = CLIENT_IP):
    return world.sign_in_service.sign_in(REALM, {"email": email, "code": code}, ip)


# -- the code request ------------------------------------------------------------------


def test_known_and_unknown_addresses_get_the_same_answer_at_the_same_floor(world):
    # Each kintone round trip takes 0.4 s of the fake clock.
    world.kintone.on_call = lambda: world.clock.advance(0.4)
    answers, took = [], []
    for email in (HANAKO, STRANGER):
        started = world.clock.now
        answers.append(world.request_code(email))
        took.append(world.clock.now - started)

    assert answers == [ANSWER, ANSWER]
    assert took == [pytest.approx(FLOOR), pytest.approx(FLOOR)]
    assert world.clock.slept == [pytest.approx(FLOOR - 0.4)] * 2


def test_a_request_slower_than_the_floor_is_answered_without_waiting_and_logged(world, caplog):
    world.kintone.on_call = lambda: world.clock.advance(FLOOR + 0.5)
    with caplog.at_level(logging.WARNING, logger="sekisho.sessions.signin"):
        assert world.request_code(HANAKO) == ANSWER
    assert world.clock.slept == []
    assert any("floor" in record.getMessage() for record in caplog.records)


def test_the_known_address_gets_exactly_one_mail_with_a_six_digit_code(world):
    world.request_code(HANAKO)
    world.request_code(STRANGER)

    assert [message.to for message in world.mailer.sent] == [HANAKO]
    message = world.mailer.sent[0]
    assert message.subject == SUBJECT
    code = code_in(message.text)
    assert len(code) == 6
    assert code.isdigit()
    assert "10" in message.text  # minutes it is valid for


def test_the_person_is_found_with_the_realm_s_view_token_and_active_condition(world):
    world.request_code(HANAKO)
    [call] = world.kintone.calls
    assert call.secret == PEOPLE_TOKEN
    assert call.query == (
        '(申込状況 not in ("キャンセル")) and (メール = "hanako@example.com") limit 10'
    )
    assert list(call.fields) == ["メール"]


def test_an_address_kintone_matches_only_loosely_gets_no_code(world):
    world.kintone.fold = True  # kintone may compare case-insensitively
    assert world.request_code("HANAKO@example.com") == ANSWER
    assert world.mailer.sent == []


def test_a_cancelled_applicant_gets_no_code(world):
    world.apply(TARO, 申込状況="キャンセル")
    assert world.request_code(TARO) == ANSWER
    assert world.mailer.sent == []


def test_the_code_is_stored_only_as_a_keyed_hash(world):
    world.request_code(HANAKO)
    code = world.last_code()
    stored = repr(world.store.items)
    assert code not in stored
    assert "hanako" not in stored
    assert all(key.startswith(f"session:{REALM}#code#") for key in world.store.items)


def test_a_mail_failure_is_answered_like_any_other_request(world):
    world.mailer.fail = True
    assert world.request_code(HANAKO) == ANSWER
    assert world.mailer.sent == []
    assert world.clock.slept == [pytest.approx(FLOOR)]


def test_a_failing_code_store_is_answered_like_any_other_request(world, monkeypatch):
    def unavailable(*args, **kwargs):
        raise SessionStoreUnavailable("down")

    monkeypatch.setattr(world.store, "put_code", unavailable)
    assert world.request_code(HANAKO) == ANSWER
    assert world.mailer.sent == []


def test_the_per_address_limit_stops_mails_but_answers_the_same(world):
    # policy.yaml: per_address 5/hour.
    answers = [world.request_code(HANAKO, ip=f"198.51.100.{n}") for n in range(7)]

    assert answers == [ANSWER] * 7
    assert len(world.mailer.sent) == 5
    assert world.clock.slept == [pytest.approx(FLOOR)] * 7


def test_the_per_address_limit_also_stops_kintone_reads(world):
    for n in range(7):
        world.request_code(HANAKO, ip=f"198.51.100.{n}")
    assert len(world.kintone.calls) == 5


def test_the_per_ip_limit_is_rate_limited(world):
    # policy.yaml: per_ip 30/hour, code requests and sign-ins together.
    for n in range(30):
        world.request_code(f"person{n}@example.com")
    with pytest.raises(RateLimited) as refused:
        world.request_code(HANAKO)
    assert (refused.value.status, refused.value.problem()["code"]) == (429, "rate_limited")
    with pytest.raises(RateLimited):
        _sign_in(world, HANAKO, "123456")


@pytest.mark.parametrize(
    ("body", "pointer", "code"),
    [
        pytest.param({"email": "a@example.com\r\nBcc: x@example.com"}, "/email", None, id="crlf"),
        pytest.param({"email": "a@example.com, b@example.com"}, "/email", None, id="two"),
        pytest.param({"email": "a@example.com\nb@example.com"}, "/email", None, id="lf"),
        pytest.param({"email": "not-an-address"}, "/email", None, id="no-at"),
        pytest.param({"email": ["a@example.com"]}, "/email", None, id="a-list"),
        pytest.param({"email": ""}, "/email", "required", id="empty"),
        pytest.param({}, "/email", "required", id="missing"),
        pytest.param({"email": HANAKO, "name": "x"}, "/name", "unknown", id="another-member"),
    ],
)
def test_a_malformed_code_request_is_refused_before_anything_is_read(world, body, pointer, code):
    with pytest.raises(ValidationFailed) as refused:
        world.sign_in_service.request_code(REALM, body, CLIENT_IP)

    problem = refused.value.problem()
    assert (problem["status"], problem["code"]) == (400, "validation_failed")
    assert pointer in [error["pointer"] for error in problem["errors"]]
    if code is not None:
        assert {"pointer": pointer, "code": code} in [
            {"pointer": e["pointer"], "code": e["code"]} for e in problem["errors"]
        ]
    assert world.kintone.calls == []
    assert world.mailer.sent == []


def test_an_unknown_realm_is_not_found(world):
    with pytest.raises(NotFound):
        world.sign_in_service.request_code("staff", {"email": HANAKO}, CLIENT_IP)
    with pytest.raises(NotFound):
        world.sign_in_service.sign_in("staff", {"email": HANAKO, "code": "123456"}, CLIENT_IP)


# -- signing in ------------------------------------------------------------------------


def test_the_mailed_code_signs_in_for_the_realm_s_session_lifetime(world):
    world.request_code(HANAKO)
    signed = _sign_in(world, HANAKO, world.last_code())
    assert signed.expires_in == 900
    session = world.verifier.session(
        REALM, world.policy.realm(REALM), bearer(signed.token), changes_state=False
    )
    assert session.expires_at == int(world.clock.now) + 900


def test_the_session_claims_exactly_the_realm_s_claims_and_no_kintone_data(world):
    token = world.sign_in(HANAKO)
    payload = jwt.decode(token, options={"verify_signature": False})

    assert payload["claims"] == {"email": HANAKO}
    assert set(payload) == {"claims", "iss", "aud", "typ", "iat", "exp", "jti"}
    assert "山田" not in str(payload)


def test_a_new_request_replaces_the_old_code(world, codes):
    codes.extend([111111, 222222])
    world.request_code(HANAKO)
    world.request_code(HANAKO)
    assert [code_in(m.text) for m in world.mailer.sent] == ["111111", "222222"]

    with pytest.raises(SignInFailed):
        _sign_in(world, HANAKO, "111111")
    assert _sign_in(world, HANAKO, "222222").token


def test_a_code_works_once(world):
    world.request_code(HANAKO)
    code = world.last_code()
    assert _sign_in(world, HANAKO, code).token

    with pytest.raises(SignInFailed):
        _sign_in(world, HANAKO, code)


def test_a_code_of_one_address_does_not_sign_in_another(world):
    world.apply(TARO)
    world.request_code(HANAKO)
    world.request_code(TARO)
    with pytest.raises(SignInFailed):
        _sign_in(world, TARO, world.last_code(HANAKO))


def test_an_expired_code_fails(world):
    world.request_code(HANAKO)
    world.clock.advance(601)
    with pytest.raises(SignInFailed):
        _sign_in(world, HANAKO, world.last_code())


def test_four_wrong_codes_still_let_the_right_one_in(world, codes):
    codes.append(123456)
    world.request_code(HANAKO)
    for wrong in ("000001", "000002", "000003", "000004"):
        with pytest.raises(SignInFailed):
            _sign_in(world, HANAKO, wrong)
    assert _sign_in(world, HANAKO, "123456").token


def test_five_wrong_codes_lock_the_address_and_the_right_one_then_fails(world, codes):
    codes.append(123456)
    world.request_code(HANAKO)
    for wrong in ("000001", "000002", "000003", "000004", "000005"):
        with pytest.raises(SignInFailed):
            _sign_in(world, HANAKO, wrong)

    with pytest.raises(SignInFailed):
        _sign_in(world, HANAKO, "123456")


def test_the_lock_holds_whichever_ip_the_guesses_come_from(world, codes):
    codes.append(123456)
    world.request_code(HANAKO)
    for n in range(5):
        with pytest.raises(SignInFailed):
            _sign_in(world, HANAKO, f"00000{n}", ip=f"203.0.113.{n}")
    with pytest.raises(SignInFailed):
        _sign_in(world, HANAKO, "123456", ip="192.0.2.99")


def test_every_failure_is_the_same_answer(world, codes):
    codes.append(123456)
    world.request_code(HANAKO)
    problems = []
    for email, code in ((HANAKO, "999999"), (STRANGER, "123456")):
        with pytest.raises(SignInFailed) as refused:
            _sign_in(world, email, code)
        problems.append(refused.value.problem())

    assert problems[0] == problems[1]
    assert (problems[0]["status"], problems[0]["code"]) == (401, "sign_in_failed")


@pytest.mark.parametrize(
    "code", ["12345", "1234567", 123456, "12345a", "１２３４５６", " 123456", None], ids=repr
)
def test_a_code_that_is_not_six_digits_is_a_validation_error_and_no_guess(world, code, codes):
    codes.append(123456)
    world.request_code(HANAKO)
    for _ in range(6):
        with pytest.raises(ValidationFailed) as refused:
            world.sign_in_service.sign_in(REALM, {"email": HANAKO, "code": code}, CLIENT_IP)
        assert refused.value.errors[0]["pointer"] == "/code"
    # None of those counted as a wrong code.
    assert _sign_in(world, HANAKO, "123456").token


def test_a_person_who_becomes_inactive_between_request_and_sign_in_is_refused(world):
    world.request_code(HANAKO)
    code = world.last_code()
    [record_id] = world.kintone.records
    world.kintone.touch(record_id, 申込状況="キャンセル")

    with pytest.raises(SignInFailed):
        _sign_in(world, HANAKO, code)
    # Read live again at sign-in, with the realm's token.
    assert [c.secret for c in world.kintone.calls] == [PEOPLE_TOKEN, PEOPLE_TOKEN]


def test_a_person_whose_record_is_removed_before_sign_in_is_refused(world):
    world.request_code(HANAKO)
    code = world.last_code()
    world.kintone.records.clear()
    with pytest.raises(SignInFailed):
        _sign_in(world, HANAKO, code)


def test_a_code_is_not_spent_when_kintone_cannot_say_who_signs_in(world, monkeypatch):
    world.request_code(HANAKO)
    code = world.last_code()
    read = world.kintone.get_records

    def kintone_down(*args, **kwargs):
        raise KintoneMaintenance("503")

    monkeypatch.setattr(world.kintone, "get_records", kintone_down)
    with pytest.raises(KintoneMaintenance):
        _sign_in(world, HANAKO, code)

    monkeypatch.setattr(world.kintone, "get_records", read)
    assert _sign_in(world, HANAKO, code).expires_in == 900
    with pytest.raises(SignInFailed):  # and once used, it is spent
        _sign_in(world, HANAKO, code)


# -- signing out -----------------------------------------------------------------------


def test_sign_out_revokes_the_session(world):
    token = world.sign_in(HANAKO)
    assert world.page(token)["records"]

    world.sign_in_service.sign_out(REALM, bearer(token))

    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    assert revocation_key(REALM, jti) in world.store.items
    with pytest.raises(SessionInvalid):
        world.page(token)
    with pytest.raises(SessionInvalid):
        world.sign_in_service.sign_out(REALM, bearer(token))


def test_sign_out_leaves_the_person_s_other_sessions_alone(world):
    first = world.sign_in(HANAKO)
    second = world.sign_in(HANAKO)
    world.sign_in_service.sign_out(REALM, bearer(first))
    assert world.page(second)["records"]


def test_sign_out_on_the_cookie_needs_an_allowed_origin(world):
    token = world.sign_in(HANAKO)
    with pytest.raises(OriginRefused):
        world.sign_in_service.sign_out(REALM, cookie(token, origin="https://evil.example"))
    assert world.page(token)["records"]  # still signed in
    world.sign_in_service.sign_out(REALM, cookie(token))
    with pytest.raises(SessionInvalid):
        world.page(token)
