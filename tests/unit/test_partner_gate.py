"""The partner gate against requests signed by the http-message-signatures library (the
signer partners are told to use) and against RFC 9421's own test vectors."""

from __future__ import annotations

import datetime
import ipaddress
import json
import logging
from typing import Any

import pytest
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms

from sekisho.access.errors import NetworkNotAllowed
from sekisho.errors import NotFound
from sekisho.guard.guard import Guard
from sekisho.guard.memory import InMemoryGuardStore
from sekisho.partners.errors import (
    ClientCertificateRefused,
    DigestMismatch,
    PartnerRefused,
    QuotaExceeded,
    SignatureMissing,
    SignatureReplayed,
    SignatureStale,
    UnknownPartner,
)
from sekisho.partners.gate import PartnerGate
from sekisho.partners.keys import PartnerKeys
from sekisho.partners.message import SignedMessage
from sekisho.partners.sign import signed_headers
from sekisho.partners.signature import verifies
from sekisho.policy.partners import (
    ClientCertificate,
    PartnerPolicy,
    PartnerQuota,
    PartnerRoutes,
)
from sekisho.secrets.memory import InMemorySecretBackend
from sekisho.secrets.store import SecretStore
from tests.partner_support import partner_key_secret
from tests.unit.test_partner_rfc_vectors import VECTORS, rfc_request

NOW = 1_800_000_000.0
URL = "https://partners.example.com/views/partner-deals"
BODY = json.dumps({"match": {"deal_id": "D000001"}}).encode()
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
SECRET = "sekisho/partner/demo-erp"
B_SECRET = "sekisho/partner/other-erp"


def _partner(**changes: Any) -> PartnerPolicy:
    values: dict[str, Any] = {
        "key_secret": SECRET,
        "routes": PartnerRoutes(views=("partner-deals",), forms=("seminar-apply",)),
        "quota": PartnerQuota(per_minute=60, per_day=5000),
        "claims": {"partner": "demo-erp", "owner_id": "A1"},
    }
    return PartnerPolicy(**(values | changes))


class World:
    def __init__(self, **partners: PartnerPolicy) -> None:
        self.clock = NOW
        self.backend = InMemorySecretBackend()
        self.backend.put(SECRET, partner_key_secret(KEY))
        self.backend.put(B_SECRET, partner_key_secret(OTHER_KEY))
        self.partners = partners or {"demo-erp": _partner()}
        store = SecretStore(self.backend, allowed={SECRET, B_SECRET})
        self.counters = InMemoryGuardStore(clock=lambda: self.clock)
        self.gate = PartnerGate(
            self.partners,
            PartnerKeys(store, clock=lambda: self.clock),
            Guard(self.counters, hash_key=b"k" * 32, clock=lambda: self.clock),
            clock=lambda: self.clock,
        )

    def admit(
        self,
        message: SignedMessage,
        section: str = "views",
        route: str = "partner-deals",
        ip: str = "203.0.113.7",
    ) -> Any:
        return self.gate.admit(message, section, route, ip)  # type: ignore[arg-type]


def signed(
    *,
    key: bytes = KEY,
    keyid: str = "demo-erp",
    method: str = "POST",
    url: str = URL,
    body: bytes = BODY,
    created: float = NOW,
    nonce: str | None = None,
    cert: dict[str, object] | None = None,
) -> SignedMessage:
    headers = signed_headers(
        keyid,
        method,
        url,
        body or None,
        "application/json" if body else None,
        key,
        "hmac-sha256",
        now=created,
        nonce=nonce,
    )
    return SignedMessage(
        method, url, {k.lower(): v for k, v in headers.items()}, body, client_cert=cert
    )


def altered(message: SignedMessage, **changes: Any) -> SignedMessage:
    return SignedMessage(
        changes.get("method", message.method),
        changes.get("url", message.url),
        changes.get("headers", message.headers),
        changes.get("body", message.body),
        client_cert=changes.get("client_cert", message.client_cert),
    )


# -- what a valid call gets ------------------------------------------------------------


def test_a_request_signed_by_the_library_is_admitted_with_the_partners_claims():
    call = World().admit(signed())

    assert call.partner_id == "demo-erp"
    assert call.claims == {"partner": "demo-erp", "owner_id": "A1"}


def test_a_signed_request_without_a_body_needs_no_digest():
    assert World().admit(signed(body=b"")).partner_id == "demo-erp"


# -- refusals ---------------------------------------------------------------------------


def _without(message: SignedMessage, *names: str) -> SignedMessage:
    return altered(message, headers={k: v for k, v in message.headers.items() if k not in names})


def _with(message: SignedMessage, **headers: str) -> SignedMessage:
    return altered(message, headers={**message.headers, **headers})


