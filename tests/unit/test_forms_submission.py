"""Form submissions: only declared fields, normalised and checked, become a kintone record."""

import base64
from pathlib import Path

import pytest

from sekisho.errors import ValidationFailed
from sekisho.forms import CODES, MAX_REQUEST_FILE_BYTES, Submission, parse_submission
from sekisho.forms.contract_model import _model_for
from sekisho.forms.submission import MAX_REPORTED_ERRORS
from sekisho.policy import FormPolicy
from sekisho.policy.validation import read_policy, schema, validate
from tests.form_support import FORM, PDF, PNG, pdf

REPO_POLICY = Path(__file__).resolve().parents[2] / "policy.yaml"
PRESETS = {"受付経路": "web", "タグ": ["web", "2025"]}


def submit(**fields) -> Submission:
    return parse_submission("apply", FORM, {"fields": {"name": "山田", **fields}})


def refused(body: dict, form: FormPolicy = FORM) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as caught:
        parse_submission("apply", form, body)
    error = caught.value
    assert error.status == 400
    assert error.problem()["code"] == "validation_failed"
    return [(e["pointer"], e["code"]) for e in error.errors]


# -- the shipped demo form


def test_a_valid_demo_submission_becomes_exactly_the_declared_fields_plus_presets():
    form = read_policy(REPO_POLICY).form("seminar-apply")
    body = {
        "fields": {
            "name": "山田 花子",
            "email": "hanako@example.com",
            "seats": 2,
            "cv": [pdf()],
        }
    }
    submission = parse_submission("seminar-apply", form, body)
    assert submission == Submission(
        form="seminar-apply",
        record={
            "氏名": "山田 花子",
            "メール": "hanako@example.com",
            "人数": "2",
            "受付経路": "web",
            "支払状況": "未払い",
            "申込状況": "申込",
        },
        attachments=submission.attachments,
        honeypot=False,
    )
    (cv,) = submission.attachments
    assert (cv.field, cv.filename, cv.content_type, cv.data) == (
        "履歴書",
        "cv.pdf",
        "application/pdf",
        PDF,
    )


DEMO_ATTACKS = [
    # (fields, pointer, code) — the issue's "done when" list
    pytest.param({"社内メモ": "x"}, "/fields/社内メモ", "unknown", id="a-field-not-in-the-form"),
    pytest.param({"受付ID": "x"}, "/fields/受付ID", "unknown", id="the-receipt-field"),
    pytest.param({"受付経路": "phone"}, "/fields/受付経路", "unknown", id="a-preset"),
    pytest.param({"seats": "two"}, "/fields/seats", "type", id="a-wrong-type"),
    pytest.param({"name": "長" * 101}, "/fields/name", "length", id="an-over-long-value"),
    pytest.param({"seats": 6}, "/fields/seats", "range", id="out-of-range"),
    pytest.param({"cv": [pdf(PNG)]}, "/fields/cv", "file_type", id="a-pdf-claim-with-png"),
    pytest.param({"cv": [pdf(b"%PDF-" + b"x" * 2097148)]}, "/fields/cv", "file_size", id="big"),
    pytest.param({"cv": [pdf(filename="../../cv.pdf")]}, "/fields/cv", "file_name", id="path"),
    pytest.param({"cv": [pdf(), pdf()]}, "/fields/cv", "file_count", id="two-files"),
    # A direct upload field takes an upload's id, never the bytes themselves.
    pytest.param({"materials": pdf()}, "/fields/materials", "type", id="inline-bytes-for-direct"),
    pytest.param({"materials": [{"upload": "x" * 22}]}, "/fields/materials", "type", id="a-list"),
    pytest.param({"materials": {"upload": "../cv"}}, "/fields/materials", "upload", id="bad-id"),
]


@pytest.mark.parametrize(("fields", "pointer", "code"), DEMO_ATTACKS)
def test_the_demo_form_refuses(fields, pointer, code):
    form = read_policy(REPO_POLICY).form("seminar-apply")
    body = {"fields": {"name": "山田 花子", "email": "hanako@example.com", **fields}}
    assert refused(body, form) == [(pointer, code)]


# -- values are normalised, then checked, and come out as kintone wants them

