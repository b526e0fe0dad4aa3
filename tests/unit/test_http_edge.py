"""The shared HTTP edge: problems, CORS, security headers, and strict JSON bodies."""

import json

import pytest

from sekisho.errors import NotFound, ValidationFailed
from sekisho.http import HttpSettings, client_ip, create_resolver, json_body, verified_claims
from tests.apigw import rest_event

ORIGIN = "http://127.0.0.1:3000"


class Context:
    function_name = "test"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:ap-northeast-1:123456789012:function:test"
    aws_request_id = "req-1"


@pytest.fixture
def app():
    app = create_resolver(HttpSettings(allowed_origins=(ORIGIN,), max_body_bytes=64))

    @app.post("/echo/<name>")
    def echo(name: str):
        body = json_body(app, max_bytes=64)
        return {"name": name, "body": body, "ip": client_ip(app), "claims": verified_claims(app)}

    @app.post("/missing")
    def missing():
        raise NotFound()

    @app.post("/invalid")
    def invalid():
        raise ValidationFailed("bad", errors=[{"pointer": "/x", "code": "required"}])

    @app.post("/boom")
    def boom():
        raise RuntimeError("internal detail that must not leak")

    return app


def call(app, event):
    response = app.resolve(event, Context())
    headers = {k: v[0] for k, v in (response.get("multiValueHeaders") or {}).items()}
    headers.update(response.get("headers") or {})
    body = json.loads(response["body"]) if response.get("body") else None
    return response["statusCode"], headers, body


def post(path, body=None, **kwargs):
    headers = {"Origin": ORIGIN, **kwargs.pop("headers", {})}
    return rest_event("POST", path, body=body, headers=headers, **kwargs)


def test_a_route_gets_json_body_path_parameter_and_the_socket_ip(app):
    status, _, body = call(
        app, post("/echo/x", {"a": 1}, headers={"X-Forwarded-For": "198.51.100.7"})
    )
    assert status == 200
    assert body == {"name": "x", "body": {"a": 1}, "ip": "203.0.113.10", "claims": {}}


def test_a_base64_encoded_body_is_decoded(app):
    status, _, body = call(app, post("/echo/x", {"名前": "田中"}, base64_body=True))
    assert status == 200
    assert body["body"] == {"名前": "田中"}


def test_claims_come_only_from_the_authorizer(app):
    event = post("/echo/x", {}, authorizer={"claims": {"custom:partner_id": "P-1"}})
    assert call(app, event)[2]["claims"] == {"custom:partner_id": "P-1"}


@pytest.mark.parametrize(
    ("event", "status", "code"),
    [
        (post("/echo/x", "{not json"), 400, "validation_failed"),
        (post("/echo/x", "[1, 2]"), 400, "validation_failed"),
        (post("/echo/x", '{"a": 1, "a": 2}'), 400, "validation_failed"),
        (post("/echo/x", b"\xff\xfe{}", base64_body=True), 400, "validation_failed"),
        (
            {**post("/echo/x", "{}"), "body": "not base64!", "isBase64Encoded": True},
            400,
            "validation_failed",
        ),
        (post("/echo/x", {"a": "x" * 100}), 413, "payload_too_large"),
        (
            post("/echo/x", "{}", headers={"Content-Type": "text/plain"}),
            415,
            "unsupported_media_type",
        ),
        (
            post("/echo/x", "{}", headers={"Content-Type": "application/x-www-form-urlencoded"}),
            415,
            "unsupported_media_type",
        ),
        (post("/nowhere", {}), 404, "not_found"),
        (post("/missing", {}), 404, "not_found"),
        (post("/invalid", {}), 400, "validation_failed"),
        (post("/boom", {}), 500, "internal_error"),
    ],
    ids=[
        "malformed-json",
        "json-array",
        "duplicate-keys",
        "invalid-utf8",
        "plain-text-json",
        "too-large",
        "text-plain",
        "form-encoded",
        "unknown-route",
        "not-found",
        "invalid",
        "bug",
    ],
)
def test_bad_requests_get_problem_documents_with_stable_codes(app, event, status, code):
    got_status, headers, body = call(app, event)
    assert (got_status, body["code"]) == (status, code)
    assert body["status"] == status
    assert body["type"] == f"urn:sekisho:problem:{code}"
    assert headers["Content-Type"].startswith("application/problem+json")


def test_an_unexpected_error_leaks_no_detail(app):
    _, _, body = call(app, post("/boom", {}))
    assert "internal detail" not in json.dumps(body)
    assert set(body) == {"type", "title", "status", "code"}


def test_validation_problems_carry_per_field_errors(app):
    assert call(app, post("/invalid", {}))[2]["errors"] == [{"pointer": "/x", "code": "required"}]


@pytest.mark.parametrize("path", ["/echo/x", "/missing", "/boom", "/nowhere"])
def test_every_answer_carries_the_security_headers_and_vary_origin(app, path):
    _, headers, _ = call(app, post(path, {}))
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Vary"] == "Origin"


def test_an_allowed_origin_is_echoed_on_answers_and_problems(app):
    for path in ("/echo/x", "/missing"):
        assert call(app, post(path, {}))[1]["Access-Control-Allow-Origin"] == ORIGIN


def test_another_origin_gets_no_cors_headers(app):
    _, headers, _ = call(app, post("/echo/x", {}, headers={"Origin": "https://evil.example"}))
    assert "Access-Control-Allow-Origin" not in headers


def test_a_preflight_from_an_allowed_origin_is_answered(app):
    event = rest_event(
        "OPTIONS",
        "/echo/x",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    status, headers, _ = call(app, event)
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert "Idempotency-Key" in headers["Access-Control-Allow-Headers"]
    assert headers["Vary"] == "Origin"


def test_a_preflight_from_another_origin_gets_no_allowance(app):
    event = rest_event(
        "OPTIONS",
        "/echo/x",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    _, headers, _ = call(app, event)
    assert "Access-Control-Allow-Origin" not in headers


def test_json_answers_are_utf8_json_with_the_charset_named(app):
    response = app.resolve(post("/echo/田中", {"名": "値"}), Context())
    headers = {k: v[0] for k, v in response["multiValueHeaders"].items()}
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert "値" in response["body"]


@pytest.mark.parametrize(
    "raw", ['{"a": ' + "9" * 5000 + "}", '{"a": NaN}', '{"a": -Infinity}', "[" * 5000]
)
def test_json_python_accepts_but_json_does_not_is_a_validation_error(raw):
    app = create_resolver(HttpSettings(allowed_origins=(ORIGIN,)))

    @app.post("/echo")
    def echo():
        return json_body(app, max_bytes=10_000)

    status, _, body = call(app, post("/echo", raw))
    assert (status, body["code"]) == (400, "validation_failed")
