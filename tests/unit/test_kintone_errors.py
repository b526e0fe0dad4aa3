"""kintone's answers become typed exceptions; none of kintone's words reach a browser."""

import json

import pytest
import requests

from sekisho.errors import SekishoError
from sekisho.kintone import errors as ke


def answer(status, body=None, *, content_type="application/json; charset=utf-8", headers=None):
    response = requests.Response()
    response.status_code = status
    response.reason = "Reason"
    response.headers["Content-Type"] = content_type
    response.headers.update(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    response._content = (body or "").encode()
    return response


def kintone_body(code, message="kintone says no", errors=None):
    body = {"code": code, "id": "1505999166-897850006", "message": message}
    if errors:
        body["errors"] = errors
    return body


DUPLICATE_EN = "This value already exists in another record."
DUPLICATE_JA = "値がほかのレコードと重複しています。"


@pytest.mark.parametrize(
    ("response", "expected", "transient"),
    [
        (answer(429, kintone_body("GAIA_TO04")), ke.KintoneBusy, True),
        (answer(429, "", content_type="text/plain"), ke.KintoneBusy, True),
        (answer(400, kintone_body("GAIA_DA02")), ke.KintoneLocked, True),
        (
            answer(503, "Service Unavailable: maintenance", content_type="text/plain"),
            ke.KintoneMaintenance,
            True,
        ),
        (
            answer(502, "<html>bad gateway</html>", content_type="text/html"),
            ke.KintoneServerError,
            True,
        ),
        (answer(500, "{not json", content_type="application/json"), ke.KintoneServerError, True),
        (answer(400, kintone_body("GAIA_IA02")), ke.KintoneInvalidToken, False),
        (answer(520, kintone_body("GAIA_IA02")), ke.KintoneInvalidToken, False),
        (answer(403, kintone_body("GAIA_NO01")), ke.KintonePermissionDenied, False),
        (answer(403, kintone_body("CB_NO02")), ke.KintonePermissionDenied, False),
        (answer(400, kintone_body("GAIA_AP15")), ke.KintonePermissionDenied, False),
        (answer(404, kintone_body("GAIA_RE01")), ke.KintoneNotFound, False),
        (answer(404, kintone_body("GAIA_AP01")), ke.KintoneNotFound, False),
        (answer(404, kintone_body("GAIA_BL01")), ke.KintoneNotFound, False),
        (answer(400, kintone_body("GAIA_IQ03")), ke.KintoneQueryError, False),
        (answer(400, kintone_body("GAIA_IQ11")), ke.KintoneQueryError, False),
        (answer(400, kintone_body("GAIA_QU01")), ke.KintoneQueryError, False),
        (
            answer(400, kintone_body("CB_VA01", errors={"query": {"messages": ["syntax"]}})),
            ke.KintoneQueryError,
            False,
        ),
        (
            answer(
                400,
                kintone_body(
                    "CB_VA01", errors={"record.氏名.value": {"messages": ["Required field."]}}
                ),
            ),
            ke.KintoneValidationError,
            False,
        ),
        (
            answer(
                400,
                kintone_body(
                    "CB_VA01", errors={"record.受付ID.value": {"messages": [DUPLICATE_EN]}}
                ),
            ),
            ke.KintoneUniqueViolation,
            False,
        ),
        (
            answer(
                400,
                kintone_body(
                    "CB_VA01", errors={"record.受付ID.value": {"messages": [DUPLICATE_JA]}}
                ),
            ),
            ke.KintoneUniqueViolation,
            False,
        ),
        (answer(400, kintone_body("CB_IJ01")), ke.KintoneError, False),
        (answer(401, "", content_type="text/html"), ke.KintoneError, False),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else None,
)
def test_kintone_answers_map_to_typed_exceptions(response, expected, transient):
    error = ke.error_from_response(response)
    assert type(error) is expected
    assert isinstance(error, ke.KintoneTransientError) is transient


def test_the_error_code_in_a_header_is_used_when_the_body_is_not_json():
    error = ke.error_from_response(
        answer(429, "busy", content_type="text/plain", headers={"X-Cybozu-Error": "GAIA_TO04"})
    )
    assert isinstance(error, ke.KintoneBusy)
    assert error.kintone_code == "GAIA_TO04"


def test_unique_violation_names_the_duplicate_field_and_only_that_one():
    error = ke.error_from_response(
        answer(
            400,
            kintone_body(
                "CB_VA01",
                errors={
                    "record.受付ID.value": {"messages": [DUPLICATE_EN]},
                    "record[人数].value": {"messages": ["Only numbers are allowed."]},
                },
            ),
        )
    )
    assert isinstance(error, ke.KintoneUniqueViolation)
    assert error.duplicate_fields() == {"受付ID"}
    assert error.fields() == {"受付ID", "人数"}


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("record.氏名.value", "氏名"),
        ("records[0].取引ID.value", "取引ID"),
        ("record[人数].value", "人数"),
        ("query", None),
        ("app", None),
    ],
)
def test_field_codes_are_read_from_kintone_error_paths(path, code):
    assert ke.field_code(path) == code


def test_kintone_details_are_kept_for_logs_but_not_in_the_problem():
    error = ke.error_from_response(
        answer(403, kintone_body("GAIA_NO01", "Using this API token, you cannot run the API."))
    )
    assert error.log_fields()["kintone_code"] == "GAIA_NO01"
    problem = json.dumps(error.problem(), ensure_ascii=False)
    assert "GAIA" not in problem
    assert "token" not in problem
    assert error.problem()["code"] == "upstream_error"
    assert error.problem()["status"] == 502


def test_transient_errors_are_upstream_unavailable_problems():
    error = ke.error_from_response(answer(503, "maintenance", content_type="text/plain"))
    assert isinstance(error, SekishoError)
    assert error.problem() == {
        "type": "urn:sekisho:problem:upstream_unavailable",
        "title": "The upstream service is unavailable",
        "status": 503,
        "code": "upstream_unavailable",
    }
