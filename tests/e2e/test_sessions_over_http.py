"""Signed-in visitors over HTTP on the local stack: what a visitor, another visitor, or an
attacker with curl and a forged token gets from the sign-in, the session view and the
corrections and cancels of one's own entries.

Every request comes from 127.0.0.1, so the stack serves the shipped policy with its per-IP
and per-address limits opened (tests/session_support.py); the wrong-code limit is kept. The
code request's floor is lowered to FLOOR_MS through the template's CodeRequestFloorMs so
that the many sign-ins stay quick. Each test has people of its own (fresh addresses), so
no test depends on another's records.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest

from devstack import stack as devstack
from devstack.__main__ import main as devstack_main
from devstack.operator_env import AWS_IDENTITY_VARIABLES, operator_environment
from devstack.stack import RunningStack
from tests.session_support import (
    REALM,
    REALM_KEY,
    REPO,
    Visitors,
    bearer,
    change_seminar_record,
    claims_of,
    cookie,
    derived,
    flip_last,
    fresh_address,
    http_session,
    mint,
    open_guard_policy,
    problem,
    realm_secret,
    record_id,
    secretsmanager,
    seminar_receipts_kintone_finds,
    seminar_record,
    session_claims,
    unsigned,
    with_payload,
)

FLOOR_MS = 400
PARAMETERS = {"CodeRequestFloorMs": str(FLOOR_MS)}
ACCEPTED = {"status": "code_requested", "expires_in": 600}
# Headers that differ from one request to the next whatever it asked.
PER_REQUEST = {"date", "x-amzn-requestid"}
SIGNED_OUT_COOKIE = "__Host-sekisho=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"
FOREIGN_ORIGIN = "https://evil.example"


@pytest.fixture(scope="module")
def policy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return open_guard_policy(tmp_path_factory.mktemp("sessions"))


@pytest.fixture(scope="module")
def stack(policy_file: Path) -> Iterator[RunningStack]:
    with devstack.start(repo_root=REPO, policy=policy_file, parameters=PARAMETERS) as running:
        yield running


@pytest.fixture(scope="module")
def visitors(stack: RunningStack) -> Iterator[Visitors]:
    with http_session() as http:
        yield Visitors(stack, http)


def sign_in_with_one_application(visitors: Visitors, tag: str) -> tuple[str, str, str]:
    """(email, token, ref) of a new person with one application."""
    email = fresh_address(tag)
    visitors.apply(email)
    token = visitors.sign_in(email)
    (shown,) = visitors.records(token)
    return email, token, shown["ref"]


# -- asking for a code ---------------------------------------------------------------------


def test_a_known_and_an_unknown_address_get_the_same_answer_no_sooner_than_the_floor(
    visitors: Visitors,
) -> None:
    known, unknown = fresh_address("known"), fresh_address("unknown")
    visitors.apply(known)

    answers: dict[str, list[Any]] = {known: [], unknown: []}
    elapsed: list[float] = []
    for email in (known, unknown, known, unknown):
        started = time.monotonic()
        answers[email].append(visitors.request_code(email))
        elapsed.append(time.monotonic() - started)

    def same_part(answer: Any) -> dict[str, str]:
        return {k.lower(): v for k, v in answer.headers.items() if k.lower() not in PER_REQUEST}

    for one, other in zip(answers[known], answers[unknown], strict=True):
        assert (one.status_code, other.status_code) == (202, 202)
        assert one.content == other.content
        assert one.json() == ACCEPTED
        assert {k.lower() for k in one.headers} == {k.lower() for k in other.headers}
        assert same_part(one) == same_part(other)
    assert min(elapsed) >= FLOOR_MS / 1000, elapsed
    # Only the known address was mailed, once per request.
    assert (visitors.mails_to(known), visitors.mails_to(unknown)) == (2, 0)


MALFORMED_ADDRESSES = [
    pytest.param("{a}\r\n", id="trailing-crlf"),
    pytest.param("\r\n{a}", id="leading-crlf"),
    pytest.param("{a}\n", id="trailing-lf"),
    pytest.param("{a}\r\nBcc: {b}", id="crlf-bcc-header"),
    pytest.param("{a}\nBcc: {b}", id="lf-bcc-header"),
    pytest.param("{a}, {b}", id="two-addresses-comma"),
    pytest.param("{a};{b}", id="two-addresses-semicolon"),
    pytest.param("{a} {b}", id="two-addresses-space"),
    pytest.param("山田 <{a}>", id="display-name"),
    pytest.param("{a}\x00", id="nul"),
    pytest.param("", id="empty"),
]


@pytest.mark.parametrize("template", MALFORMED_ADDRESSES)
def test_a_malformed_email_is_refused_with_400_and_mails_no_one(
    visitors: Visitors, template: str
) -> None:
    # `a` can sign in: a lax check that passed any part of the value on would mail it.
    a, b = fresh_address("crlf-a"), fresh_address("crlf-b")
    visitors.apply(a)
    answer = visitors.request_code(template.format(a=a, b=b))
    assert problem(answer) == (400, "validation_failed")
    assert "/email" in {error["pointer"] for error in answer.json()["errors"]}
    assert (visitors.mails_to(a), visitors.mails_to(b)) == (0, 0)


@pytest.mark.parametrize(
    "value", [["{a}", "{b}"], {"email": "{a}"}, 1], ids=["list", "object", "number"]
)
def test_an_email_that_is_not_a_string_is_refused_with_400(visitors: Visitors, value: Any) -> None:
    a = fresh_address("typed")
    visitors.apply(a)
    filled = json.loads(json.dumps(value).replace("{a}", a).replace("{b}", fresh_address()))
    assert problem(visitors.request_code(filled)) == (400, "validation_failed")
    assert visitors.mails_to(a) == 0


def test_a_code_request_for_an_unknown_realm_is_404(visitors: Visitors) -> None:
    assert problem(visitors.request_code(fresh_address(), realm="staff")) == (404, "not_found")


# -- signing in ----------------------------------------------------------------------------


def test_the_mailed_code_signs_in_once_with_a_token_and_a_host_only_cookie(
    visitors: Visitors,
) -> None:
    email = fresh_address("signin")
    visitors.apply(email)
    code = visitors.code_for(email)

    first = visitors.sign_in_with(email, code)
    again = visitors.sign_in_with(email, code)

    assert first.status_code == 201, first.text
    token = first.json()["token"]
    assert first.json() == {"token": token, "expires_in": 900}
    assert first.headers["Set-Cookie"] == (
        f"__Host-sekisho={token}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=900"
    )
    claims = claims_of(token)
    assert (claims["aud"], claims["typ"], claims["claims"]) == (REALM, "session", {"email": email})
    assert claims["exp"] - claims["iat"] == 900
    assert problem(again) == (401, "sign_in_failed")
    assert "Set-Cookie" not in again.headers


def test_a_new_code_voids_the_one_mailed_before(visitors: Visitors) -> None:
    email = fresh_address("twice")
    visitors.apply(email)
    old = visitors.code_for(email)
    new = visitors.code_for(email)
    while new == old:  # one chance in a million: ask once more
        new = visitors.code_for(email)

    assert problem(visitors.sign_in_with(email, old)) == (401, "sign_in_failed")
    assert visitors.sign_in_with(email, new).status_code == 201


def test_five_wrong_codes_lock_the_address_and_then_even_the_right_code_fails(
    visitors: Visitors,
) -> None:
    email, neighbour = fresh_address("brute"), fresh_address("neighbour")
    visitors.apply(email)
    visitors.apply(neighbour)
    code = visitors.code_for(email)
    wrong = [f"{(int(code) + n) % 1_000_000:06d}" for n in range(1, 6)]

    refused = [visitors.sign_in_with(email, guess) for guess in wrong]
    right = visitors.sign_in_with(email, code)
    fresh = visitors.sign_in_with(email, visitors.code_for(email))

    assert [problem(answer) for answer in refused] == [(401, "sign_in_failed")] * 5
    assert problem(right) == (401, "sign_in_failed")
    assert problem(fresh) == (401, "sign_in_failed")
    # One answer for a wrong code and a locked address: nothing tells them apart.
    assert right.json() == refused[0].json()
    # The lock is the address's, not the client's.
    assert visitors.sign_in_with(neighbour, visitors.code_for(neighbour)).status_code == 201


def test_a_code_for_an_unknown_address_never_signs_in(visitors: Visitors) -> None:
    known, unknown = fresh_address("known"), fresh_address("stranger")
    visitors.apply(known)
    code = visitors.code_for(known)  # a real code, but mailed to someone else
    assert problem(visitors.sign_in_with(unknown, code)) == (401, "sign_in_failed")


# -- refused tokens ------------------------------------------------------------------------


@dataclass(frozen=True)
class Keys:
    """What a forger could hold: a real session token of `email`, and (for the rows that
    suppose a leaked secret) the realm's key and its derived session and cursor keys."""

    email: str
    token: str
    secret: str

    @property
    def session(self) -> bytes:
        return derived(self.secret, "session")

    @property
    def cursor(self) -> bytes:
        return derived(self.secret, "cursor")


