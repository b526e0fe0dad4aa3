"""SessionFunction end to end: its events/ files against moto's server and the emulator.

The whole visit through the Lambda handler, as API Gateway would call it: a code is
mailed through SES v2 (moto), traded for a session, the session lists the applicant's
own application, corrects it against its revision, cancels it and ends.
"""

import importlib.util
import json
import secrets
import uuid
from pathlib import Path

import boto3
import pytest

from devstack.mailbox import latest_code, sent_messages
from sekisho import runtime
from sekisho.wiring import routes as route_wiring
from sekisho.wiring import session as session_wiring
from tests.integration.conftest import entries_table

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
ORIGIN = "http://127.0.0.1:3000"
HANAKO = "hanako@example.com"

pytestmark = pytest.mark.emulator


class Context:
    function_name = "SessionFunction"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:ap-northeast-1:123456789012:function:SessionFunction"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/SessionFunction"
    log_stream_name = "local"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


def provision(moto_url: str, table: str) -> None:
    """GuardTable, the secrets SessionFunction names and the SES identity, in moto."""
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_url)
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    values = {
        "sekisho/kintone/seminar-people": {"kind": "kintone-token", "token": "seminar-view-token"},
        "sekisho/kintone/seminar-mine": {"kind": "kintone-token", "token": "seminar-view-token"},
        "sekisho/kintone/seminar-correct": {"kind": "kintone-token", "token": "seminar-edit-token"},
        "sekisho/session/applicants-key": {"kind": "hmac", "key": secrets.token_urlsafe(48)},
        "sekisho/guard/hash-key": {"kind": "hmac", "key": secrets.token_urlsafe(48)},
    }
    manager = boto3.client("secretsmanager", endpoint_url=moto_url)
    for name, value in values.items():
        try:
            manager.create_secret(Name=name, SecretString=json.dumps(value))
        except manager.exceptions.ResourceExistsException:
            manager.put_secret_value(SecretId=name, SecretString=json.dumps(value))
    boto3.client("sesv2", endpoint_url=moto_url).create_email_identity(
        EmailIdentity="sekisho.example"
    )


def clear_container_caches() -> None:
    for cached in (
        runtime.settings,
        runtime.policy,
        session_wiring.session_routes,
        route_wiring.route_switches,
    ):
        cached.cache_clear()


