"""The local stack's test CA (devstack.pki): what it signs, the server certificate's names,
the partners' client certificates and their subjects, and the certificate facts written as
API Gateway's REST mutual TLS writes requestContext.identity.clientCert."""

from __future__ import annotations

import datetime
import ipaddress
import re
import ssl
import stat
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from devstack import pki as pki_module
from devstack.pki import (
    Pki,
    PkiError,
    client_cert_facts,
    create_pki,
    gateway_time,
    partner_subjects,
    serial_text,
)

DEMO_SUBJECT = "CN=demo-erp,O=sekisho demo"
# OpenSSL's (and so API Gateway's) validity format: the day padded with a space.
GATEWAY_TIME = re.compile(r"^[A-Z][a-z]{2} [ 123][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9] \d{4} GMT$")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return create_pki(tmp_path_factory.mktemp("pki"), {"demo-erp": DEMO_SUBJECT})


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


# -- the CA ----------------------------------------------------------------------------------


def test_the_ca_signs_the_server_and_every_client_certificate(pki):
    ca = load(pki.ca_cert)
    minted = pki.mint_client("CN=nobody,O=elsewhere", "ca-signs-nobody")

    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    for path in (pki.server_cert, pki.client("demo-erp").cert, minted.cert):
        assert issued_by(load(path), ca), path


def test_a_certificate_of_another_run_is_not_the_ca_s_own(pki, tmp_path):
    other = create_pki(tmp_path / "other", {"demo-erp": DEMO_SUBJECT})

    # Same subjects, another key: the listener of this run refuses the other's clients.
    assert load(other.client("demo-erp").cert).subject == load(pki.client("demo-erp").cert).subject
    assert not issued_by(load(other.client("demo-erp").cert), load(pki.ca_cert))
    assert not issued_by(load(pki.server_cert), load(other.ca_cert))


def test_the_server_certificate_names_127_0_0_1_localhost_and_ipv6_loopback(pki):
    server = load(pki.server_cert)
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value

    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert set(names.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    usage = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


def test_a_client_certificate_is_for_client_authentication_only(pki):
    client = load(pki.client("demo-erp").cert)
    usage = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value

    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert client.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


def test_the_certificates_expire_within_a_week(pki):
    now = datetime.datetime.now(datetime.UTC)
    for path in (pki.ca_cert, pki.server_cert, pki.client("demo-erp").cert):
        certificate = load(path)
        assert certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc
        assert certificate.not_valid_after_utc - now <= datetime.timedelta(days=7)


def test_every_private_key_is_readable_by_its_owner_only(pki):
    keys = [pki.server_key, *(client.key for client in pki.clients.values())]
    assert keys
    for key in keys:
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    assert stat.S_IMODE(pki.directory.stat().st_mode) == 0o700
    # The CA's key never reaches the disk: nothing can mint after the stack stops.
    assert sorted(path.name for path in pki.directory.glob("*.key")) == ["server.key"]


def test_a_new_run_in_the_same_directory_leaves_no_certificate_of_the_last(tmp_path):
    first = create_pki(tmp_path, {"gone-partner": "CN=gone", "demo-erp": DEMO_SUBJECT})
    first.mint_client("CN=extra", "extra")
    first_ca = load(first.ca_cert)
    second = create_pki(tmp_path, {"demo-erp": DEMO_SUBJECT})

    assert sorted(p.name for p in (tmp_path / "clients").iterdir()) == [
        "demo-erp.key",
        "demo-erp.pem",
    ]
    assert not issued_by(load(second.client("demo-erp").cert), first_ca)


def test_the_listener_context_requires_a_client_certificate_over_tls_1_2_or_newer(pki):
    context = pki.server_context()
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


# -- client certificates and their subjects -------------------------------------------------


@pytest.mark.parametrize(
    "subject",
    [
        DEMO_SUBJECT,
        "CN=booking-site",
        "CN=erp,OU=systems,O=Example KK,C=JP",
        r"CN=Acme\, Inc.,O=Acme",
        "CN=販売管理,O=株式会社例",
    ],
)
def test_a_minted_client_certificate_has_the_rfc_4514_subject_it_was_asked_for(pki, subject):
    name = f"subject-{abs(hash(subject))}"
    minted = pki.mint_client(subject, name)

    assert minted.subject == subject
    assert load(minted.cert).subject == x509.Name.from_rfc4514_string(subject)
    assert client_cert_facts(load(minted.cert).public_bytes(Encoding.DER))["subjectDN"] == subject


def test_each_partner_declaring_a_subject_gets_its_own_client_certificate(tmp_path):
    made = create_pki(tmp_path, {"demo-erp": DEMO_SUBJECT, "booking": "CN=booking,O=Book KK"})

    assert set(made.clients) == {"demo-erp", "booking"}
    assert made.client("booking").subject == "CN=booking,O=Book KK"
    assert made.client("demo-erp").serial_number != made.client("booking").serial_number
    assert made.client("demo-erp").pair == (
        str(tmp_path / "clients" / "demo-erp.pem"),
        str(tmp_path / "clients" / "demo-erp.key"),
    )


def test_a_second_certificate_of_the_same_subject_differs_by_its_serial(pki):
    again = pki.mint_client(DEMO_SUBJECT, "demo-erp-second", serial=0x0A1B2C)

    assert again.subject == pki.client("demo-erp").subject
    assert again.serial_number == "0a:1b:2c"
    assert again.serial_number != pki.client("demo-erp").serial_number


@pytest.mark.parametrize("subject", ["", "not a name", "CN"])
def test_a_subject_that_is_no_distinguished_name_is_refused(pki, subject):
    with pytest.raises(PkiError):
        pki.mint_client(subject, f"refused-{len(subject)}")


def test_a_name_minted_twice_is_refused(pki):
    pki.mint_client("CN=twice", "twice")
    with pytest.raises(PkiError, match="exists already"):
        pki.mint_client("CN=twice", "twice")


def test_an_unknown_client_name_says_which_exist(pki):
    with pytest.raises(KeyError, match="demo-erp"):
        pki.client("no-such-partner")


@pytest.mark.parametrize(
    ("policy", "subjects"),
    [
        (
            {"partners": {"demo-erp": {"client_cert": {"subject": DEMO_SUBJECT}}}},
            {"demo-erp": DEMO_SUBJECT},
        ),
        ({"partners": {"plain": {"key_secret": "sekisho/partner/plain"}}}, {}),
        ({"partners": {"serial-only": {"client_cert": {"serial": "0a:1b"}}}}, {}),
        ({"partners": None}, {}),
        ({"partners": ["demo-erp"]}, {}),
        ({"views": {}}, {}),
        (
            {
                "partners": {
                    "a": {"client_cert": {"subject": "CN=a"}},
                    "b": {},
                    "c": {"client_cert": {"subject": "CN=c", "serial": "01"}},
                }
            },
            {"a": "CN=a", "c": "CN=c"},
        ),
    ],
    ids=[
        "demo",
        "no_client_cert",
        "no_subject",
        "empty_section",
        "not_a_mapping",
        "no_section",
        "several",
    ],
)
def test_the_partners_subjects_are_read_from_the_raw_policy(tmp_path, policy, subjects):
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy), encoding="utf-8")
    assert partner_subjects(path) == subjects