@pytest.fixture(scope="module")
def keys(stack: RunningStack, visitors: Visitors) -> Keys:
    email = fresh_address("forger")
    visitors.apply(email)
    return Keys(email, visitors.sign_in(email), realm_secret(stack)["key"])


def test_a_token_minted_as_sekisho_signs_it_is_accepted(visitors: Visitors, keys: Keys) -> None:
    """The control for the refusals below: the minting itself is right."""
    minted = mint(session_claims(keys.email), keys.session)
    answer = visitors.page(minted)
    assert answer.status_code == 200, answer.text
    assert [r["受付ID"] for r in answer.json()["records"]] == [
        r["受付ID"] for r in visitors.page(keys.token).json()["records"]
    ]


def _signature_flipped(k: Keys) -> str:
    header, payload, signature = k.token.split(".")
    return f"{header}.{payload}.{flip_last(signature)}"


def _expired(k: Keys) -> str:
    now = int(time.time())
    return mint(session_claims(k.email, iat=now - 1000, exp=now - 100), k.session)


REFUSED_TOKENS: list[Any] = [
    pytest.param(_expired, id="expired"),
    pytest.param(_signature_flipped, id="signature-char-flipped"),
    pytest.param(
        lambda k: with_payload(k.token, {"claims": {"email": "hanako@example.com"}}),
        id="payload-email-changed",
    ),
    pytest.param(
        lambda k: with_payload(k.token, {"exp": claims_of(k.token)["exp"] + 600}),
        id="payload-exp-extended",
    ),
    pytest.param(lambda k: mint(session_claims(k.email, aud="other"), k.session), id="aud-other"),
    pytest.param(lambda k: mint(session_claims(k.email, aud=None), k.session), id="no-aud"),
    pytest.param(lambda k: unsigned(session_claims(k.email)), id="alg-none"),
    pytest.param(lambda k: unsigned(claims_of(k.token)), id="alg-none-with-a-real-tokens-claims"),
    pytest.param(lambda k: mint(session_claims(k.email, typ="cursor"), k.session), id="typ-cursor"),
    pytest.param(
        lambda k: mint(session_claims(k.email, typ="cursor"), k.cursor),
        id="typ-cursor-with-the-cursor-key",
    ),
    pytest.param(
        lambda k: mint(session_claims(k.email), k.session, "HS512"),
        id="hs512-right-key",
        marks=pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
    ),
    pytest.param(lambda k: mint(session_claims(k.email), k.secret.encode()), id="underived-secret"),
    pytest.param(lambda k: mint(session_claims(k.email), k.cursor), id="cursor-key"),
    pytest.param(
        lambda k: mint(session_claims(k.email, iss="someone"), k.session), id="other-issuer"
    ),
    pytest.param(lambda k: mint(session_claims(k.email, jti=None), k.session), id="no-jti"),
    pytest.param(
        lambda k: mint(session_claims(k.email, exp=int(time.time()) + 30 * 86400), k.session),
        id="a-month-long",
    ),
    pytest.param(
        lambda k: mint(
            session_claims(k.email, claims={"email": k.email, "role": "admin"}), k.session
        ),
        id="an-extra-claim",
    ),
    pytest.param(lambda k: "not.a.jwt", id="garbage"),
]