@pytest.fixture
def table() -> str:
    return f"GuardTable-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def handler(kintone, moto_url, monkeypatch, table):
    """A fresh SessionFunction container: cold start with this test's environment."""
    provision(moto_url, table)
    env = {
        "AWS_ENDPOINT_URL": moto_url,
        "GUARD_TABLE": table,
        "ENTRIES_TABLE": entries_table(moto_url),
        "SEKISHO_POLICY": str(ROOT / "policy.yaml"),
        "KINTONE_BASE_URL": kintone.url,
        "ALLOWED_ORIGINS": f"{ORIGIN},http://localhost:3000",
        "MAIL_FROM_ADDRESS": "no-reply@sekisho.example",
        "CODE_REQUEST_FLOOR_MS": "200",
        "POWERTOOLS_SERVICE_NAME": "sekisho",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    clear_container_caches()
    spec = importlib.util.spec_from_file_location(
        f"session_app_{uuid.uuid4().hex}", ROOT / "functions" / "session" / "app.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module.lambda_handler
    clear_container_caches()


def invoke(handler, event_file: str, *, body=None, headers=None, ref=None):
    event = json.loads((EVENTS / event_file).read_text(encoding="utf-8"))
    if body is not None:
        event["body"] = json.dumps(body, ensure_ascii=False)
    if headers:
        event["headers"] = {**(event["headers"] or {}), **headers}
        event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    if ref is not None:
        event["pathParameters"]["ref"] = ref
        event["path"] = event["path"].replace("REF", ref)
    response = handler(event, Context())
    answered = {k: v[0] for k, v in (response.get("multiValueHeaders") or {}).items()}
    answered.update(response.get("headers") or {})
    parsed = json.loads(response["body"]) if response.get("body") else None
    return response["statusCode"], answered, parsed


def signed_in(handler, moto_url) -> str:
    status, _, _ = invoke(handler, "session_request_code.json")
    assert status == 202
    code = latest_code(moto_url, HANAKO)
    status, headers, body = invoke(
        handler, "session_sign_in.json", body={"email": HANAKO, "code": code}
    )
    assert status == 201, body
    assert headers["Set-Cookie"].startswith("__Host-sekisho=")
    return body["token"]


def test_a_known_and_an_unknown_address_get_the_same_answer_and_only_one_mail(handler, moto_url):
    before = len(sent_messages(moto_url))
    known = invoke(handler, "session_request_code.json")
    unknown = invoke(handler, "session_request_code_unknown.json")

    assert known[0] == unknown[0] == 202
    assert known[2] == unknown[2] == {"status": "code_requested", "expires_in": 600}
    assert [tuple(m.to) for m in sent_messages(moto_url)[before:]] == [(HANAKO,)]


def test_an_address_with_a_header_in_it_is_refused_before_anything_is_sent(handler, moto_url):
    before = len(sent_messages(moto_url))
    status, _, body = invoke(handler, "session_request_code_crlf.json")

    assert (status, body["code"]) == (400, "validation_failed")
    assert len(sent_messages(moto_url)) == before


def test_the_placeholder_code_of_the_event_file_does_not_sign_in(handler):
    invoke(handler, "session_request_code.json")
    status, _, body = invoke(handler, "session_sign_in.json")

    assert (status, body["code"]) == (401, "sign_in_failed")


def test_a_visit_lists_corrects_cancels_and_signs_out(handler, moto_url, kintone):
    bearer = {"Authorization": f"Bearer {signed_in(handler, moto_url)}"}

    status, _, page = invoke(handler, "session_list.json", headers=bearer)
    assert status == 200
    (record,) = page["records"]
    assert (record["氏名"], record["人数"], record["申込状況"]) == ("山田 花子", "2", "申込")
    assert page["next"] is None

    status, _, written = invoke(
        handler,
        "session_correct.json",
        headers={**bearer, "If-Match": f'"{record["revision"]}"'},
        ref=record["ref"],
    )
    assert status == 200
    stored = kintone.emulator.store.records(2)[0]
    assert stored["人数"]["value"] == "3"
    assert written == {"revision": stored["$revision"]["value"]}

    status, _, cancelled = invoke(handler, "session_cancel.json", headers=bearer, ref=record["ref"])
    assert (status, cancelled["status"]) == (200, "cancelled")
    assert kintone.emulator.store.records(2)[0]["申込状況"]["value"] == "キャンセル"

    status, headers, _ = invoke(handler, "session_sign_out.json", headers=bearer)
    assert status == 204
    assert headers["Set-Cookie"].endswith("Max-Age=0")
    status, _, body = invoke(handler, "session_list.json", headers=bearer)
    assert (status, body["code"]) == (401, "session_invalid")


def test_every_item_a_visit_writes_is_keyed_under_the_prefix_its_role_may_touch(
    handler, moto_url, kintone, table
):
    # template.yaml lets SessionFunction's role touch only "session:*" keys of the table;
    # moto does not enforce IAM, so this is where a key outside it would be caught.
    bearer = {"Authorization": f"Bearer {signed_in(handler, moto_url)}"}
    _, _, page = invoke(handler, "session_list.json", headers=bearer)
    ref = page["records"][0]["ref"]
    invoke(handler, "session_correct.json", headers={**bearer, "If-Match": "1"}, ref=ref)
    invoke(handler, "session_sign_in.json")  # a wrong code: a failure counter
    invoke(handler, "session_sign_out.json", headers=bearer)

    items = boto3.client("dynamodb", endpoint_url=moto_url).scan(TableName=table)["Items"]
    keys = [item["pk"]["S"] for item in items]
    assert keys
    assert [key for key in keys if not key.startswith("session:applicants#")] == []
    assert "hanako" not in " ".join(keys)


def test_a_list_without_a_session_asks_for_one(handler):
    status, headers, body = invoke(handler, "session_list.json")

    assert (status, body["code"]) == (401, "session_required")
    assert headers["WWW-Authenticate"] == 'Bearer realm="applicants"'


def test_a_correction_with_the_cookie_and_no_origin_is_refused(handler, moto_url):
    token = signed_in(handler, moto_url)
    event = json.loads((EVENTS / "session_correct.json").read_text(encoding="utf-8"))
    headers = {k: v for k, v in event["headers"].items() if k != "Origin"}
    headers["Cookie"] = f"__Host-sekisho={token}"
    event["headers"] = headers
    event["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
    response = handler(event, Context())

    assert response["statusCode"] == 403
    assert json.loads(response["body"])["code"] == "origin_refused"


def test_a_preflight_names_the_headers_an_api_caller_sends(handler):
    status, headers, _ = invoke(handler, "session_preflight.json")

    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    allowed = {h.strip().lower() for h in headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "if-match"} <= allowed


def test_the_sign_in_and_the_corrections_are_built_with_their_first_use_or_by_snapstart(handler):
    # A listing's cold start does not build them; SnapStart's init (prepared) builds all,
    # so that a restored container serves a sign-in with nothing left to build.
    routes = session_wiring.session_routes()
    assert {"sign_in", "entries"} & set(vars(routes)) == set()
    assert session_wiring.prepared() is routes
    assert {"sign_in", "entries"} <= set(vars(routes))
    assert routes.sign_in is routes.sign_in
