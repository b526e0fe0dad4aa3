"""A correction's body: only the form's editable fields, each checked exactly as intake
checks it, a required field never blanked, and every other name refused, never dropped."""

from __future__ import annotations

import pytest

from sekisho.errors import ValidationFailed
from sekisho.forms.correction import NOT_EDITABLE, parse_correction
from sekisho.forms.submission import parse_submission
from tests.unit.test_session_support import FORM, shipped_policy

POLICY = shipped_policy()
SEMINAR = POLICY.form(FORM)
VALID_SUBMISSION = {"name": "山田 花子", "email": "hanako@example.com", "seats": 2}


def _errors(body) -> list[dict[str, str]]:
    with pytest.raises(ValidationFailed) as refused:
        parse_correction(SEMINAR, body)
    problem = refused.value.problem()
    assert (problem["status"], problem["code"]) == (400, "validation_failed")
    return [{"pointer": e["pointer"], "code": e["code"]} for e in problem["errors"]]


def _intake_errors(name: str, value) -> list[dict[str, str]]:
    fields = {**VALID_SUBMISSION, name: value}
    with pytest.raises(ValidationFailed) as refused:
        parse_submission(FORM, SEMINAR, {"fields": fields})
    return [{"pointer": e["pointer"], "code": e["code"]} for e in refused.value.errors]


def test_the_demo_form_lets_name_and_seats_be_corrected():
    assert SEMINAR.editable is not None
    assert SEMINAR.editable.fields == ("name", "seats")


@pytest.mark.parametrize(
    ("fields", "record"),
    [
        pytest.param({"name": "山田 はな子"}, {"氏名": "山田 はな子"}, id="name"),
        pytest.param({"seats": 3}, {"人数": "3"}, id="seats-a-number"),
        pytest.param({"seats": "4"}, {"人数": "4"}, id="seats-a-string"),
        pytest.param({"name": "  花子  ", "seats": 1}, {"氏名": "花子", "人数": "1"}, id="both"),
        pytest.param({"name": "e\u0301"}, {"氏名": "\u00e9"}, id="name-nfc-normalised"),
    ],
)
def test_editable_fields_become_their_kintone_codes_checked_as_at_intake(fields, record):
    assert parse_correction(SEMINAR, {"fields": fields}) == record
    if "name" in fields:
        intake = parse_submission(FORM, SEMINAR, {"fields": {**VALID_SUBMISSION, **fields}})
        assert intake.record["氏名"] == record["氏名"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("seats", 9, id="seats-9"),
        pytest.param("seats", 0, id="seats-0"),
        pytest.param("seats", -1, id="seats-negative"),
        pytest.param("seats", 2**70, id="seats-huge"),
        pytest.param("seats", 1.5, id="seats-a-fraction"),
        pytest.param("seats", "abc", id="seats-letters"),
        pytest.param("seats", "３", id="seats-a-full-width-digit"),
        pytest.param("seats", True, id="seats-a-bool"),
        pytest.param("seats", [1], id="seats-a-list"),
        pytest.param("name", "x" * 101, id="name-too-long"),
        pytest.param("name", 5, id="name-a-number"),
        pytest.param("name", {"v": "x"}, id="name-an-object"),
    ],
)
def test_a_bad_value_gets_the_same_error_as_at_intake(name, value):
    corrected = _errors({"fields": {name: value}})
    assert corrected == _intake_errors(name, value)
    assert corrected[0]["pointer"] == f"/fields/{name}"


def test_seats_9_is_out_of_range_as_at_intake():
    assert _errors({"fields": {"seats": 9}}) == [{"pointer": "/fields/seats", "code": "range"}]


@pytest.mark.parametrize("blank", ["", "   ", None], ids=repr)
def test_a_required_field_cannot_be_blanked(blank):
    assert _errors({"fields": {"name": blank}}) == [{"pointer": "/fields/name", "code": "required"}]


def test_an_optional_field_may_be_cleared():
    assert parse_correction(SEMINAR, {"fields": {"seats": ""}}) == {"人数": ""}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("email", id="a-form-field-that-is-not-editable"),
        pytest.param("cv", id="the-file-field"),
        pytest.param("website", id="the-honeypot"),
        pytest.param("受付ID", id="the-receipt-field"),
        pytest.param("受付経路", id="a-preset"),
        pytest.param("支払状況", id="the-lock-field"),
        pytest.param("申込状況", id="the-cancel-field"),
        pytest.param("氏名", id="the-kintone-code-of-an-editable-field"),
        pytest.param("$revision", id="a-built-in-field"),
        pytest.param("nickname", id="an-unknown-name"),
        pytest.param("Name", id="another-case"),
    ],
)
def test_any_other_name_is_not_editable(name):
    assert _errors({"fields": {name: "x"}}) == [
        {"pointer": f"/fields/{name}", "code": NOT_EDITABLE}
    ]


def test_a_not_editable_name_beside_valid_ones_refuses_the_whole_correction():
    errors = _errors({"fields": {"name": "花子", "email": "mallory@example.com", "seats": 9}})
    assert sorted(errors, key=lambda e: e["pointer"]) == [
        {"pointer": "/fields/email", "code": NOT_EDITABLE},
        {"pointer": "/fields/seats", "code": "range"},
    ]


def test_a_pointer_escapes_the_name():
    assert _errors({"fields": {"a/b~c": "x"}}) == [
        {"pointer": "/fields/a~1b~0c", "code": NOT_EDITABLE}
    ]


def test_nothing_to_correct_is_refused():
    assert _errors({"fields": {}}) == [{"pointer": "/fields", "code": "required"}]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="no-fields"),
        pytest.param({"fields": "name"}, id="fields-not-an-object"),
        pytest.param({"fields": {"name": "花子"}, "revision": "3"}, id="another-member"),
    ],
)
def test_a_body_that_is_not_a_correction_is_refused(body):
    assert _errors(body)
