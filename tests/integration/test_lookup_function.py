"""The lookup Lambda handler end to end: events/ files against moto and the emulator."""

import importlib.util
import json
import logging
import secrets
import uuid
from pathlib import Path

import boto3
import pytest
import yaml

from sekisho import runtime
from sekisho.wiring import lookup as lookup_wiring

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
ORIGIN = "http://127.0.0.1:3000"

pytestmark = pytest.mark.emulator


class Context:
    function_name = "LookupFunction"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:ap-northeast-1:123456789012:function:LookupFunction"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/LookupFunction"
    log_stream_name = "local"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


def provision(moto_url: str, table: str) -> None:
    """The template's GuardTable and the secrets the lookup names, in moto."""
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_url)
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    sm = boto3.client("secretsmanager", endpoint_url=moto_url)
    values = {
        "sekisho/kintone/deals-view": {"kind": "kintone-token", "token": "deals-view-token"},
        "sekisho/guard/hash-key": {"kind": "hmac", "key": secrets.token_urlsafe(48)},
    }
    for name, value in values.items():
        try:
            sm.create_secret(Name=name, SecretString=json.dumps(value))
        except sm.exceptions.ResourceExistsException:
            sm.put_secret_value(SecretId=name, SecretString=json.dumps(value))


def clear_container_caches() -> None:
    for cached in (runtime.settings, runtime.policy, lookup_wiring.lookup_service):
        cached.cache_clear()


@pytest.fixture
def handler(kintone, moto_url, monkeypatch):
    """A fresh LookupFunction container: cold start with this test's environment."""
    yield from cold_start(kintone, moto_url, monkeypatch, ROOT / "policy.yaml")


def cold_start(kintone, moto_url, monkeypatch, policy: Path, table: str | None = None):
    table = table or f"GuardTable-{uuid.uuid4().hex[:8]}"
    provision(moto_url, table)
    env = {
        "AWS_ENDPOINT_URL": moto_url,
        "GUARD_TABLE": table,
        "SEKISHO_POLICY": str(policy),
        "KINTONE_BASE_URL": kintone.url,
        "ALLOWED_ORIGINS": f"{ORIGIN},http://localhost:3000",
        "NOT_FOUND_FLOOR_MS": "0",
        "POWERTOOLS_SERVICE_NAME": "sekisho",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    clear_container_caches()
    spec = importlib.util.spec_from_file_location(
        f"lookup_app_{uuid.uuid4().hex}", ROOT / "functions" / "lookup" / "app.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module.lambda_handler
    clear_container_caches()


def invoke(handler, event_file: str, **changes):
    event = json.loads((EVENTS / event_file).read_text(encoding="utf-8"))
    event.update(changes)
    response = handler(event, Context())
    headers = {k: v[0] for k, v in (response.get("multiValueHeaders") or {}).items()}
    headers.update(response.get("headers") or {})
    body = json.loads(response["body"]) if response.get("body") else None
    return response["statusCode"], headers, body


def test_a_valid_lookup_returns_the_one_record_with_only_the_projected_fields(handler):
    status, headers, body = invoke(handler, "lookup_valid.json")
    assert status == 200
    assert body == {
        "records": [{"取引名": "倉庫管理システム更改", "金額": "1200000", "ステータス": "商談中"}]
    }
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert headers["Cache-Control"] == "no-store"


def test_a_deal_of_another_owner_is_not_found(handler):
    status, _, body = invoke(handler, "lookup_wrong_deal.json")
    assert (status, body["code"]) == (404, "not_found")


def test_a_missing_predicate_is_a_validation_error_naming_it(handler):
    status, _, body = invoke(handler, "lookup_missing_predicate.json")
    assert (status, body["code"]) == (400, "validation_failed")
    assert {"pointer": "/match/deal_id", "code": "required"}.items() <= body["errors"][0].items()


def test_an_extra_predicate_is_refused(handler):
    status, _, body = invoke(handler, "lookup_extra_predicate.json")
    assert (status, body["code"]) == (400, "validation_failed")
    assert [e["pointer"] for e in body["errors"]] == ["/match/ステータス"]


def test_an_injection_attempt_returns_no_record_and_no_server_error(handler):
    status, _, body = invoke(handler, "lookup_injection.json")
    assert status in (400, 404)
    assert "records" not in body


def test_a_cors_preflight_is_answered_for_an_allowed_origin(handler):
    status, headers, _ = invoke(handler, "lookup_preflight.json")
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert headers["Vary"] == "Origin"


def test_an_unknown_view_is_the_same_not_found(handler):
    status, _, body = invoke(
        handler, "lookup_valid.json", path="/views/all-deals", pathParameters={"view": "all-deals"}
    )
    assert (status, body["code"]) == (404, "not_found")


def test_the_audit_line_holds_fingerprints_never_the_values(handler, caplog):
    caplog.set_level(logging.INFO)
    invoke(handler, "lookup_valid.json")
    audits = [r for r in caplog.records if getattr(r, "audit", False)]
    assert len(audits) == 1
    assert audits[0].outcome == "found"
    assert audits[0].client_ip == "203.0.113.10"
    assert set(audits[0].predicates) == {"owner_id", "deal_id"}
    everything = json.dumps([vars(r) for r in caplog.records], ensure_ascii=False, default=str)
    assert "D000001" not in everything
    assert "deals-view-token" not in everything


@pytest.fixture
def budget_table() -> str:
    return f"GuardTable-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def budgeted_handler(kintone, moto_url, monkeypatch, tmp_path, budget_table):
    """The shipped policy with deal-status's budget cut to 3 lookups a day."""
    data = yaml.safe_load((ROOT / "policy.yaml").read_text(encoding="utf-8"))
    data["views"]["deal-status"]["guard"]["budget"] = "3/day"
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    yield from cold_start(kintone, moto_url, monkeypatch, policy, budget_table)


def test_a_budget_of_three_a_day_answers_the_fourth_lookup_429_whatever_the_client(
    budgeted_handler, moto_url, budget_table
):
    def from_ip(n: int):
        event = json.loads((EVENTS / "lookup_valid.json").read_text(encoding="utf-8"))
        event["requestContext"]["identity"]["sourceIp"] = f"198.51.100.{n}"
        response = budgeted_handler(event, Context())
        headers = {k: v[0] for k, v in (response.get("multiValueHeaders") or {}).items()}
        return response["statusCode"], headers, json.loads(response["body"])

    assert [from_ip(n)[0] for n in range(3)] == [200, 200, 200]
    status, headers, body = from_ip(99)

    assert (status, body["code"]) == (429, "route_budget_exhausted")
    assert body["type"] == "urn:sekisho:problem:route_budget_exhausted"
    assert 0 < int(headers["Retry-After"]) <= 86_400
    # Shared by every container: the count lives in the GuardTable, under the view's scope.
    items = boto3.client("dynamodb", endpoint_url=moto_url).scan(TableName=budget_table)["Items"]
    budget = [i for i in items if "#budget#" in i["pk"]["S"]]
    assert [(i["pk"]["S"].split("#")[0], i["n"]["N"]) for i in budget] == [
        ("view:deal-status", "3")
    ]