def test_no_policy_file_means_no_partner_certificates(tmp_path):
    assert partner_subjects(tmp_path / "missing.yaml") == {}


# -- what API Gateway writes ---------------------------------------------------------------


def test_the_certificate_facts_are_those_of_api_gateways_client_cert(pki):
    client = pki.client("demo-erp")
    certificate = load(client.cert)
    facts = client_cert_facts(certificate.public_bytes(Encoding.DER))

    assert set(facts) == {"clientCertPem", "subjectDN", "issuerDN", "serialNumber", "validity"}
    assert facts["subjectDN"] == DEMO_SUBJECT
    assert facts["issuerDN"] == pki_module.CA_SUBJECT
    assert facts["serialNumber"] == client.serial_number == serial_text(certificate.serial_number)
    assert x509.load_pem_x509_certificate(facts["clientCertPem"].encode()) == certificate
    assert set(facts["validity"]) == {"notBefore", "notAfter"}
    for bound in facts["validity"].values():
        assert GATEWAY_TIME.match(bound), bound


@pytest.mark.parametrize(
    ("serial", "text"),
    [
        (1, "01"),
        (0xA1A1, "a1:a1"),
        (0x0100, "01:00"),
        (int("a1" * 16, 16), ":".join(["a1"] * 16)),
    ],
)
def test_a_serial_number_is_written_as_colon_separated_hex_bytes(serial, text):
    assert serial_text(serial) == text


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime.datetime(2021, 8, 5, 9, 36, 4, tzinfo=datetime.UTC), "Aug  5 09:36:04 2021 GMT"),
        (
            datetime.datetime(2019, 5, 28, 12, 30, 2, tzinfo=datetime.UTC),
            "May 28 12:30:02 2019 GMT",
        ),
        (
            datetime.datetime(
                2026, 1, 1, 9, 0, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=9))
            ),
            "Jan  1 00:00:00 2026 GMT",
        ),
    ],
)
def test_a_validity_bound_is_written_as_openssl_prints_it_in_gmt(moment, text):
    assert gateway_time(moment) == text