@pytest.mark.parametrize("forge", REFUSED_TOKENS)
def test_a_forged_or_stale_token_is_refused_with_401_session_invalid(
    visitors: Visitors, keys: Keys, forge: Callable[[Keys], str]
) -> None:
    answer = visitors.page(forge(keys))
    assert problem(answer) == (401, "session_invalid")
    assert "records" not in answer.json()
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


def test_no_session_at_all_is_401_session_required(visitors: Visitors) -> None:
    answer = visitors.page(None)
    assert problem(answer) == (401, "session_required")
    assert answer.headers["WWW-Authenticate"] == f'Bearer realm="{REALM}"'


def test_a_signed_out_token_is_refused_and_the_cookie_cleared(visitors: Visitors) -> None:
    email = fresh_address("signout")
    visitors.apply(email)
    token, other = visitors.sign_in(email), visitors.sign_in(email)
    assert visitors.page(token).status_code == 200

    out = visitors.sign_out(bearer(token))

    assert out.status_code == 204, out.text
    assert out.content == b""
    assert out.headers["Set-Cookie"] == SIGNED_OUT_COOKIE
    assert problem(visitors.page(token)) == (401, "session_invalid")
    assert problem(visitors.page(None, headers=cookie(token))) == (401, "session_invalid")
    assert problem(visitors.sign_out(bearer(token))) == (401, "session_invalid")
    # Only that session ended: the person's other one goes on.
    assert visitors.page(other).status_code == 200


