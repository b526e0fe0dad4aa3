"""`reply:` on a form in the policy: a recipient that is the form's email field, only its
other non-file fields in the mail, one-line subjects in every language; kept through the
reviewed snapshot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from sekisho.cli import main
from sekisho.policy.reply import DEFAULT_SUBJECTS, ReplyPolicy
from sekisho.policy.snapshot import restore, snapshot_bytes
from tests.unit.test_session_support import policy_from, shipped_policy, shipped_policy_data


def _reply(data: dict) -> dict:
    return data["forms"]["seminar-apply"]["reply"]


def check(tmp_path: Path, capsys, change: Callable[[dict], object]) -> tuple[int, list[str]]:
    data = shipped_policy_data()
    change(data)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    status = main(["check", str(path)])
    return status, capsys.readouterr().out.splitlines()


def test_the_demo_form_mails_its_email_field_with_name_and_seats():
    reply = shipped_policy().form("seminar-apply").reply
    assert reply == ReplyPolicy(
        to="email",
        fields=("name", "seats"),
        language="ja",
        subject={
            "ja": "セミナーのお申し込みを受け付けました",
            "en": "We have received your seminar application",
        },
    )


def test_a_reply_survives_the_reviewed_snapshot():
    policy = shipped_policy()
    restored = restore(snapshot_bytes(policy))
    assert restored.form("seminar-apply").reply == policy.form("seminar-apply").reply
    assert restored == policy


def test_a_reply_with_only_a_recipient_has_default_subjects_and_japanese():
    data = shipped_policy_data()
    data["forms"]["seminar-apply"]["reply"] = {"to": "email"}
    reply = policy_from(data).form("seminar-apply").reply
    assert (reply.fields, reply.language, reply.subject) == ((), "ja", dict(DEFAULT_SUBJECTS))


def _set(**values) -> Callable[[dict], None]:
    return lambda data: _reply(data).update(values)


REFUSED = [
    pytest.param(
        _set(to="name"), "reply.to: name is a text field, not an email field", id="to-text"
    ),
    pytest.param(_set(to="phone"), "reply.to: phone is not a field of the form", id="to-unknown"),
    pytest.param(
        _set(fields=["name", "memo"]),
        "reply.fields: memo is not a field of the form",
        id="undeclared",
    ),
    pytest.param(
        _set(fields=["cv"]), "reply.fields: cv is a file: a mail carries no file", id="file-field"
    ),
    pytest.param(_set(fields=["name", "name"]), "name is listed twice", id="twice"),
    pytest.param(
        _set(subject={"ja": "受付\r\nBcc: victim@example.com", "en": "ok"}),
        "a subject must not contain CR, LF",
        id="subject-crlf",
    ),
    pytest.param(
        _set(subject={"ja": "受付\n", "en": "ok"}),
        "a subject must not contain CR, LF",
        id="subject-lf",
    ),
    pytest.param(
        _set(subject={"ja": "受付\u2028", "en": "ok"}),
        "a subject must not contain CR, LF",
        id="subject-line-separator",
    ),
    pytest.param(
        _set(subject={"ja": "受付"}), "a subject is needed in every language: en", id="one-language"
    ),
    pytest.param(_set(subject={"ja": "受付", "fr": "x"}), "subject.fr", id="unknown-language"),
    pytest.param(_set(language="fr"), "language", id="unknown-default-language"),
    pytest.param(_set(bcc="audit@example.com"), "bcc", id="unknown-key"),
]


@pytest.mark.parametrize(("change", "error"), REFUSED)
def test_sekisho_check_refuses(tmp_path, capsys, change, error):
    status, out = check(tmp_path, capsys, change)
    assert status == 1
    assert any(line.startswith("error: ") and error in line for line in out), out