GOOD = [
    # (fields, the record's values for them)
    pytest.param({"name": "  山田  "}, {"氏名": "山田"}, id="trimmed"),
    pytest.param({"name": "\u3000山田\u3000"}, {"氏名": "山田"}, id="ideographic-spaces-trimmed"),
    pytest.param({"name": "Jose\u0301"}, {"氏名": "Jos\u00e9"}, id="nfc"),
    pytest.param({"name": "ｶﾀｶﾅ"}, {"氏名": "ｶﾀｶﾅ"}, id="nfc-not-nfkc"),
    pytest.param({"name": "\u00e9" * 10}, {"氏名": "\u00e9" * 10}, id="length-after-nfc"),
    pytest.param(
        {"note": "一行目\r\n二行目\r三行目"}, {"備考": "一行目\n二行目\n三行目"}, id="crlf"
    ),
    pytest.param({"note": "\tタブ\tと\n改行\n\n"}, {"備考": "タブ\tと\n改行"}, id="tab-newline"),
    pytest.param({"email": " a.b+c@example.co.jp "}, {"メール": "a.b+c@example.co.jp"}, id="email"),
    pytest.param({"email": "taro..x.@docomo.ne.jp"}, {"メール": "taro..x.@docomo.ne.jp"}, id="jp"),
    pytest.param({"email": "花子@例え.jp"}, {"メール": "花子@例え.jp"}, id="idn-email"),
    pytest.param({"seats": 2}, {"人数": "2"}, id="json-number"),
    pytest.param({"seats": "3"}, {"人数": "3"}, id="numeric-string"),
    pytest.param({"seats": " 4 "}, {"人数": "4"}, id="numeric-string-trimmed"),
    pytest.param({"seats": 5.0}, {"人数": "5.0"}, id="float-whole"),
    pytest.param({"ratio": 0.1}, {"比率": "0.1"}, id="float-exact-decimal"),
    pytest.param({"ratio": 1e-7}, {"比率": "0.0000001"}, id="float-no-exponent"),
    pytest.param({"ratio": -0.0}, {"比率": "0.0"}, id="negative-zero"),
    pytest.param({"ratio": "-12.50"}, {"比率": "-12.50"}, id="negative-decimal-string"),
    pytest.param({"ratio": "007"}, {"比率": "7"}, id="leading-zeros"),
    pytest.param({"ratio": 10**29}, {"比率": "1" + "0" * 29}, id="thirty-digits"),
    pytest.param({"day": "2025-04-01"}, {"参加日": "2025-04-01"}, id="date"),
    pytest.param({"day": "2024-02-29"}, {"参加日": "2024-02-29"}, id="leap-day"),
    pytest.param(
        {"start": "2025-04-01T09:30:00+09:00"}, {"到着": "2025-04-01T00:30:00Z"}, id="to-utc"
    ),
    pytest.param({"start": "2025-04-01T00:30Z"}, {"到着": "2025-04-01T00:30:00Z"}, id="z"),
    pytest.param(
        {"start": "2025-01-01T00:00:59.999-05:00"}, {"到着": "2025-01-01T05:00:59Z"}, id="frac"
    ),
    pytest.param({"venue": " 東京 "}, {"会場": "東京"}, id="choice"),
    pytest.param({"topics": ["Web", "AI"]}, {"興味": ["Web", "AI"]}, id="multi-choice"),
    pytest.param({"member": "ABC-123"}, {"会員番号": "ABC-123"}, id="pattern"),
    pytest.param({"email": "", "seats": None, "topics": [], "cv": []}, {}, id="blank-is-absent"),
    pytest.param({"note": "   "}, {}, id="spaces-are-absent"),
]


@pytest.mark.parametrize(("fields", "values"), GOOD)
def test_a_good_submission_becomes_kintone_values(fields, values):
    submission = submit(**fields)
    expected = {"氏名": "山田", **values, **PRESETS}
    assert submission.record == expected
    assert not submission.honeypot