# -- the key's rotation --------------------------------------------------------------------


@pytest.fixture
def fresh_stack(policy_file: Path) -> Iterator[RunningStack]:
    """A stack of its own: its SessionFunction has read the realm key once and never been
    made to re-read it, so the rotation below is the first key change it sees."""
    with devstack.start(repo_root=REPO, policy=policy_file, parameters=PARAMETERS) as running:
        yield running


def learn_the_current_key(visitors: Visitors, email: str) -> str:
    """A token signed with the realm key moto now holds as current. The container has the
    key it read before cached; a token it cannot verify with that one makes it re-read the
    secret once (as a token signed by a container that read the new key first does)."""
    current = realm_secret(visitors.stack)["key"]
    minted = mint(session_claims(email), derived(current, "session"))
    answer = visitors.page(minted)
    assert answer.status_code == 200, answer.text
    return current


def test_a_token_signed_with_the_previous_key_is_accepted_right_after_a_rotation(
    fresh_stack: RunningStack,
    policy_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with http_session() as http:
        visitors = Visitors(fresh_stack, http)
        email = fresh_address("rotation")
        visitors.apply(email)
        before = visitors.sign_in(email)
        old = realm_secret(fresh_stack)["key"]
        assert visitors.page(before).status_code == 200

        for name in AWS_IDENTITY_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        environment = operator_environment(
            fresh_stack.moto_url, fresh_stack.kintone.url, policy_file
        )
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        status = devstack_main(["rotate", REALM_KEY])
        output = "".join(capsys.readouterr())
        assert status == 0, output

        rotated = realm_secret(fresh_stack)
        assert rotated["key"] != old
        assert abs(time.time() - rotated["rotated_at"]) < 120
        assert realm_secret(fresh_stack, "AWSPREVIOUS")["key"] == old
        new = learn_the_current_key(visitors, email)

        kept = visitors.page(before)
        after = visitors.sign_in(email)

    assert kept.status_code == 200, kept.text
    assert kept.json()["records"]
    # New sessions are signed with the new key, which the old one's holder cannot forge.
    jwt.decode(after, derived(new, "session"), algorithms=["HS256"], audience=REALM)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(after, derived(old, "session"), algorithms=["HS256"], audience=REALM)
    assert old not in output
    assert new not in output


def test_a_token_signed_with_the_previous_key_is_refused_once_the_grace_has_passed(
    fresh_stack: RunningStack,
) -> None:
    """The grace (session_seconds, 900 s) cannot be waited for in a test: the new current
    version is put as a rotation would leave it 1,000 s later, its rotated_at that old, with
    the key the session was signed with as AWSPREVIOUS."""
    with http_session() as http:
        visitors = Visitors(fresh_stack, http)
        email = fresh_address("grace")
        visitors.apply(email)
        before = visitors.sign_in(email)
        old = realm_secret(fresh_stack)["key"]
        assert visitors.page(before).status_code == 200

        manager = secretsmanager(fresh_stack)
        rotated_at = int(time.time()) - 1000
        value = {"kind": "hmac", "key": secrets.token_urlsafe(48), "rotated_at": rotated_at}
        manager.put_secret_value(
            SecretId=REALM_KEY, SecretString=json.dumps(value), VersionStages=["AWSCURRENT"]
        )
        assert realm_secret(fresh_stack, "AWSPREVIOUS")["key"] == old
        learn_the_current_key(visitors, email)

        refused = visitors.page(before)
        reminted = visitors.page(mint(session_claims(email), derived(old, "session")))

    assert problem(refused) == (401, "session_invalid")
    assert problem(reminted) == (401, "session_invalid")


# -- pages and cursors ---------------------------------------------------------------------


@dataclass(frozen=True)
class Applicant:
    email: str
    receipts: list[str]  # oldest first


@pytest.fixture(scope="module")
def seven(visitors: Visitors) -> Applicant:
    """A person with seven applications: two pages of the view."""
    email = fresh_address("seven")
    return Applicant(email, [visitors.apply(email, seats=1 + n % 5) for n in range(7)])


def test_seven_applications_come_as_a_page_of_five_and_a_page_of_two_newest_first(
    visitors: Visitors, seven: Applicant
) -> None:
    token = visitors.sign_in(seven.email)

    first = visitors.page(token)
    assert first.status_code == 200, first.text
    cursor = first.json()["next"]
    second = visitors.page(token, cursor)
    assert second.status_code == 200, second.text

    page_one, page_two = first.json()["records"], second.json()["records"]
    assert (len(page_one), len(page_two)) == (5, 2)
    assert isinstance(cursor, str)
    assert cursor
    assert second.json()["next"] is None
    shown = page_one + page_two
    assert [r["受付ID"] for r in shown] == list(reversed(seven.receipts))
    ids = [record_id(r["ref"]) for r in shown]
    assert ids == sorted(ids, reverse=True)
    assert len(set(ids)) == 7
    for record in shown:
        assert set(record) == {
            "ref",
            "revision",
            "受付ID",
            "氏名",
            "人数",
            "支払状況",
            "申込状況",
            "履歴書",
        }
        assert record["ref"]
        assert record["revision"].isdigit()
        assert record["申込状況"] == "申込"


def test_a_cursor_of_one_session_is_refused_in_another_session_of_the_same_person(
    visitors: Visitors, seven: Applicant
) -> None:
    one, other = visitors.sign_in(seven.email), visitors.sign_in(seven.email)
    cursor = visitors.page(one).json()["next"]

    assert problem(visitors.page(other, cursor)) == (400, "cursor_invalid")
    assert visitors.page(one, cursor).status_code == 200


@dataclass(frozen=True)
class Cursor:
    token: str
    cursor: str
    secret: str

    @property
    def claims(self) -> dict[str, Any]:
        return claims_of(self.cursor)

    def minted(self, **changes: Any) -> str:
        return mint({**self.claims, **changes}, derived(self.secret, "cursor"))


@pytest.fixture(scope="module")
def paging(stack: RunningStack, visitors: Visitors, seven: Applicant) -> Cursor:
    token = visitors.sign_in(seven.email)
    return Cursor(token, visitors.page(token).json()["next"], realm_secret(stack)["key"])


def test_a_cursor_minted_as_sekisho_signs_it_is_accepted(
    visitors: Visitors, paging: Cursor
) -> None:
    """The control for the refusals below: the minting itself is right."""
    answer = visitors.page(paging.token, paging.minted())
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["records"]) == 2


