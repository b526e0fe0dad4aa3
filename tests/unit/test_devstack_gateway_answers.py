"""The local API Gateway answers from template.yaml what API Gateway itself would: the
gateway responses and the 405 mocks, as the template declares them.

The router runs in-process on a loopback port with the real template's APIs and routes and
no function workers: none of these requests reaches a function (that is the point of each).
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack import cfn, provision, sam
from devstack.router import MAX_BODY_BYTES, Router, RouterHTTPServer
from devstack.routing import RouteTable, mock_methods

REPO = Path(__file__).resolve().parents[2]
ORIGIN = "https://pages.example"
PROBLEM = "application/problem+json; charset=utf-8"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def table() -> RouteTable:
    data = cfn.load_template(REPO / "template.yaml")
    resolver = cfn.Resolver(data, cfn.parameter_values(data, {"AllowedOrigins": ORIGIN}))
    provision.register_resources(data, resolver, "http://127.0.0.1:5000")
    api_specs = sam.apis(data, resolver)
    return RouteTable(
        sam.routes(data, resolver, api_specs), mock_methods(data, resolver, api_specs)
    )


@pytest.fixture(scope="module")
def server(table: RouteTable) -> Iterator[tuple[str, int]]:
    api = next(route.api for route in table)
    httpd = RouterHTTPServer(("127.0.0.1", 0))
    httpd.router = Router(table, {}, api, None)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield "127.0.0.1", httpd.server_address[1]
    finally:
        httpd.shutdown()
        thread.join(5)
        httpd.server_close()


def send(
    server: tuple[str, int], method: str, path: str, body: bytes = b"", **headers: str
) -> tuple[int, dict[str, str], Any]:
    connection = http.client.HTTPConnection(*server, timeout=30)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name.replace("_", "-"), value)
        if body or method in ("POST", "PUT", "PATCH"):
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders()
        for start in range(0, len(body), MIB):
            connection.send(body[start : start + MIB])
        response = connection.getresponse()
        data = response.read()
        answer_headers = {name.lower(): value for name, value in response.getheaders()}
    finally:
        connection.close()
    return response.status, answer_headers, json.loads(data) if data else None


def test_a_body_of_11_mib_gets_413_saying_what_the_limit_is(server):
    status, headers, problem = send(server, "POST", "/forms/seminar", b"x" * (11 * MIB))

    assert status == 413
    assert headers["content-type"] == PROBLEM
    assert headers["access-control-allow-origin"] == ORIGIN
    assert problem["code"] == "payload_too_large"
    assert problem["status"] == 413
    assert f"{MAX_BODY_BYTES} bytes" in problem["detail"]
    assert "10 MB" in problem["detail"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/views/deal-status", "OPTIONS, POST"),
        ("PUT", "/views/deal-status", "OPTIONS, POST"),
        ("DELETE", "/forms/seminar", "GET, OPTIONS, POST"),
        ("GET", "/webhooks/demo-stripe", "POST"),
        ("OPTIONS", "/webhooks/demo-stripe", "POST"),
        ("PATCH", "/webhooks/demo-stripe/", "POST"),
    ],
)
def test_another_method_on_a_route_gets_405_with_allow_as_a_problem(server, method, path, allow):
    status, headers, problem = send(server, method, path)

    assert status == 405
    assert headers["allow"] == allow
    assert headers["content-type"] == PROBLEM
    assert headers["cache-control"] == "no-store"
    assert headers["access-control-allow-origin"] == ORIGIN
    assert problem == {
        "type": "urn:sekisho:problem:method_not_allowed",
        "title": "Method not allowed",
        "status": 405,
        "code": "method_not_allowed",
    }


def test_a_head_on_a_route_gets_405_without_a_body(server):
    status, headers, body = send(server, "HEAD", "/views/deal-status")

    assert (status, headers["allow"], body) == (405, "OPTIONS, POST", None)


def test_a_405_request_with_a_body_the_mock_has_no_template_for_is_refused_not_a_500(server):
    status, _, problem = send(
        server, "PUT", "/views/deal-status", b"<x/>", Content_Type="application/xml"
    )

    # API Gateway's UNSUPPORTED_MEDIA_TYPE, which the template leaves to DEFAULT_4XX.
    assert (status, problem["status"], problem["code"]) == (400, 400, "request_refused")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nowhere"),
        ("GET", "/views"),
        ("GET", "/views/deal-status/more"),
        ("POST", "/webhooks"),
        # Not a method ANY stands for: API Gateway has no method for it at all.
        ("TRACE", "/views/deal-status"),
    ],
)
def test_an_unknown_path_stays_404(server, method, path):
    status, headers, problem = send(server, method, path)

    assert status == 404
    assert "allow" not in headers
    assert (problem["status"], problem["code"]) == (404, "not_found")