BAD = [
    # (fields, pointer, code)
    pytest.param({"name": None}, "/fields/name", "required", id="required-null"),
    pytest.param({"name": " \u3000 "}, "/fields/name", "required", id="required-blank"),
    pytest.param({"nmae": "x"}, "/fields/nmae", "unknown", id="a-typo"),
    pytest.param({"受付ID": "x"}, "/fields/受付ID", "unknown", id="the-receipt"),
    pytest.param({"受付経路": "x"}, "/fields/受付経路", "unknown", id="a-preset-by-code"),
    pytest.param({"field_0": "x"}, "/fields/field_0", "unknown", id="an-internal-name"),
    pytest.param({"a/b~c": "x"}, "/fields/a~1b~0c", "unknown", id="pointer-escaped"),
    pytest.param({"name": 12}, "/fields/name", "type", id="number-for-text"),
    pytest.param({"name": ["山田"]}, "/fields/name", "type", id="list-for-text"),
    pytest.param({"name": "長" * 11}, "/fields/name", "length", id="too-long"),
    pytest.param({"note": "x"}, "/fields/note", "length", id="too-short"),
    pytest.param({"name": "山\x00田"}, "/fields/name", "encoding", id="nul"),
    pytest.param({"name": "山\n田"}, "/fields/name", "encoding", id="newline-in-text"),
    pytest.param({"name": "山\u0085田"}, "/fields/name", "encoding", id="c1-control"),
    pytest.param({"name": "山\ud800田"}, "/fields/name", "encoding", id="lone-surrogate"),
    pytest.param({"note": "行\x1b[31m"}, "/fields/note", "encoding", id="escape-in-textarea"),
    pytest.param({"email": "no-at.example.com"}, "/fields/email", "email", id="no-at"),
    pytest.param({"email": "a@b@example.com"}, "/fields/email", "email", id="two-ats"),
    pytest.param({"email": "a@localhost"}, "/fields/email", "email", id="undotted-domain"),
    pytest.param({"email": "a@example..com"}, "/fields/email", "email", id="empty-label"),
    pytest.param({"email": "a@.example.com"}, "/fields/email", "email", id="leading-dot"),
    pytest.param({"email": "a b@example.com"}, "/fields/email", "email", id="space"),
    pytest.param({"email": "a\u3000b@example.com"}, "/fields/email", "email", id="wide-space"),
    pytest.param({"email": '"a"@example.com'}, "/fields/email", "email", id="quoted"),
    pytest.param({"email": "a@[127.0.0.1]"}, "/fields/email", "email", id="literal"),
    pytest.param({"email": "<a@example.com>"}, "/fields/email", "email", id="brackets"),
    pytest.param({"email": "a\n@example.com"}, "/fields/email", "encoding", id="control"),
    pytest.param({"email": "x" * 65 + "@example.com"}, "/fields/email", "email", id="local"),
    pytest.param({"email": "a@" + "x" * 250 + ".jp"}, "/fields/email", "length", id="255"),
    pytest.param({"seats": True}, "/fields/seats", "type", id="true-is-not-a-number"),
    pytest.param({"seats": False}, "/fields/seats", "type", id="false-is-not-a-number"),
    pytest.param({"seats": "2人"}, "/fields/seats", "type", id="units"),
    pytest.param({"seats": "２"}, "/fields/seats", "type", id="full-width-digit"),
    pytest.param({"seats": "\u0662"}, "/fields/seats", "type", id="arabic-indic-digit"),
    pytest.param({"seats": "1e0"}, "/fields/seats", "type", id="exponent-string"),
    pytest.param({"seats": "+2"}, "/fields/seats", "type", id="plus-sign"),
    pytest.param({"seats": ".5"}, "/fields/seats", "type", id="bare-fraction"),
    pytest.param({"seats": "NaN"}, "/fields/seats", "type", id="nan-string"),
    pytest.param({"seats": "Infinity"}, "/fields/seats", "type", id="infinity-string"),
    pytest.param({"ratio": float("nan")}, "/fields/ratio", "type", id="nan"),
    pytest.param({"ratio": float("inf")}, "/fields/ratio", "type", id="inf"),
    pytest.param({"ratio": float("-inf")}, "/fields/ratio", "type", id="minus-inf"),
    pytest.param({"seats": {"value": 2}}, "/fields/seats", "type", id="object"),
    pytest.param({"seats": 0}, "/fields/seats", "range", id="below-min"),
    pytest.param({"seats": "6"}, "/fields/seats", "range", id="above-max-string"),
    pytest.param({"seats": 5.0000001}, "/fields/seats", "type", id="decimals"),
    pytest.param({"seats": "1.5"}, "/fields/seats", "type", id="decimals-string"),
    pytest.param({"ratio": 10**30}, "/fields/ratio", "range", id="31-digits"),
    pytest.param({"ratio": 1e300}, "/fields/ratio", "range", id="huge-float"),
    pytest.param({"ratio": "1" * 40}, "/fields/ratio", "range", id="long-string"),
    pytest.param({"day": "2025-02-30"}, "/fields/day", "date", id="no-such-day"),
    pytest.param({"day": "20250401"}, "/fields/day", "date", id="basic-format"),
    pytest.param({"day": "2025-W14-2"}, "/fields/day", "date", id="week-date"),
    pytest.param({"day": "2025/04/01"}, "/fields/day", "date", id="slashes"),
    pytest.param({"day": "2025-04-01T00:00"}, "/fields/day", "date", id="date-with-time"),
    pytest.param({"day": "２０２５-04-01"}, "/fields/day", "date", id="full-width-year"),
    pytest.param({"day": 20250401}, "/fields/day", "type", id="date-as-number"),
    pytest.param({"start": "2025-04-01T09:30"}, "/fields/start", "date", id="no-offset"),
    pytest.param({"start": "2025-04-01 09:30+09:00"}, "/fields/start", "date", id="space-sep"),
    pytest.param({"start": "2025-04-01T24:00+09:00"}, "/fields/start", "date", id="hour-24"),
    pytest.param({"start": "2025-04-01T09:30+0900"}, "/fields/start", "date", id="colonless"),
    pytest.param({"start": "0001-01-01T00:00+09:00"}, "/fields/start", "date", id="underflow"),
    pytest.param({"start": "2025-04-01t09:30z"}, "/fields/start", "date", id="lowercase"),
    pytest.param({"venue": "名古屋"}, "/fields/venue", "choice", id="not-an-option"),
    pytest.param({"venue": "とうきょう"}, "/fields/venue", "choice", id="reading"),
    pytest.param({"venue": ["東京"]}, "/fields/venue", "type", id="list-for-choice"),
    pytest.param({"topics": "AI"}, "/fields/topics", "type", id="string-for-multi"),
    pytest.param({"topics": ["AI", "ML"]}, "/fields/topics", "choice", id="one-not-an-option"),
    pytest.param({"topics": ["AI", " AI"]}, "/fields/topics", "choice", id="chosen-twice"),
    pytest.param({"topics": ["AI", ""]}, "/fields/topics", "choice", id="empty-option"),
    pytest.param({"topics": ["AI", 1]}, "/fields/topics", "type", id="number-in-list"),
    pytest.param({"topics": ["AI", "Web", "DB"]}, "/fields/topics", "length", id="max-items"),
    pytest.param({"member": "abc-123"}, "/fields/member", "pattern", id="pattern"),
    pytest.param({"member": "ABC-1234"}, "/fields/member", "pattern", id="pattern-fullmatch"),
    pytest.param({"member": "XABC-123"}, "/fields/member", "pattern", id="pattern-anchored"),
    pytest.param({"cv": pdf()}, "/fields/cv", "type", id="a-file-not-in-a-list"),
    pytest.param({"cv": [pdf(PNG)]}, "/fields/cv", "file_type", id="mislabelled-file"),
    pytest.param({"cv": [pdf(), pdf(), pdf()]}, "/fields/cv", "file_count", id="three-files"),
    pytest.param({"cv": [pdf(filename="C:\\x\\cv.pdf")]}, "/fields/cv", "file_name", id="path"),
    pytest.param({"website": "", "url": "x"}, "/fields/url", "unknown", id="honeypot-empty"),
]


