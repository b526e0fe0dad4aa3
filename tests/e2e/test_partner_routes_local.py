"""The partner routes on the local stack (`make dev`): PartnerApi's routes are served on the
same ports as Api's, over plain HTTP and over the HTTPS port with a client certificate, so
POST /views/partner-deals and POST /partners/forms/<form> reach PartnerFunction (which
refuses an unsigned call), while /views/<view> still reaches LookupFunction and
/views/my-applications SessionFunction. The signed requests' security cases are tested
elsewhere; these show only which function answers."""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from devstack import stack as devstack
from devstack.stack import RunningStack
from sekisho.errors import PROBLEM_TYPE_BASE

REPO = Path(__file__).resolve().parents[2]
SUBJECT = "CN=demo-erp,O=sekisho demo"
PARTNER_VIEW = "/views/partner-deals"
PARTNER_FORM = "/partners/forms/seminar-apply"
# Headers a partner would sign with, here with no real signature: a browser route must
# answer as if they were absent.
SIGNATURE_HEADERS = {
    "Signature-Input": 'sekisho=("@method" "@target-uri");created=1;keyid="demo-erp"',
    "Signature": "sekisho=:AAAA:",
}


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    with devstack.start(repo_root=REPO, pump=False) as running:
        yield running


@pytest.fixture(scope="module")
def http_session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


def post(http_session: requests.Session, url: str, body: dict, **headers: str):
    return http_session.post(url, json=body, headers=headers, timeout=30)


def assert_problem(answer: requests.Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    problem = answer.json()
    assert (problem["type"], problem["code"], problem["status"]) == (
        PROBLEM_TYPE_BASE + code,
        code,
        status,
    )


def test_the_stack_routes_the_partner_paths_to_partner_function_on_partner_api(stack):
    routed = {(r.method, r.path): (r.function, r.api.logical_id) for r in stack.routes}
    assert routed[("POST", PARTNER_VIEW)] == ("PartnerFunction", "PartnerApi")
    assert routed[("POST", "/partners/forms/{form}")] == ("PartnerFunction", "PartnerApi")
    assert routed[("POST", "/views/{view}")] == ("LookupFunction", "Api")
    assert routed[("POST", "/views/my-applications")] == ("SessionFunction", "Api")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (PARTNER_VIEW, {"match": {"deal_id": "D000001"}}),
        (PARTNER_FORM, {"name": "x"}),
    ],
)
def test_an_unsigned_partner_call_is_refused_by_partner_function(stack, http_session, path, body):
    before = stack.kintone.emulator.controls.stats()["requests"]

    answer = post(http_session, stack.router_url + path, body)

    # No gateway response says signature_missing: PartnerFunction answered.
    assert_problem(answer, 401, "signature_missing")
    # Partners are systems: no CORS header, whatever the Origin.
    assert "Access-Control-Allow-Origin" not in answer.headers
    assert stack.kintone.emulator.controls.stats()["requests"] == before


def test_a_partner_routes_other_methods_get_partner_apis_405(stack, http_session):
    answer = http_session.get(stack.router_url + PARTNER_VIEW, timeout=30)

    assert_problem(answer, 405, "method_not_allowed")
    assert answer.headers["Allow"] == "POST"
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_a_browser_view_still_reaches_lookup_function_and_ignores_signature_headers(
    stack, http_session
):
    answer = post(
        http_session,
        stack.router_url + "/views/deal-status",
        {"match": {"owner_id": "A1", "deal_id": "D000001"}},
        **SIGNATURE_HEADERS,
    )

    assert answer.status_code == 200, answer.text
    (record,) = answer.json()["records"]
    assert set(record) == {"取引名", "金額", "ステータス"}


def test_a_browser_view_asked_without_its_predicates_is_lookups_own_refusal(stack, http_session):
    answer = post(http_session, stack.router_url + "/views/deal-status", {"match": {}})

    # A lookup's validation problem, never a partner's 401.
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] != "signature_missing"


def tls_post(stack: RunningStack, context: ssl.SSLContext, path: str, body: dict):
    parts = urlsplit(stack.tls_url)
    connection = http.client.HTTPSConnection(
        parts.hostname, parts.port, context=context, timeout=30
    )
    try:
        connection.request(
            "POST", path, json.dumps(body), headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_over_the_https_port_with_a_certificate_the_partner_view_is_partner_functions_too(stack):
    client = stack.pki.mint_client(SUBJECT, "e2e-partner-routes")
    context = stack.pki.client_context(client)

    status, problem = tls_post(stack, context, PARTNER_VIEW, {"match": {"deal_id": "D000001"}})

    assert (status, problem["code"]) == (401, "signature_missing")