def _rename_parameter(message: SignedMessage, name: str, to: str) -> SignedMessage:
    value = message.headers["signature-input"].replace(f";{name}=", f";{to}=")
    return _with(message, **{"signature-input": value})


SECOND = ', b=("@method");created=1;keyid="x";nonce="aaaaaaaaaaaaaaaa";alg="hmac-sha256"'
REFUSALS = [
    (
        "no signature headers",
        lambda: _without(signed(), "signature", "signature-input"),
        SignatureMissing,
    ),
    ("signature-input alone", lambda: _without(signed(), "signature"), SignatureMissing),
    (
        "body changed by one byte",
        lambda: altered(signed(), body=BODY.replace(b"1", b"2")),
        DigestMismatch,
    ),
    ("content-digest dropped", lambda: _without(signed(), "content-digest"), PartnerRefused),
    ("another method", lambda: altered(signed(), method="PUT"), PartnerRefused),
    (
        "another path",
        lambda: altered(signed(), url=URL.replace("partner-deals", "deal-status")),
        PartnerRefused,
    ),
    (
        "another host",
        lambda: altered(signed(), url=URL.replace("example.com", "example.org")),
        PartnerRefused,
    ),
    ("created 301 s old", lambda: signed(created=NOW - 301), SignatureStale),
    ("created 301 s ahead", lambda: signed(created=NOW + 301), SignatureStale),
    ("unknown keyid", lambda: signed(keyid="nobody"), UnknownPartner),
    ("signed with another key", lambda: signed(key=OTHER_KEY), PartnerRefused),
    (
        "a second signature",
        lambda: _with(
            signed(),
            **{
                "signature-input": signed().headers["signature-input"] + SECOND,
                "signature": signed().headers["signature"] + ", b=:AAAA:",
            },
        ),
        PartnerRefused,
    ),
    (
        "malformed signature-input",
        lambda: _with(signed(), **{"signature-input": 'sekisho=("@method'}),
        PartnerRefused,
    ),
    ("no nonce", lambda: _rename_parameter(signed(), "nonce", "tag"), PartnerRefused),
    ("no alg", lambda: _rename_parameter(signed(), "alg", "tag"), PartnerRefused),
    ("no created", lambda: _rename_parameter(signed(), "created", "expires"), PartnerRefused),
]