@pytest.mark.parametrize(("fields", "pointer", "code"), BAD)
def test_a_bad_submission_names_the_field_and_the_reason(fields, pointer, code):
    assert refused({"fields": {"name": "山田", **fields}}) == [(pointer, code)]


def test_every_refused_field_is_reported_at_once_in_declaration_order():
    body = {"fields": {"zzz": 1, "seats": 9, "email": "x", "aaa": 2}}
    assert refused(body) == [
        ("/fields/name", "required"),
        ("/fields/email", "email"),
        ("/fields/seats", "range"),
        ("/fields/zzz", "unknown"),
        ("/fields/aaa", "unknown"),
    ]


def test_every_error_code_is_in_the_stable_vocabulary():
    cases = [case.values for case in [*BAD, *DEMO_ATTACKS]]
    assert {code for _, _, code in cases} == CODES


SECRET = "sk-live-NEVER-ECHO-1234"


@pytest.mark.parametrize(
    "fields",
    [
        {"name": SECRET * 2},
        {"email": SECRET},
        {"seats": SECRET},
        {"day": SECRET},
        {"start": SECRET},
        {"venue": SECRET},
        {"topics": [SECRET]},
        {"member": SECRET},
        {"cv": [pdf(filename=SECRET + "/x")]},
        {"cv": [{**pdf(), "content_type": SECRET}]},
    ],
)
def test_a_refusal_never_repeats_the_value(fields):
    with pytest.raises(ValidationFailed) as caught:
        submit(**fields)
    assert SECRET not in str(caught.value.problem())
    assert SECRET not in str(caught.value)