REFUSED_CURSORS: list[Any] = [
    pytest.param(lambda c: with_payload(c.cursor, {"view": "deal-status"}), id="view-edited"),
    pytest.param(lambda c: with_payload(c.cursor, {"last": 10**9}), id="last-edited"),
    pytest.param(
        lambda c: with_payload(c.cursor, {"sid": claims_of(c.token)["jti"] + "x"}),
        id="sid-edited",
    ),
    pytest.param(lambda c: c.minted(view="deal-status"), id="another-view-signed"),
    pytest.param(lambda c: c.minted(sid="someone-elses-session"), id="another-session-signed"),
    pytest.param(lambda c: c.minted(typ="session"), id="typ-session"),
    pytest.param(
        lambda c: mint(c.claims, derived(c.secret, "session")), id="signed-with-the-session-key"
    ),
    pytest.param(lambda c: c.token, id="the-session-token-itself"),
    pytest.param(lambda c: unsigned(c.claims), id="alg-none"),
    pytest.param(
        lambda c: f"{c.cursor.rsplit('.', 1)[0]}.{flip_last(c.cursor.rsplit('.', 1)[1])}",
        id="signature-char-flipped",
    ),
    pytest.param(lambda c: "", id="empty"),
    pytest.param(lambda c: 5, id="a-number"),
    pytest.param(lambda c: ["x"], id="a-list"),
]


