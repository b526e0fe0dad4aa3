"""The local router speaks API Gateway's REST proxy integration to the fixture functions."""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from devstack import stack as devstack
from devstack.stack import RunningStack

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]
GATEWAY_ORIGIN = "http://127.0.0.1:3000"  # what the fixture's GatewayResponses declare


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    with devstack.start(repo_root=REPO, template=FIXTURES / "template.yaml") as running:
        yield running


@pytest.fixture(scope="module")
def client() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


def echo(
    stack: RunningStack, client: requests.Session, method: str, path: str, **kwargs: Any
) -> dict[str, Any]:
    answer = client.request(method, stack.router_url + path, timeout=20, **kwargs)
    assert answer.status_code == 200, answer.text
    return answer.json()


def raw_request(
    stack: RunningStack, method: str, target: str, headers: list[tuple[str, str]], body: bytes = b""
) -> tuple[int, dict[str, Any] | bytes]:
    """A request sent byte for byte as written: no normalised path, headers in order."""
    parts = urlsplit(stack.router_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, data


# -- what the router logs ---------------------------------------------------------------


def test_the_router_logs_no_query_string_at_any_level(stack, client, caplog):
    # A kintone webhook source's secret travels as ?token=: an access line quoting the
    # request line would write it to the stack's log.
    caplog.set_level("DEBUG")
    echo(stack, client, "POST", "/echo/hook?token=canary-0f3e9a")
    echo(stack, client, "GET", "/echo/x?a=1&token=canary-0f3e9a")

    # urllib3's lines are this test's own client, not the stack.
    lines = [r.getMessage() for r in caplog.records if not r.name.startswith("urllib3")]
    assert any("/echo/hook" in line for line in lines), "the router logged the request"
    assert not [line for line in lines if "canary-0f3e9a" in line or "token=" in line]


# -- routes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_line", "resource", "path_parameters"),
    [
        ("POST /views/deal-status", "/views/{view}", {"view": "deal-status"}),
        ("OPTIONS /views/deal-status", "/views/{view}", {"view": "deal-status"}),
        ("GET /views/special", "/views/special", None),
        ("GET /echo/a/b/c", "/echo/{proxy+}", {"proxy": "a/b/c"}),
        ("DELETE /echo/x", "/echo/{proxy+}", {"proxy": "x"}),
        ("PATCH /echo/x/", "/echo/{proxy+}", {"proxy": "x"}),
    ],
)
def test_request_reaches_the_template_route_with_its_resource_and_path_parameters(
    stack: RunningStack,
    client: requests.Session,
    request_line: str,
    resource: str,
    path_parameters: dict[str, str] | None,
) -> None:
    method, path = request_line.split(" ")
    event = echo(stack, client, method, path)["event"]

    assert event["resource"] == resource
    assert event["pathParameters"] == path_parameters
    assert event["httpMethod"] == method
    assert event["path"] == path
    assert event["stageVariables"] is None
    context = event["requestContext"]
    assert context["resourcePath"] == resource
    assert context["httpMethod"] == method
    assert context["stage"] == "local"
    # No stage: the local URLs are a custom domain's with an empty base path.
    assert context["path"] == path


def test_path_parameters_arrive_decoded_while_the_path_stays_encoded(
    stack: RunningStack, client: requests.Session
) -> None:
    event = echo(stack, client, "POST", "/views/deal%20status%2F1")["event"]

    assert event["path"] == "/views/deal%20status%2F1"
    assert event["pathParameters"] == {"view": "deal status/1"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nowhere"),
        ("POST", "/"),
        ("GET", "/views"),
        ("DELETE", "/views/deal-status"),  # the resource exists, the method does not
        ("POST", "/views/special"),  # the literal resource wins and has only GET
        ("GET", "/echo"),  # {proxy+} needs at least one segment
        ("POST", "/views/a/b"),
        # Methods API Gateway has no resource method for, not http.server's 501 page.
        ("TRACE", "/views/deal-status"),
        ("FROB", "/echo/x"),
    ],
)
def test_request_matching_no_route_gets_missing_authentication_token_with_gateway_headers(
    stack: RunningStack, client: requests.Session, method: str, path: str
) -> None:
    answer = client.request(
        method, stack.router_url + path, headers={"X-Trace": "trace-1"}, timeout=20
    )

    assert answer.status_code == 403
    document = answer.json()
    assert document["message"] == "Missing Authentication Token"
    assert document["type"] == "MISSING_AUTHENTICATION_TOKEN"
    assert document["requestId"] == answer.headers["x-amzn-RequestId"]
    assert answer.headers["Access-Control-Allow-Origin"] == GATEWAY_ORIGIN
    assert answer.headers["X-Trace-Echo"] == "trace-1"
    assert answer.headers["Content-Type"] == "application/json"


def test_body_over_ten_megabytes_gets_413_with_the_default_4xx_headers(
    stack: RunningStack, client: requests.Session
) -> None:
    answer = client.post(
        stack.router_url + "/views/deal-status", data=b"x" * (10 * 1024 * 1024 + 1), timeout=30
    )

    assert answer.status_code == 413
    assert answer.json() == {"message": "Request Too Long"}
    assert answer.headers["Access-Control-Allow-Origin"] == GATEWAY_ORIGIN
    assert answer.headers["Vary"] == "Origin"