def test_very_many_unknown_fields_get_a_bounded_answer():
    fields = {f"x{i}": 1 for i in range(10_000)}
    assert len(refused({"fields": {"name": "山田", **fields}})) == MAX_REPORTED_ERRORS


# -- the body is exactly {"fields": {...}}

BODIES = [
    pytest.param({}, [("/fields", "required")], id="empty"),
    pytest.param({"field": {"name": "x"}}, [("/field", "unknown"), ("/fields", "required")]),
    pytest.param({"fields": ["name"]}, [("/fields", "type")], id="fields-a-list"),
    pytest.param({"fields": None}, [("/fields", "type")], id="fields-null"),
    pytest.param(
        {"fields": {"name": "x"}, "receipt": "mine"}, [("/receipt", "unknown")], id="own-receipt"
    ),
    pytest.param({"fields": {"name": "x"}, "record": {}}, [("/record", "unknown")], id="record"),
]


@pytest.mark.parametrize(("body", "errors"), BODIES)
def test_a_body_that_is_not_exactly_fields_is_refused(body, errors):
    assert refused(body) == errors


# -- honeypot


@pytest.mark.parametrize(
    "trap", ["http://spam.example", "x", 0, False, ["x"], {"a": 1}, " y "], ids=repr
)
def test_a_filled_honeypot_is_accepted_and_nothing_else_is_looked_at(trap):
    body = {"fields": {"website": trap, "nmae": "bot", "seats": "lots", "cv": "junk"}}
    assert parse_submission("apply", FORM, body) == Submission("apply", {}, (), honeypot=True)


@pytest.mark.parametrize("empty", ["", "   ", None, []], ids=repr)
def test_an_empty_honeypot_is_ignored_and_not_an_unknown_field(empty):
    submission = submit(website=empty)
    assert not submission.honeypot
    assert submission.record == {"氏名": "山田", **PRESETS}


def test_a_form_without_a_honeypot_refuses_that_name_as_unknown():
    form = read_policy(REPO_POLICY).form("seminar-apply")
    plain = form.replace(honeypot=None)
    body = {"fields": {"name": "a", "email": "a@example.com", "website": "x"}}
    assert refused(body, plain) == [("/fields/website", "unknown")]


# -- files


def test_files_of_every_file_field_become_attachments_in_declaration_order():
    png = {"filename": "me.png", "content_type": "image/png", "data": base64.b64encode(PNG)}
    png["data"] = png["data"].decode()
    submission = submit(photo=[png], cv=[pdf(filename="a.pdf"), pdf(filename="b.pdf")])
    assert [(a.field, a.filename) for a in submission.attachments] == [
        ("履歴書", "a.pdf"),
        ("履歴書", "b.pdf"),
        ("写真", "me.png"),
    ]
    assert set(submission.record) == {"氏名", *PRESETS}


def test_the_files_of_one_request_together_are_capped():
    big = b"%PDF-" + b"\x00" * (3 * 1024 * 1024)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * (MAX_REQUEST_FILE_BYTES - len(big) - 8)
    fits = {"filename": "p.png", "content_type": "image/png"}
    at_cap = submit(cv=[pdf(big)], photo=[{**fits, "data": base64.b64encode(png).decode()}])
    assert sum(len(a.data) for a in at_cap.attachments) == MAX_REQUEST_FILE_BYTES
    over = base64.b64encode(png + b"\x00").decode()
    body = {"fields": {"name": "山田", "cv": [pdf(big)], "photo": [{**fits, "data": over}]}}
    assert refused(body) == [("/fields/photo", "file_size")]


# -- the model


def test_the_model_is_built_once_per_form_and_policy_object():
    assert _model_for("apply", FORM) is _model_for("apply", FORM)
    twin = FORM.replace()
    assert _model_for("apply", twin) is not _model_for("apply", FORM)
    assert _model_for("other", FORM) is not _model_for("apply", FORM)


@pytest.mark.parametrize("name", ["json", "copy", "model_config", "schema", "fields", "dict"])
def test_a_browser_field_may_be_named_like_a_pydantic_attribute(name):
    form = validate(
        schema.FormPolicy,
        {
            "app": 2,
            "token_secret": "s/t",
            "receipt_field": "受付ID",
            "fields": {name: {"code": "氏名", "type": "text", "required": True}},
        },
    )
    assert parse_submission("f", form, {"fields": {name: "x"}}).record == {"氏名": "x"}
    assert refused({"fields": {}}, form) == [(f"/fields/{name}", "required")]
