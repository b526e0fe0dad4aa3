"""The local stack over HTTPS with mutual TLS: with a client certificate of the test CA made
at start a request reaches its route; a handshake without a certificate, or with one of
another CA, reaches nothing; and the function gets the certificate's facts where API
Gateway's REST mutual TLS puts them (requestContext.identity.clientCert)."""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import yaml
from cryptography import x509

from devstack import stack as devstack
from devstack.cli import banner
from devstack.pki import create_pki, partner_subjects
from devstack.stack import RunningStack

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
SUBJECT = "CN=demo-erp,O=sekisho demo"
FORM = "/forms/seminar-apply"


@pytest.fixture(scope="module")
def policy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    policy = yaml.safe_load((REPO / "policy.yaml").read_text(encoding="utf-8"))
    path = tmp_path_factory.mktemp("tls") / "policy.yaml"
    path.write_text(yaml.safe_dump(policy, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def stack(policy_file: Path) -> Iterator[RunningStack]:
    with devstack.start(repo_root=REPO, policy=policy_file, pump=False) as running:
        yield running


@pytest.fixture(scope="module")
def echo_stack() -> Iterator[RunningStack]:
    # The fixture template's EchoFunction answers with the event it was given.
    with devstack.start(repo_root=REPO, template=FIXTURES / "template.yaml") as running:
        yield running


@pytest.fixture(scope="module")
def partner(stack: RunningStack):
    return stack.pki.mint_client(SUBJECT, "e2e-partner")


def tls_get(url: str, context: ssl.SSLContext, path: str) -> tuple[int, bytes]:
    """One GET over TLS; an SSLError or a dropped connection when the handshake fails."""
    parts = urlsplit(url)
    connection = http.client.HTTPSConnection(
        parts.hostname, parts.port, context=context, timeout=20
    )
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def refused(url: str, context: ssl.SSLContext, path: str = FORM) -> bool:
    try:
        tls_get(url, context, path)
    except (ssl.SSLError, ConnectionError, http.client.RemoteDisconnected):
        return True
    return False


# -- the handshake -------------------------------------------------------------------------


def test_a_request_with_a_client_certificate_of_the_test_ca_reaches_its_route(stack, partner):
    status, body = tls_get(stack.tls_url, stack.pki.client_context(partner), FORM)

    assert status == 200, body
    assert json.loads(body)["form"] == "seminar-apply"
    assert stack.tls_url.startswith("https://127.0.0.1:")


def test_requests_with_the_ca_and_a_certificate_pair_reaches_the_route_too(stack, partner):
    with requests.Session() as session:
        session.trust_env = False
        answer = session.get(
            stack.tls_url + FORM, verify=str(stack.pki.ca_cert), cert=partner.pair, timeout=20
        )
    assert answer.status_code == 200, answer.text


def test_tls_1_2_is_accepted_as_api_gateways_tls_1_2_policy_accepts_it(stack, partner):
    context = stack.pki.client_context(partner)
    context.maximum_version = ssl.TLSVersion.TLSv1_2

    assert tls_get(stack.tls_url, context, FORM)[0] == 200


def test_a_handshake_without_a_client_certificate_reaches_nothing(stack):
    before = stack.kintone.emulator.controls.stats()["requests"]

    assert refused(stack.tls_url, stack.pki.client_context(None))
    assert stack.kintone.emulator.controls.stats()["requests"] == before


def test_a_client_certificate_of_another_ca_is_refused_even_with_a_partners_subject(
    stack, tmp_path
):
    # Another CA issuing the same subject: the subject alone proves nothing.
    other = create_pki(tmp_path / "other", {"demo-erp": SUBJECT})
    context = stack.pki.client_context(None)
    context.load_cert_chain(*other.client("demo-erp").pair)

    assert refused(stack.tls_url, context)


def test_the_plain_listener_asks_for_no_certificate(stack):
    with requests.Session() as session:
        session.trust_env = False
        assert session.get(stack.router_url + FORM, timeout=20).status_code == 200


def test_each_partner_declaring_a_client_certificate_has_one_from_the_stack(stack, policy_file):
    declared = partner_subjects(policy_file)
    for partner_id, subject in declared.items():
        assert stack.pki.client(partner_id).subject == subject
        assert stack.pki.client(partner_id).cert.is_file()


def test_the_banner_says_where_the_https_listener_and_the_test_ca_are(stack):
    text = banner(stack)
    assert f"{stack.tls_url}/" in text
    assert str(stack.pki.ca_cert) in text


# -- what the function gets ----------------------------------------------------------------


def echoed(stack: RunningStack, context: ssl.SSLContext, path: str) -> dict:
    status, body = tls_get(stack.tls_url, context, path)
    assert status == 200, body
    return json.loads(body)["event"]


def test_the_function_gets_the_certificate_facts_as_api_gateway_writes_them(echo_stack):
    client = echo_stack.pki.mint_client(SUBJECT, "echo-partner", serial=0xA1B2C3D4)
    event = echoed(echo_stack, echo_stack.pki.client_context(client), "/echo/partner")

    cert = event["requestContext"]["identity"]["clientCert"]
    assert cert["subjectDN"] == SUBJECT
    assert cert["serialNumber"] == "a1:b2:c3:d4" == client.serial_number
    assert cert["issuerDN"] == "CN=sekisho devstack test CA,O=sekisho devstack"
    sent = x509.load_pem_x509_certificate(client.cert.read_bytes())
    assert x509.load_pem_x509_certificate(cert["clientCertPem"].encode()) == sent
    assert set(cert["validity"]) == {"notBefore", "notAfter"}
    assert cert["validity"]["notAfter"].endswith(" GMT")


def test_a_tls_event_says_https_and_the_path_as_called(echo_stack):
    client = echo_stack.pki.mint_client("CN=path-check", "path-check")
    event = echoed(echo_stack, echo_stack.pki.client_context(client), "/echo/a/b?x=1")

    assert event["headers"]["X-Forwarded-Proto"] == "https"
    assert event["requestContext"]["path"] == "/echo/a/b"
    host = event["headers"]["Host"]
    assert f"https://{host}{event['requestContext']['path']}" == (echo_stack.tls_url + "/echo/a/b")


def test_two_partners_certificates_reach_the_function_as_two_subjects(echo_stack):
    first = echo_stack.pki.mint_client("CN=partner-a,O=A KK", "partner-a")
    second = echo_stack.pki.mint_client("CN=partner-b,O=B KK", "partner-b")

    subjects = [
        echoed(echo_stack, echo_stack.pki.client_context(c), "/echo/who")["requestContext"][
            "identity"
        ]["clientCert"]["subjectDN"]
        for c in (first, second)
    ]
    assert subjects == ["CN=partner-a,O=A KK", "CN=partner-b,O=B KK"]


def test_a_plain_event_carries_no_client_certificate(echo_stack):
    with requests.Session() as session:
        session.trust_env = False
        event = session.get(echo_stack.router_url + "/echo/plain", timeout=20).json()["event"]

    assert "clientCert" not in event["requestContext"]["identity"]
    assert event["headers"]["X-Forwarded-Proto"] == "http"