def test_body_of_exactly_ten_megabytes_reaches_the_function(
    stack: RunningStack, client: requests.Session
) -> None:
    event = echo(stack, client, "POST", "/views/big", data=b"x" * (10 * 1024 * 1024))["event"]

    assert len(event["body"]) == 10 * 1024 * 1024


# -- headers, client address, query strings ----------------------------------------------


def test_header_names_keep_the_clients_casing_and_repeated_headers_keep_every_value(
    stack: RunningStack,
) -> None:
    status, answer = raw_request(
        stack,
        "POST",
        "/views/deal-status",
        [("x-Mixed-Case", "1"), ("X-REPEAT", "first"), ("X-REPEAT", "second")],
    )

    assert status == 200
    assert isinstance(answer, dict)
    event = answer["event"]
    assert event["headers"]["x-Mixed-Case"] == "1"
    assert event["headers"]["X-REPEAT"] == "second"
    assert event["multiValueHeaders"]["X-REPEAT"] == ["first", "second"]
    assert "x-mixed-case" not in event["headers"]


@pytest.mark.parametrize(
    "forged",
    [
        "203.0.113.9",
        "10.0.0.1, 198.51.100.7",
        "127.0.0.2",
        "not-an-address",
    ],
)
def test_source_ip_is_the_socket_peer_whatever_x_forwarded_for_claims(
    stack: RunningStack, client: requests.Session, forged: str
) -> None:
    event = echo(stack, client, "POST", "/views/deal-status", headers={"X-Forwarded-For": forged})[
        "event"
    ]

    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    # As at API Gateway's edge, the real peer is appended after whatever the client sent.
    assert event["headers"]["X-Forwarded-For"] == f"{forged}, 127.0.0.1"


def test_user_agent_and_request_ids_are_in_the_request_context(
    stack: RunningStack, client: requests.Session
) -> None:
    answer = client.post(
        stack.router_url + "/views/deal-status", headers={"User-Agent": "probe/1"}, timeout=20
    )
    document = answer.json()
    context = document["event"]["requestContext"]

    assert context["identity"]["userAgent"] == "probe/1"
    assert context["requestId"] == answer.headers["x-amzn-RequestId"]
    assert isinstance(context["requestTimeEpoch"], int)
    assert context["accountId"] == "123456789012"
    assert context["protocol"] == "HTTP/1.1"
    assert context["apiId"]
    assert context["domainName"] == urlsplit(stack.router_url).netloc
    # Lambda's own request id is not API Gateway's.
    assert document["context"]["aws_request_id"] != context["requestId"]


def test_query_string_gives_last_values_and_every_value_decoded(
    stack: RunningStack, client: requests.Session
) -> None:
    event = echo(stack, client, "GET", "/echo/q?a=1&a=2&empty=&word=%E6%97%A5%E6%9C%AC")["event"]

    assert event["queryStringParameters"] == {"a": "2", "empty": "", "word": "日本"}
    assert event["multiValueQueryStringParameters"] == {
        "a": ["1", "2"],
        "empty": [""],
        "word": ["日本"],
    }


def test_request_without_query_string_or_body_has_nulls_as_api_gateway_sends(
    stack: RunningStack, client: requests.Session
) -> None:
    event = echo(stack, client, "GET", "/echo/plain")["event"]

    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False


# -- bodies ------------------------------------------------------------------------------


def test_text_body_travels_as_a_string(stack: RunningStack, client: requests.Session) -> None:
    payload = {"match": {"owner_id": "田中", "deal_id": "D000014"}}
    event = echo(stack, client, "POST", "/views/deal-status", json=payload)["event"]

    assert event["isBase64Encoded"] is False
    assert json.loads(event["body"]) == payload


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/octet-stream", b"plain ascii is still binary here"),
        ("image/png", b"\x89PNG\r\n\x1a\n"),
        ("IMAGE/PNG; charset=binary", b"\x00\x01"),
        ("text/plain", b"\xff\xfe not utf-8"),  # not text whatever the type says
    ],
)
def test_binary_body_travels_base64_encoded(
    stack: RunningStack, client: requests.Session, content_type: str, body: bytes
) -> None:
    event = echo(
        stack, client, "POST", "/echo/upload", data=body, headers={"Content-Type": content_type}
    )["event"]

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


# -- responses ---------------------------------------------------------------------------


def test_handler_headers_and_multi_value_headers_become_http_headers(
    stack: RunningStack, client: requests.Session
) -> None:
    answer = client.get(stack.router_url + "/echo/headers", timeout=20)

    assert answer.headers["X-Echo"] == "yes"
    assert answer.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert answer.headers["Content-Type"] == "application/json"


def test_base64_encoded_response_is_sent_as_bytes(
    stack: RunningStack, client: requests.Session
) -> None:
    answer = client.get(stack.router_url + "/echo/file?binary=1", timeout=20)

    assert answer.status_code == 200
    assert answer.content == b"\x00\xffbinary"
    assert answer.headers["Content-Type"] == "application/octet-stream"