@pytest.mark.parametrize("forge", REFUSED_CURSORS)
def test_a_forged_cursor_is_refused_with_400_cursor_invalid(
    visitors: Visitors, paging: Cursor, forge: Callable[[Cursor], Any]
) -> None:
    answer = visitors.http.post(
        f"{visitors.url}/views/my-applications",
        json={"cursor": forge(paging)},
        headers=bearer(paging.token),
        timeout=60,
    )
    assert problem(answer) == (400, "cursor_invalid")


def test_a_view_body_with_another_member_is_refused(visitors: Visitors, keys: Keys) -> None:
    answer = visitors.http.post(
        f"{visitors.url}/views/my-applications",
        json={"match": {"email": "hanako@example.com"}},
        headers=bearer(keys.token),
        timeout=60,
    )
    assert problem(answer) == (400, "validation_failed")


@pytest.mark.parametrize("fold", [False, True], ids=["exact-kintone", "kintone-folding-case"])
def test_the_list_never_shows_another_persons_application(
    stack: RunningStack, visitors: Visitors, fold: bool
) -> None:
    tag = fresh_address("twin").split("@")[0]
    mine, theirs = f"{tag}@example.com", f"{tag.upper()}@example.com"
    neighbour = fresh_address("neighbour")
    mine_receipts = [visitors.apply(mine), visitors.apply(mine)]
    other_receipts = [visitors.apply(theirs), visitors.apply(neighbour)]
    collation = f"{stack.kintone.url}/_emulator/collation"
    visitors.http.post(collation, json={"fold": fold}, timeout=10).raise_for_status()
    try:
        found = seminar_receipts_kintone_finds(stack, mine)
        shown = visitors.records(visitors.sign_in(mine))
    finally:
        visitors.http.post(collation, json={"fold": False}, timeout=10).raise_for_status()

    # Folding, kintone itself answers with the twin's applications too; the list does not.
    assert found == set(mine_receipts) | ({other_receipts[0]} if fold else set())
    assert sorted(r["受付ID"] for r in shown) == sorted(mine_receipts)
    assert not {r["受付ID"] for r in shown} & set(other_receipts)


# -- correcting and cancelling one's own entry ----------------------------------------------


def kintone_view(stack: RunningStack, ref: str) -> dict[str, Any]:
    record = seminar_record(stack, record_id(ref))
    return {code: record[code] for code in ("$revision", "氏名", "人数", "申込状況", "支払状況")}


