"""`sekisho check` on signed-in visitors' rules: a realm that cannot find its people, a
session view a body could steer, an edit outside the form or the realm's app, and a secret
of a realm shared with anything else do not pass."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from sekisho.cli import main
from sekisho.errors import NotFound
from sekisho.policy.sessions import EMAIL_CLAIM
from sekisho.tokens.declared import declared_tokens
from tests.unit.test_session_support import (
    CORRECT_TOKEN,
    KEY_SECRET,
    MINE_TOKEN,
    PEOPLE_TOKEN,
    POLICY_PATH,
    policy_from,
    shipped_policy,
    shipped_policy_data,
)

ADD_TOKEN = "sekisho/kintone/seminar-add"
SHARED = "one secret, one least-privilege purpose (and one function allowed to read it)"


def _view(data: dict) -> dict:
    return data["views"]["my-applications"]


def _form(data: dict) -> dict:
    return data["forms"]["seminar-apply"]


def _realm(data: dict) -> dict:
    return data["realms"]["applicants"]


def check(tmp_path: Path, capsys, change: Callable[[dict], object]) -> tuple[int, list[str]]:
    data = shipped_policy_data()
    change(data)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    status = main(["check", str(path)])
    return status, capsys.readouterr().out.splitlines()


# -- the shipped policy ----------------------------------------------------------------


def test_the_shipped_policy_passes_with_its_realm(capsys):
    assert main(["check", "--strict", str(POLICY_PATH)]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith("ok: ")
    assert ", 1 realms" in line


def test_the_shipped_realm_view_and_editable_form_are_the_demo():
    policy = shipped_policy()
    realm = policy.realm("applicants")
    assert (realm.app, realm.email_field, realm.token_secret) == (2, "メール", PEOPLE_TOKEN)
    assert (realm.key_secret, realm.session_seconds, realm.code_seconds) == (KEY_SECRET, 900, 600)
    assert realm.claim_names == {EMAIL_CLAIM}
    view = policy.session_view("my-applications")
    assert (view.session, view.order, view.limit, view.token_secret) == (
        "applicants",
        "newest_first",
        5,
        MINE_TOKEN,
    )
    form = policy.form("seminar-apply")
    assert form.editable is not None
    assert form.cancel is not None
    assert (form.editable.session, form.editable.token_secret) == ("applicants", CORRECT_TOKEN)
    assert (form.editable.owner.field, form.editable.owner.claim) == ("メール", "email")
    assert (form.editable.until.field, form.editable.until.value) == ("支払状況", "支払済")
    assert (form.cancel.field, form.cancel.value) == ("申込状況", "キャンセル")
    assert policy.secret_names("sessions") == {PEOPLE_TOKEN, KEY_SECRET, MINE_TOKEN, CORRECT_TOKEN}


def test_the_session_secrets_are_no_other_function_s():
    policy = shipped_policy()
    sessions = policy.secret_names("sessions")
    for section in ("views", "forms", "webhooks", "actions"):
        assert not sessions & policy.secret_names(section), section


def test_a_session_view_is_not_a_browser_view():
    with pytest.raises(NotFound):
        shipped_policy().browser_view("my-applications")


def test_the_realm_token_is_declared_view_only_and_the_edit_token_edit_only():
    tokens = declared_tokens(shipped_policy())
    assert tokens[PEOPLE_TOKEN].permissions == {"view"}
    assert tokens[MINE_TOKEN].permissions == {"view"}
    assert tokens[CORRECT_TOKEN].permissions == {"edit"}
    assert KEY_SECRET not in tokens  # a key, not a kintone token


# -- refused ---------------------------------------------------------------------------


def _other_realm_over_app_1(data: dict) -> None:
    data["realms"]["dealers"] = {
        "app": 1,
        "token_secret": "sekisho/kintone/deal-people",
        "email_field": "担当ID",
        "key_secret": "sekisho/session/dealers-key",
    }
    _form(data)["editable"]["session"] = "dealers"


def _set(section: Callable[[dict], dict], **values) -> Callable[[dict], None]:
    return lambda data: section(data).update(values)


def _set_editable(**values) -> Callable[[dict], None]:
    return lambda data: _form(data)["editable"].update(values)


def _match(rule: dict) -> Callable[[dict], None]:
    return lambda data: _view(data)["match"].update(email=rule)


REFUSED = [
    pytest.param(
        _match({"code": "メール"}),
        "views.my-applications.match.email.from: a session view takes every predicate from a claim",
        id="a-session-view-with-a-body-predicate",
    ),
    pytest.param(
        _match({"code": "メール", "from": "body"}),
        "views.my-applications.match.email.from: a session view takes every predicate from a claim",
        id="a-session-view-with-an-explicit-body-predicate",
    ),
    pytest.param(
        _set(_view, session="staff"),
        "views.my-applications.session: realm staff is not declared under realms",
        id="a-session-view-of-an-unknown-realm",
    ),
    pytest.param(
        _match({"code": "メール", "from": "claim:member_id"}),
        "views.my-applications.match.email.from: realm applicants claims only email",
        id="a-session-view-on-a-claim-the-realm-lacks",
    ),
    pytest.param(
        _set(_view, single_predicate="allowed"),
        "views.my-applications.single_predicate: a claim cannot be guessed; drop it",
        id="a-session-view-that-allows-a-single-predicate",
    ),
    pytest.param(
        _set_editable(fields=["name", "nickname"]),
        "forms.seminar-apply: editable field nickname is not a field of the form",
        id="an-editable-field-outside-the-form",
    ),
    pytest.param(
        _set_editable(fields=["name", "cv"]),
        "forms.seminar-apply: editable field cv is a file: files cannot be corrected",
        id="an-editable-file-field",
    ),
    pytest.param(
        lambda data: _form(data).pop("editable"),
        "forms.seminar-apply: cancel needs editable: it says whose entry it is and the edit token",
        id="cancel-without-editable",
    ),
    pytest.param(
        _other_realm_over_app_1,
        "forms.seminar-apply.editable.session: realm dealers is over app 1, not 2",
        id="an-editable-whose-realm-is-over-another-app",
    ),
    pytest.param(
        _set_editable(session="staff"),
        "forms.seminar-apply.editable.session: realm staff is not declared under realms",
        id="an-editable-of-an-unknown-realm",
    ),
    pytest.param(
        lambda data: _form(data)["editable"]["owner"].update(claim="member_id"),
        "forms.seminar-apply.editable.owner.claim: realm applicants claims only email",
        id="an-owner-claim-the-realm-lacks",
    ),
    pytest.param(
        _set(_realm, email_field="連絡先"),
        "realms.applicants.email_field: field 連絡先 is not declared in app 2",
        id="a-realm-email-field-undeclared",
    ),
    pytest.param(
        _set(_realm, email_field="人数"),
        "realms.applicants.email_field: field 人数 is NUMBER",
        id="a-realm-email-field-that-is-a-number",
    ),
    pytest.param(
        _set(_realm, claims={"email": "メール"}),
        "realms.applicants.claims: every session claims email (from email_field); do not "
        "declare it",
        id="a-realm-declaring-the-email-claim",
    ),
    pytest.param(
        _set(_realm, claims={"cv": "履歴書"}),
        "realms.applicants.claims.cv: field 履歴書 is FILE, not one value",
        id="a-claim-from-a-file-field",
    ),
    pytest.param(
        _set(_realm, token_secret=ADD_TOKEN),
        f"forms.seminar-apply: secret {ADD_TOKEN} is also used by realms.applicants (realm): "
        + SHARED,
        id="a-realm-token-with-more-than-view-shared-with-a-form-s-add-token",
    ),
    pytest.param(
        _set_editable(token_secret=ADD_TOKEN),
        f"forms.seminar-apply: secret {ADD_TOKEN} is also used by "
        "forms.seminar-apply.editable (entry edit): " + SHARED,
        id="an-edit-token-shared-with-the-form-s-add-token",
    ),
    pytest.param(
        _set(_realm, key_secret=PEOPLE_TOKEN),
        f"realms.applicants: secret {PEOPLE_TOKEN} is also used by realms.applicants "
        "(session key): " + SHARED,
        id="the-key-secret-is-the-realm-token",
    ),
    pytest.param(
        _set(_realm, key_secret=CORRECT_TOKEN),
        f"realms.applicants: secret {CORRECT_TOKEN} is also used by "
        "forms.seminar-apply.editable (entry edit): " + SHARED,
        id="the-key-secret-is-the-edit-token",
    ),
    pytest.param(
        _set(_realm, key_secret="sekisho/webhook/demo-standard"),
        "realms.applicants: secret sekisho/webhook/demo-standard is also used by "
        "webhooks.demo-standard (webhook): " + SHARED,
        id="the-key-secret-is-a-webhook-secret",
    ),
    pytest.param(
        lambda data: _form(data).update(captcha={"provider": "turnstile", "secret": KEY_SECRET}),
        f"forms.seminar-apply.captcha: secret {KEY_SECRET} is also used by realms.applicants "
        "(session key): " + SHARED,
        id="the-key-secret-is-a-captcha-secret",
    ),
]


@pytest.mark.parametrize(("change", "error"), REFUSED)
def test_sekisho_check_refuses(tmp_path, capsys, change, error):
    status, out = check(tmp_path, capsys, change)
    assert status == 1
    assert f"error: {error}" in out


def test_a_realm_token_shared_with_a_form_is_declared_with_more_than_view():
    data = shipped_policy_data()
    _realm(data)["token_secret"] = ADD_TOKEN
    tokens = declared_tokens(policy_from(data))
    assert tokens[ADD_TOKEN].permissions == {"view", "add"}


def test_a_key_secret_shared_by_two_realms_is_refused(tmp_path, capsys):
    def two_realms_one_key(data: dict) -> None:
        data["realms"]["dealers"] = {
            "app": 1,
            "token_secret": "sekisho/kintone/deal-people",
            "email_field": "担当ID",
            "key_secret": KEY_SECRET,
        }

    status, out = check(tmp_path, capsys, two_realms_one_key)
    assert status == 1
    assert any(KEY_SECRET in line and line.startswith("error: ") for line in out), out


def test_a_people_token_shared_by_two_realms_is_refused(tmp_path, capsys):
    def two_realms_one_token(data: dict) -> None:
        data["realms"]["others"] = {
            **_realm(data),
            "key_secret": "sekisho/session/others-key",
        }

    status, out = check(tmp_path, capsys, two_realms_one_token)
    assert status == 1
    assert any("each realm has its own token" in line for line in out), out


def test_the_guard_s_hash_key_is_no_realm_s_key(tmp_path, capsys):
    status, out = check(tmp_path, capsys, _set(_realm, key_secret="sekisho/guard/hash-key"))
    assert status == 1
    assert any("is the guard's hash key" in line for line in out), out


def test_an_email_field_may_be_a_link_field(tmp_path, capsys):
    def link(data: dict) -> None:
        data["apps"][2]["fields"]["連絡先"] = "LINK"
        _realm(data)["email_field"] = "連絡先"

    status, out = check(tmp_path, capsys, link)
    assert status == 0, out