def test_malformed_proxy_response_gets_502_with_the_default_5xx_headers(
    stack: RunningStack, client: requests.Session
) -> None:
    answer = client.get(stack.router_url + "/echo/bad?malformed=1", timeout=20)

    assert answer.status_code == 502
    assert answer.json() == {"message": "Internal server error"}
    assert answer.headers["Access-Control-Allow-Origin"] == GATEWAY_ORIGIN


# -- workers -----------------------------------------------------------------------------


def crash_pid(stack: RunningStack, client: requests.Session) -> int:
    answer = client.post(stack.router_url + "/crash/ok", timeout=20)
    assert answer.status_code == 200
    return int(answer.json()["pid"])


def test_crashed_worker_answers_502_and_a_new_worker_serves_the_next_request(
    stack: RunningStack, client: requests.Session
) -> None:
    before = crash_pid(stack, client)

    crashed = client.post(stack.router_url + "/crash/exit", timeout=20)
    after = crash_pid(stack, client)

    assert crashed.status_code == 502
    assert crashed.json() == {"message": "Internal server error"}
    assert crashed.headers["Access-Control-Allow-Origin"] == GATEWAY_ORIGIN
    assert after != before


def test_handler_exception_answers_502_and_the_worker_lives_on(
    stack: RunningStack, client: requests.Session
) -> None:
    before = crash_pid(stack, client)

    failed = client.post(stack.router_url + "/crash/raise", timeout=20)
    after = crash_pid(stack, client)

    assert failed.status_code == 502
    assert after == before


def test_handler_past_its_timeout_answers_504_and_the_next_request_works(
    stack: RunningStack, client: requests.Session
) -> None:
    timed_out = client.get(stack.router_url + "/slow", timeout=20)
    quick = client.get(stack.router_url + "/slow?seconds=0", timeout=20)

    assert timed_out.status_code == 504
    assert timed_out.json() == {"message": "Endpoint request timed out"}
    assert quick.status_code == 200
    # No RestApiId: SAM's implicit API and its Prod stage.
    assert quick.json()["stage"] == "Prod"


def test_function_that_fails_to_load_answers_502_while_the_others_serve(
    stack: RunningStack, client: requests.Session
) -> None:
    broken = [client.get(stack.router_url + "/broken", timeout=20) for _ in range(2)]
    others = client.get(stack.router_url + "/echo/still-here", timeout=20)

    assert [answer.status_code for answer in broken] == [502, 502]
    assert broken[0].headers["Access-Control-Allow-Origin"] == GATEWAY_ORIGIN
    assert others.status_code == 200


def test_context_object_offers_what_powertools_reads(
    stack: RunningStack, client: requests.Session
) -> None:
    context = echo(stack, client, "GET", "/echo/context")["context"]

    assert context["function_name"] == "EchoFunction"
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == (
        "arn:aws:lambda:ap-northeast-1:123456789012:function:EchoFunction"
    )
    assert context["memory_limit_in_mb"] == "512"
    assert context["log_group_name"] == "/aws/lambda/EchoFunction"
    assert "[$LATEST]" in context["log_stream_name"]
    assert 0 < context["remaining_ms"] <= 10_000


def test_handler_runs_from_its_code_uri_with_the_layer_importable(
    stack: RunningStack, client: requests.Session
) -> None:
    answer = echo(stack, client, "GET", "/echo/layer")

    assert answer["layer"] == "fixture-layer"
    assert answer["module"] == "devstack_function_EchoFunction"
    assert answer["environment"]["LAMBDA_TASK_ROOT"] == str(FIXTURES / "handlers")


# -- the demo page -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/", "text/html; charset=utf-8"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/page.js", "text/javascript; charset=utf-8"),
        ("/lookup.js", "text/javascript; charset=utf-8"),
        ("/form.html", "text/html; charset=utf-8"),
        ("/form.js", "text/javascript; charset=utf-8"),
        ("/style.css", "text/css; charset=utf-8"),
    ],
)
def test_demo_page_is_served_from_the_api_origin_under_a_strict_policy(
    stack: RunningStack, client: requests.Session, path: str, content_type: str
) -> None:
    answer = client.get(stack.router_url + path, timeout=20)

    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == content_type
    policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.content == (REPO / "web" / (path.strip("/") or "index.html")).read_bytes()


@pytest.mark.parametrize(
    "target",
    [
        "/..%2f..%2fREADME.md",
        "/%2e%2e/%2e%2e/README.md",
        "/..%5c..%5cREADME.md",
        "/%2fetc%2fpasswd",
        "/.hidden",
        "/missing.html",
    ],
)
def test_nothing_outside_web_is_served(stack: RunningStack, target: str) -> None:
    status, answer = raw_request(stack, "GET", target, [("Host", "127.0.0.1")])

    assert status == 403
    assert isinstance(answer, dict)
    assert answer["message"] == "Missing Authentication Token"


def test_static_fallback_is_for_reads_only(stack: RunningStack, client: requests.Session) -> None:
    answer = client.post(stack.router_url + "/index.html", timeout=20)

    assert answer.status_code == 403