@pytest.mark.parametrize(("case", "make", "refusal"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_request_that_is_not_exactly_what_was_signed_is_refused(case, make, refusal):
    with pytest.raises(refusal) as caught:
        World().admit(make())

    assert caught.value.status == 401
    assert type(caught.value) is refusal  # no subclass: the code is exactly the one listed


def test_coverage_without_content_digest_for_a_body_is_refused_even_when_it_verifies():
    # Signed by the library over "@method" "@target-uri" only, yet with a body: the digest
    # would then be no part of the signature, and the body could be swapped.
    class Message:
        method, url, headers = "POST", URL, {"Content-Type": "application/json"}

    message = Message()
    HTTPMessageSigner(
        signature_algorithm=algorithms.HMAC_SHA256,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={"demo-erp": KEY}),
    ).sign(
        message,
        key_id="demo-erp",
        nonce="n" * 24,
        label="sekisho",
        created=datetime.datetime.fromtimestamp(NOW, tz=datetime.UTC),
        covered_component_ids=("@method", "@target-uri"),
    )
    request = SignedMessage("POST", URL, {k.lower(): v for k, v in message.headers.items()}, BODY)

    assert verifies(request, algorithm="hmac-sha256", key=KEY, keyid="demo-erp", now=NOW)
    with pytest.raises(PartnerRefused) as caught:
        World().admit(request)
    assert caught.value.code == "signature_invalid"


def test_the_same_request_twice_is_a_replay():
    world, message = World(), signed()
    world.admit(message)

    with pytest.raises(SignatureReplayed):
        world.admit(message)


def test_a_route_the_partner_was_not_given_is_the_404_of_an_undeclared_route():
    with pytest.raises(NotFound) as caught:
        World().admit(signed(), route="deal-status")

    assert caught.value.code == "not_found"


def test_a_call_from_outside_the_partners_networks_is_refused():
    world = World(**{"demo-erp": _partner(networks=(ipaddress.ip_network("198.51.100.0/24"),))})

    with pytest.raises(NetworkNotAllowed):
        world.admit(signed())
    assert world.admit(signed(), ip="198.51.100.9").partner_id == "demo-erp"


def test_past_the_minute_quota_the_answer_is_429_with_the_seconds_to_the_windows_end():
    world = World(**{"demo-erp": _partner(quota=PartnerQuota(per_minute=2, per_day=100))})
    world.clock = NOW + 15  # 1_800_000_015: 45 s to the minute's end
    world.admit(signed(created=world.clock))
    world.admit(signed(created=world.clock))

    with pytest.raises(QuotaExceeded) as caught:
        world.admit(signed(created=world.clock))

    assert caught.value.status == 429
    assert caught.value.code == "quota_exceeded"
    assert caught.value.retry_after == 46


def test_the_quota_counts_in_the_shared_store_under_the_partners_own_keys():
    world = World()
    world.admit(signed())

    keys = set(world.counters.items())
    assert all(key.startswith("partner:demo-erp#") for key in keys)
    assert {key.split("#")[1] for key in keys} == {"nonce", "quota"}


# -- keys: rotation and grace --------------------------------------------------------------


def test_the_previous_key_is_accepted_within_the_grace_and_refused_after_it():
    world = World(**{"demo-erp": _partner(grace_seconds=3600)})
    world.backend.put(SECRET, partner_key_secret(OTHER_KEY, rotated_at=NOW - 60))
    world.backend.put(SECRET, partner_key_secret(KEY), stage="AWSPREVIOUS")
    assert world.admit(signed(key=KEY)).partner_id == "demo-erp"

    world.clock = NOW + 3600
    with pytest.raises(PartnerRefused) as caught:
        world.admit(signed(key=KEY, created=world.clock))
    assert caught.value.code == "signature_invalid"
    assert world.admit(signed(key=OTHER_KEY, created=world.clock)).partner_id == "demo-erp"


# -- client certificates -----------------------------------------------------------------

A_CERT = {"subjectDN": "CN=demo-erp,O=sekisho demo", "serialNumber": "0a:1b"}
B_CERT = {"subjectDN": "CN=other-erp,O=sekisho demo", "serialNumber": "0c"}


def _bound_world() -> World:
    return World(
        **{
            "demo-erp": _partner(client_cert=ClientCertificate(subject=A_CERT["subjectDN"])),
            "other-erp": _partner(
                key_secret=B_SECRET,
                claims={"partner": "other-erp", "owner_id": "A2"},
                client_cert=ClientCertificate(subject=B_CERT["subjectDN"], serial="0C"),
            ),
        }
    )


def test_a_partners_own_certificate_is_admitted():
    assert _bound_world().admit(signed(cert=A_CERT)).partner_id == "demo-erp"
    assert (
        _bound_world()
        .admit(signed(key=OTHER_KEY, keyid="other-erp", cert=B_CERT))
        .claims["owner_id"]
        == "A2"
    )


@pytest.mark.parametrize(
    ("keyid", "key", "cert"),
    [
        ("other-erp", OTHER_KEY, A_CERT),  # A's certificate with B's key
        ("demo-erp", KEY, B_CERT),  # B's certificate with A's key
        ("demo-erp", KEY, None),  # no certificate where one is bound
        ("other-erp", OTHER_KEY, {**B_CERT, "serialNumber": "0d"}),  # B's subject, not its serial
    ],
    ids=["a_cert_b_key", "b_cert_a_key", "no_cert", "wrong_serial"],
)
def test_a_certificate_that_is_not_the_partners_own_is_refused(keyid, key, cert):
    with pytest.raises(ClientCertificateRefused) as caught:
        _bound_world().admit(signed(keyid=keyid, key=key, cert=cert))

    assert caught.value.status == 401


def test_a_certificate_bound_to_another_partner_is_refused_for_a_partner_that_binds_none():
    world = World(
        **{
            "demo-erp": _partner(),
            "other-erp": _partner(
                key_secret=B_SECRET,
                claims={"partner": "other-erp"},
                client_cert=ClientCertificate(subject=B_CERT["subjectDN"]),
            ),
        }
    )

    with pytest.raises(ClientCertificateRefused):
        world.admit(signed(cert=B_CERT))


# -- audit -------------------------------------------------------------------------------------


def test_every_refusal_is_audited_with_the_partner_and_no_hint_of_the_key(caplog):
    caplog.set_level(logging.INFO)
    with pytest.raises(PartnerRefused):
        World().admit(signed(key=OTHER_KEY))

    [event] = [r for r in caplog.records if getattr(r, "audit", False)]
    assert (event.action, event.partner, event.outcome) == (
        "partner_refused",
        "demo-erp",
        "signature_invalid",
    )
    # Named as every other audit line and the metrics name the route.
    assert (event.route, event.caller, event.record_ids) == ("view:partner-deals", "partner", [])
    assert "key" not in event.getMessage()


def test_the_rfcs_vectors_lack_what_sekisho_requires_and_are_refused_by_the_gate():
    # No nonce, no alg, no @target-uri: a valid signature is not yet an acceptable one.
    _, _, _, signature_input, signature = VECTORS["B.2.5 hmac-sha256"]

    with pytest.raises(PartnerRefused) as caught:
        World().admit(rfc_request(signature_input, signature))
    assert caught.value.code == "signature_invalid"