def test_a_correction_with_the_current_revision_changes_exactly_the_declared_fields(
    stack: RunningStack, visitors: Visitors
) -> None:
    _, token, ref = sign_in_with_one_application(visitors, "correct")
    revision = kintone_view(stack, ref)["$revision"]

    answer = visitors.correct(
        ref, {"name": "山田 太郎", "seats": 3}, revision=revision, headers=bearer(token)
    )

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"revision": str(int(revision) + 1)}
    assert kintone_view(stack, ref) == {
        "$revision": str(int(revision) + 1),
        "氏名": "山田 太郎",
        "人数": "3",
        "申込状況": "申込",
        "支払状況": "未払い",
    }


def test_another_persons_ref_is_404_like_a_made_up_one_and_changes_nothing(
    stack: RunningStack, visitors: Visitors
) -> None:
    _, _, victims_ref = sign_in_with_one_application(visitors, "victim")
    _, token, own_ref = sign_in_with_one_application(visitors, "intruder")
    before = kintone_view(stack, victims_ref)
    own_tag = own_ref.split(".", 1)[1]
    refs = {
        "the victim's ref": victims_ref,
        "the victim's id with the intruder's tag": f"{record_id(victims_ref)}.{own_tag}",
        "a made-up ref": "999999.AAAAAAAAAAAAAAAAAAAAAA",
        "not a ref": "1",
    }

    answers = {}
    for name, ref in refs.items():
        answers[f"PATCH {name}"] = visitors.correct(
            ref, {"name": "乗っ取り"}, revision=before["$revision"], headers=bearer(token)
        )
        answers[f"cancel {name}"] = visitors.cancel(ref, headers=bearer(token))

    refused = {name: problem(answer) for name, answer in answers.items()}
    assert refused == dict.fromkeys(answers, (404, "not_found"))
    bodies = {json.dumps(answer.json(), sort_keys=True) for answer in answers.values()}
    assert len(bodies) == 1, bodies
    assert kintone_view(stack, victims_ref) == before


@pytest.mark.parametrize(
    "field", ["email", "受付経路", "申込状況", "支払状況", "氏名", "cv", "website", "nickname"]
)
def test_a_correction_of_a_field_not_declared_editable_is_refused_as_not_editable(
    stack: RunningStack, visitors: Visitors, field: str
) -> None:
    _, token, ref = sign_in_with_one_application(visitors, "undeclared")
    before = kintone_view(stack, ref)

    answer = visitors.correct(
        ref,
        {"name": "山田 太郎", field: "x@example.com"},
        revision=before["$revision"],
        headers=bearer(token),
    )

    assert problem(answer) == (400, "validation_failed")
    assert {"pointer": f"/fields/{field}", "code": "not_editable"}.items() <= next(
        error for error in answer.json()["errors"] if error["pointer"] == f"/fields/{field}"
    ).items()
    assert kintone_view(stack, ref) == before


def test_a_correction_against_a_stale_revision_is_412_and_without_one_428(
    stack: RunningStack, visitors: Visitors
) -> None:
    _, token, ref = sign_in_with_one_application(visitors, "stale")
    seen = kintone_view(stack, ref)["$revision"]
    change_seminar_record(stack, record_id(ref), {"人数": "4"})  # the organiser, meanwhile
    before = kintone_view(stack, ref)

    stale = visitors.correct(ref, {"seats": 1}, revision=seen, headers=bearer(token))
    missing = visitors.correct(ref, {"seats": 1}, revision=None, headers=bearer(token))
    weak = visitors.correct(
        ref, {"seats": 1}, revision=f'W/"{before["$revision"]}"', headers=bearer(token)
    )

    assert problem(stale) == (412, "revision_mismatch")
    assert problem(missing) == (428, "revision_required")
    assert problem(weak) == (412, "revision_mismatch")
    assert kintone_view(stack, ref) == before


