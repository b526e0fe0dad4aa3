"""The proxy event of a request that came over the local stack's mutual TLS listener carries
the client certificate's facts where API Gateway puts them (requestContext.identity
.clientCert) and says https; a plain request carries no certificate. Either way
requestContext.path is the path as the client called it (no stage, as a custom domain
with an empty base path), which the partner verifier rebuilds @target-uri from."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from devstack.cli import STATE_DIR
from devstack.pki import Pki, client_cert_facts, create_pki
from devstack.proxy import HttpRequest, proxy_event
from devstack.routing import Match
from devstack.sam import ApiSpec, Route

API = ApiSpec("Api", "v1", (), {})
ROUTE = Route(API, "/views/{view}", "POST", "PartnerFunction")
MATCH = Match(ROUTE, {"view": "partner-deals"})
SUBJECT = "CN=demo-erp,O=sekisho demo"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return create_pki(tmp_path_factory.mktemp("pki"), {"demo-erp": SUBJECT})


@pytest.fixture(scope="module")
def facts(pki: Pki) -> dict:
    pem = pki.client("demo-erp").cert.read_bytes()
    return client_cert_facts(x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER))


def request(headers: list[tuple[str, str]] | None = None, **connection: object) -> HttpRequest:
    return HttpRequest(
        "POST",
        "/views/partner-deals?x=1",
        [("Host", "127.0.0.1:3443"), *(headers or [])],
        b"{}",
        "127.0.0.1",
        **connection,  # type: ignore[arg-type]
    )


def test_a_mutual_tls_request_carries_the_certificate_facts_in_the_identity(facts):
    event = proxy_event(request(scheme="https", client_cert=facts), MATCH, "rid-1")

    identity = event["requestContext"]["identity"]
    assert identity["clientCert"] == facts
    assert identity["clientCert"]["subjectDN"] == SUBJECT
    assert identity["sourceIp"] == "127.0.0.1"


def test_a_plain_request_carries_no_client_certificate():
    event = proxy_event(request(), MATCH, "rid-1")
    assert "clientCert" not in event["requestContext"]["identity"]


@pytest.mark.parametrize(
    ("scheme", "sent", "forwarded"),
    [
        ("https", [], "https"),
        # The connection was TLS whatever the client wrote.
        ("https", [("X-Forwarded-Proto", "http")], "https"),
        ("http", [], "http"),
        ("http", [("X-Forwarded-Proto", "https")], "https"),
    ],
)
def test_x_forwarded_proto_says_what_the_listener_was(scheme, sent, forwarded):
    event = proxy_event(request(sent, scheme=scheme), MATCH, "rid-1")

    assert event["headers"]["X-Forwarded-Proto"] == forwarded
    assert event["multiValueHeaders"]["X-Forwarded-Proto"] == [forwarded]


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_context_path_is_the_path_as_called_without_the_stage(scheme):
    event = proxy_event(request(scheme=scheme), MATCH, "rid-1")

    context = event["requestContext"]
    assert context["path"] == "/views/partner-deals"
    assert context["stage"] == "v1"
    assert context["domainName"] == "127.0.0.1:3443"
    # What a verifier rebuilds @target-uri from: scheme, Host and the path as called.
    rebuilt = f"{event['headers']['X-Forwarded-Proto']}://{event['headers']['Host']}"
    assert rebuilt + context["path"] == f"{scheme}://127.0.0.1:3443/views/partner-deals"


def test_the_certificate_facts_are_a_copy_the_request_cannot_change_later(facts):
    held = dict(facts)
    event = proxy_event(request(scheme="https", client_cert=held), MATCH, "rid-1")
    held["subjectDN"] = "CN=someone-else"

    assert event["requestContext"]["identity"]["clientCert"]["subjectDN"] == SUBJECT


def test_make_devs_test_ca_is_written_where_git_ignores_it():
    repository = Path(__file__).resolve().parents[2]
    ignored = (repository / ".gitignore").read_text(encoding="utf-8").splitlines()

    assert f"{STATE_DIR.parts[0]}/" in ignored
