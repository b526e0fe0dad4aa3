"""openapi.json is the HTTP contract generated from the code and the policy, and it stays so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate

from sekisho import errors
from sekisho.cli import main
from sekisho.contract import openapi_document, render
from sekisho.errors import SekishoError, ValidationFailed
from sekisho.forms import parse_submission
from sekisho.forms.contract_model import submission_schema
from sekisho.forms.schema import field_schema
from sekisho.policy import validation
from sekisho.policy.validation import parse_policy, read_policy
from sekisho.policy.validation.forms import FormFieldType
from tests.form_support import FORM, pdf

REPO = Path(__file__).resolve().parents[2]
OPENAPI = REPO / "openapi.json"
POLICY = REPO / "policy.yaml"
VALIDATOR = Draft202012Validator(submission_schema("apply", FORM), format_checker=FormatChecker())


def body(**fields: Any) -> dict[str, Any]:
    return {"fields": {"name": "山田", **fields}}


def generated() -> str:
    return render(openapi_document(read_policy(POLICY)))


def test_openapi_json_is_what_the_code_generates_from_the_policy():
    assert OPENAPI.read_text(encoding="utf-8") == generated(), "run `make openapi`"


def test_sekisho_openapi_check_fails_when_the_file_has_drifted(tmp_path, capsys):
    stale = tmp_path / "openapi.json"
    stale.write_text(generated().replace('"recorded"', '"stored"'), encoding="utf-8")

    assert main(["openapi", str(POLICY), "--output", str(stale), "--check"]) == 1
    assert "make openapi" in capsys.readouterr().out
    assert main(["openapi", str(POLICY), "--output", str(stale)]) == 0
    assert main(["openapi", str(POLICY), "--output", str(stale), "--check"]) == 0


def test_the_contract_is_a_valid_openapi_3_1_document():
    document = json.loads(OPENAPI.read_text(encoding="utf-8"))
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_every_route_of_the_policy_is_one_path_with_its_methods_and_nothing_else():
    policy = read_policy(POLICY)
    paths = json.loads(OPENAPI.read_text(encoding="utf-8"))["paths"]

    expected = (
        dict.fromkeys(f"/views/{name}" for name in policy.views)
        | dict.fromkeys(f"/forms/{name}" for name in policy.forms)
        | dict.fromkeys(f"/webhooks/{name}" for name in policy.webhooks)
        | dict.fromkeys(f"/sessions/{name}/code" for name in policy.realms)
    )
    expected = {path: {"post"} for path in expected}
    expected |= {f"/sessions/{name}": {"post", "delete"} for name in policy.realms}
    for name, view in policy.views.items():
        if view.session is not None and "FILE" in {view.field_type(c) for c in view.fields}:
            expected[f"/views/{name}/files/{{ticket}}"] = {"get"}
    for name, form in policy.forms.items():
        expected[f"/forms/{name}"] = {"post", "get"}
        expected[f"/forms/{name}/receipts/{{receipt}}"] = {"get"}
        if form.editable is not None:
            expected[f"/forms/{name}/entries/{{ref}}"] = {"patch"}
        if form.cancel is not None:
            expected[f"/forms/{name}/entries/{{ref}}/cancel"] = {"post"}
        if any(field.upload == "direct" for field in form.fields.values()):
            expected[f"/forms/{name}/uploads"] = {"post"}
    for partner in policy.partners.values():
        for name in partner.routes.forms:
            expected[f"/partners/forms/{name}"] = {"post"}
    assert {path: set(operations) for path, operations in paths.items()} == expected


@pytest.mark.parametrize("path", ["/views/partner-deals", "/partners/forms/seminar-apply"])
def test_a_partner_route_documents_its_signature_headers_and_every_refusal(path):
    document = json.loads(OPENAPI.read_text(encoding="utf-8"))
    operation = document["paths"][path]["post"]

    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert {"Signature-Input", "Signature", "Content-Digest"} <= headers
    assert "X-Captcha-Token" not in headers
    assert operation["security"] == [{"partnerSignature": []}]
    assert "partnerSignature" in document["components"]["securitySchemes"]
    codes = {
        status: set(
            answer["content"]["application/problem+json; charset=utf-8"]["schema"]["allOf"][1][
                "properties"
            ]["code"]["enum"]
        )
        for status, answer in operation["responses"].items()
        if int(status) >= 400
    }
    assert {
        "signature_missing",
        "signature_invalid",
        "signature_stale",
        "signature_replayed",
        "digest_mismatch",
        "unknown_partner",
    } <= codes["401"]
    assert "quota_exceeded" in codes["429"]
    assert "rate_limited" not in codes["429"]
    assert "network_not_allowed" in codes["403"]
    assert "Retry-After" in operation["responses"]["429"]["headers"]


def test_a_field_added_to_a_form_in_the_policy_appears_in_the_contract():
    raw = yaml.safe_load(POLICY.read_text(encoding="utf-8"))
    raw["apps"][2]["fields"]["会場"] = "DROP_DOWN"
    raw["forms"]["seminar-apply"]["fields"]["venue"] = {
        "code": "会場",
        "type": "choice",
        "options": ["東京", "大阪"],
        "required": True,
    }
    document = openapi_document(parse_policy(yaml.safe_dump(raw, allow_unicode=True)))

    operation = document["paths"]["/forms/seminar-apply"]["post"]
    fields = operation["requestBody"]["content"]["application/json"]["schema"]["properties"][
        "fields"
    ]
    assert fields["properties"]["venue"] == {"type": "string", "enum": ["東京", "大阪"]}
    assert "venue" in fields["required"]


def test_a_view_asks_in_the_body_for_exactly_its_predicates_with_their_limits():
    document = json.loads(OPENAPI.read_text(encoding="utf-8"))
    operation = document["paths"]["/views/deal-status"]["post"]
    match = operation["requestBody"]["content"]["application/json"]["schema"]["properties"]["match"]

    assert match["additionalProperties"] is False
    assert sorted(match["required"]) == ["deal_id", "owner_id"]
    assert match["properties"]["deal_id"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 7,
        "pattern": "^(?:^D[0-9]{6}$)$",
    }
    record = operation["responses"]["200"]["content"]["application/json; charset=utf-8"]["schema"][
        "properties"
    ]["records"]["items"]
    # The projection, and nothing the view does not project (社内メモ, the ids).
    assert set(record["properties"]) == {"取引名", "金額", "ステータス"}
    assert record["additionalProperties"] is False


def test_a_view_matched_on_a_verified_claim_does_not_ask_for_it_in_the_body():
    raw = yaml.safe_load(POLICY.read_text(encoding="utf-8"))
    raw["views"]["deal-status"]["match"]["owner_id"]["from"] = "claim:custom:partner_id"
    document = openapi_document(parse_policy(yaml.safe_dump(raw, allow_unicode=True)))

    operation = document["paths"]["/views/deal-status"]["post"]
    match = operation["requestBody"]["content"]["application/json"]["schema"]["properties"]["match"]
    assert match["required"] == ["deal_id"]
    assert "owner_id" not in match["properties"]
    assert "custom:partner_id" in operation["description"]


def _relay_codes() -> dict[str, int]:
    found: dict[str, int] = {}
    pending = [SekishoError]
    while pending:
        cls = pending.pop()
        found[cls.code] = cls.status
        pending.extend(cls.__subclasses__())
    return found


def test_every_error_the_contract_names_is_one_the_relay_has_with_its_status():
    codes = _relay_codes()
    document = json.loads(OPENAPI.read_text(encoding="utf-8"))
    named = 0
    answers = [
        (path, status, answer)
        for path, operations in document["paths"].items()
        for operation in operations.values()
        for status, answer in operation["responses"].items()
    ]
    for path, status, answer in answers:
        if int(status) < 400:
            continue
        (content_type,) = answer["content"]
        assert content_type == "application/problem+json; charset=utf-8", path
        schema = answer["content"][content_type]["schema"]["allOf"][1]["properties"]
        assert schema["status"]["const"] == int(status)
        for code in schema["code"]["enum"]:
            named += 1
            assert codes[code] == int(status), (path, code)
    assert named
    assert errors.RouteDisabled.code in codes


CANONICAL = [
    pytest.param({}, id="only-the-required"),
    pytest.param({"note": "二行\n目"}, id="textarea"),
    pytest.param({"email": "hanako@example.com"}, id="email"),
    pytest.param({"seats": 2}, id="number"),
    pytest.param({"seats": "3"}, id="number-as-digits"),
    pytest.param({"seats": None}, id="optional-null"),
    pytest.param({"ratio": -12.5}, id="decimal"),
    pytest.param({"day": "2024-02-29"}, id="date"),
    pytest.param({"start": "2025-04-01T09:30:00+09:00"}, id="datetime"),
    pytest.param({"venue": "大阪"}, id="choice"),
    pytest.param({"topics": ["Web", "AI"]}, id="multi-choice"),
    pytest.param({"member": "ABC-123"}, id="pattern"),
    pytest.param({"cv": [pdf(), pdf(filename="2.pdf")]}, id="files"),
]


@pytest.mark.parametrize("fields", CANONICAL)
def test_a_canonical_submission_fits_the_contract_and_the_relay_accepts_it(fields):
    submission = body(**fields)

    assert list(VALIDATOR.iter_errors(submission)) == []
    assert parse_submission("apply", FORM, submission).record


REFUSED_BY_BOTH = [
    pytest.param({"nmae": "x"}, id="unknown-field"),
    pytest.param({"name": 12}, id="number-for-text"),
    pytest.param({"name": "長" * 11}, id="too-long"),
    pytest.param({"seats": 9}, id="out-of-range"),
    pytest.param({"seats": True}, id="boolean-for-number"),
    pytest.param({"seats": "1e3"}, id="exponent"),
    pytest.param({"day": "2025-02-30"}, id="no-such-date"),
    pytest.param({"venue": "名古屋"}, id="not-an-option"),
    pytest.param({"topics": ["AI", "AI"]}, id="an-option-twice"),
    pytest.param({"topics": ["AI", "Web", "DB"]}, id="too-many-options"),
    pytest.param({"member": "abc-123"}, id="pattern"),
    pytest.param({"cv": [pdf() | {"content_type": "image/png"}]}, id="undeclared-file-type"),
    pytest.param({"cv": [pdf() | {"path": "/etc"}]}, id="extra-file-member"),
    pytest.param({"cv": [pdf(), pdf(), pdf()]}, id="too-many-files"),
]


@pytest.mark.parametrize("fields", REFUSED_BY_BOTH)
def test_what_the_contract_refuses_in_a_submission_the_relay_refuses_too(fields):
    submission = body(**fields)

    assert list(VALIDATOR.iter_errors(submission)), "the contract should refuse it"
    with pytest.raises(ValidationFailed):
        parse_submission("apply", FORM, submission)


@pytest.mark.parametrize("field_type", get_args(FormFieldType))
def test_every_form_field_type_has_a_schema_in_the_contract(field_type):
    # A type added to the policy's vocabulary without a schema would break `make openapi`.
    options = {
        "choice": {"options": ["a"]},
        "multi_choice": {"options": ["a"]},
        "file": {"max_bytes": 10, "content_types": ["application/pdf"]},
    }.get(field_type, {})
    field = validation.validate(
        validation.schema.FormField, {"code": "x", "type": field_type, **options}
    )

    schema = field_schema(field)
    assert schema["anyOf"][-1] == {"type": "null"}
    Draft202012Validator.check_schema(schema)


def test_a_direct_upload_field_is_named_by_its_upload_and_has_its_upload_route():
    document = json.loads(OPENAPI.read_text(encoding="utf-8"))
    submission = document["paths"]["/forms/seminar-apply"]["post"]["requestBody"]
    fields = submission["content"]["application/json"]["schema"]["properties"]["fields"]
    (ref,) = [s for s in fields["properties"]["materials"]["anyOf"] if s.get("type") == "object"]
    assert ref["required"] == ["upload"]
    assert "data" not in ref["properties"]
    upload = document["paths"]["/forms/seminar-apply/uploads"]["post"]
    body = upload["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["field"]["enum"] == ["materials"]
    assert body["properties"]["size"]["maximum"] == 26_214_400
    assert body["properties"]["content_type"]["enum"] == ["application/pdf"]
    assert set(upload["responses"]) >= {"201", "400", "404", "429", "503"}