ORIGINS = [
    pytest.param("cookie", None, 403, id="cookie-without-origin"),
    pytest.param("cookie", FOREIGN_ORIGIN, 403, id="cookie-from-a-foreign-origin"),
    pytest.param("cookie", "null", 403, id="cookie-from-an-opaque-origin"),
    pytest.param("cookie", "{allowed}/", 403, id="cookie-from-the-origin-with-a-slash"),
    pytest.param("cookie", "{allowed}", 200, id="cookie-from-the-allowed-origin"),
    pytest.param("bearer", None, 200, id="bearer-without-origin"),
]


def _headers(visitors: Visitors, token: str, carrier: str, origin: str | None) -> dict[str, str]:
    headers = cookie(token) if carrier == "cookie" else bearer(token)
    if origin is not None:
        headers["Origin"] = origin.format(allowed=visitors.origin)
    return headers


@pytest.mark.parametrize(("carrier", "origin", "status"), ORIGINS)
def test_a_correction_riding_on_the_cookie_needs_an_allowed_origin(
    stack: RunningStack, visitors: Visitors, carrier: str, origin: str | None, status: int
) -> None:
    _, token, ref = sign_in_with_one_application(visitors, "origin-patch")
    before = kintone_view(stack, ref)
    answer = visitors.correct(
        ref,
        {"seats": 5},
        revision=before["$revision"],
        headers=_headers(visitors, token, carrier, origin),
    )
    if status == 403:
        assert problem(answer) == (403, "origin_refused")
        assert kintone_view(stack, ref) == before
    else:
        assert answer.status_code == 200, answer.text
        assert kintone_view(stack, ref)["人数"] == "5"


@pytest.mark.parametrize(("carrier", "origin", "status"), ORIGINS)
def test_a_cancel_riding_on_the_cookie_needs_an_allowed_origin(
    stack: RunningStack, visitors: Visitors, carrier: str, origin: str | None, status: int
) -> None:
    _, token, ref = sign_in_with_one_application(visitors, "origin-cancel")
    before = kintone_view(stack, ref)
    answer = visitors.cancel(ref, headers=_headers(visitors, token, carrier, origin))
    if status == 403:
        assert problem(answer) == (403, "origin_refused")
        assert kintone_view(stack, ref) == before
    else:
        assert answer.status_code == 200, answer.text
        assert kintone_view(stack, ref)["申込状況"] == "キャンセル"


def test_a_cancel_marks_the_application_once_and_its_person_can_no_longer_sign_in(
    stack: RunningStack, visitors: Visitors
) -> None:
    email, token, ref = sign_in_with_one_application(visitors, "cancel")
    before = kintone_view(stack, ref)
    mailed = visitors.mails_to(email)
    pending = visitors.code_for(email)  # asked for before the cancel

    first = visitors.cancel(ref, headers=bearer(token))
    again = visitors.cancel(ref, headers=bearer(token))

    assert first.status_code == 200, first.text
    revision = str(int(before["$revision"]) + 1)
    assert first.json() == {"status": "cancelled", "revision": revision}
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert kintone_view(stack, ref) == {**before, "$revision": revision, "申込状況": "キャンセル"}
    # Cancelled is final: no correction either.
    locked = visitors.correct(ref, {"seats": 1}, revision=revision, headers=bearer(token))
    assert problem(locked) == (409, "entry_locked")
    # That was the person's only application: no longer active in the realm.
    assert problem(visitors.sign_in_with(email, pending)) == (401, "sign_in_failed")
    assert visitors.request_code(email).status_code == 202
    assert visitors.mails_to(email) == mailed + 1  # the pending code's mail, and no other


def test_a_paid_application_can_be_neither_corrected_nor_cancelled(
    stack: RunningStack, visitors: Visitors
) -> None:
    _, token, ref = sign_in_with_one_application(visitors, "paid")
    change_seminar_record(stack, record_id(ref), {"支払状況": "支払済"})
    before = kintone_view(stack, ref)

    corrected = visitors.correct(
        ref, {"seats": 1}, revision=before["$revision"], headers=bearer(token)
    )
    cancelled = visitors.cancel(ref, headers=bearer(token))

    assert problem(corrected) == (409, "entry_locked")
    assert problem(cancelled) == (409, "entry_locked")
    assert kintone_view(stack, ref) == before
