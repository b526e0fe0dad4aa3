"""A throwaway certificate authority for the local stack's HTTPS listener.

Each start makes a new CA (so a certificate from an earlier run, or any other CA, is
refused), a server certificate for 127.0.0.1 and localhost, and one client certificate per
partner of the policy that declares `client_cert: {subject: ...}`. The facts API Gateway's
REST mutual TLS hands a function about a client certificate are made here too, from the
certificate itself, so the local functions read what they would read in AWS.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from .errors import DevstackError

CA_SUBJECT = "CN=sekisho devstack test CA,O=sekisho devstack"
SERVER_SUBJECT = "CN=127.0.0.1,O=sekisho devstack"
SERVER_NAMES = ("127.0.0.1", "localhost", "::1")
# Long enough for a day of `make dev`, short enough that a copied key is soon worthless.
VALIDITY = datetime.timedelta(days=7)
# Clocks of the test processes and of this one may differ by a little.
BACKDATE = datetime.timedelta(minutes=5)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_UNSAFE_FILE_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")


class PkiError(DevstackError):
    """A client_cert subject the local CA cannot issue a certificate for."""


@dataclass(frozen=True)
class ClientCertificate:
    """A client certificate and its key, as files a TLS client (curl, requests) reads."""

    name: str  # the partner's id, or the name the test minted it under
    subject: str  # RFC 4514, as API Gateway's subjectDN
    serial_number: str  # as API Gateway's serialNumber
    cert: Path
    key: Path

    @property
    def pair(self) -> tuple[str, str]:
        """requests' `cert=`."""
        return (str(self.cert), str(self.key))


@dataclass
class Pki:
    """The CA's files, the server's, and the client certificates issued so far."""

    directory: Path
    ca_cert: Path
    server_cert: Path
    server_key: Path
    clients: dict[str, ClientCertificate] = field(default_factory=dict)
    _ca_key: ec.EllipticCurvePrivateKey | None = field(default=None, repr=False)
    _ca: x509.Certificate | None = field(default=None, repr=False)

    def client(self, name: str) -> ClientCertificate:
        """The client certificate of a partner (or one minted under `name`)."""
        try:
            return self.clients[name]
        except KeyError:
            raise KeyError(f"no client certificate {name!r}: {sorted(self.clients)}") from None

    def mint_client(
        self, subject: str, name: str | None = None, *, serial: int | None = None
    ) -> ClientCertificate:
        """Issue one more client certificate from this CA (a subject no partner has, or a
        second certificate of a partner's subject with another serial)."""
        if self._ca is None or self._ca_key is None:
            raise PkiError("this CA's key is not at hand: it was made by another process")
        label = name or f"minted-{len(self.clients) + 1}"
        if label in self.clients:
            raise PkiError(f"a client certificate {label!r} exists already")
        issued = _issue_client(
            self._ca, self._ca_key, subject, directory=self.directory, name=label, serial=serial
        )
        self.clients[label] = issued
        return issued

    def server_context(self) -> ssl.SSLContext:
        """The listener's side: this server certificate, and a client certificate of this CA
        required, as API Gateway's mutual TLS requires one of the truststore's."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        # API Gateway's TLS_1_2 security policy: TLS 1.2 and 1.3.
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.server_cert, self.server_key)
        context.load_verify_locations(cafile=str(self.ca_cert))
        context.verify_mode = ssl.CERT_REQUIRED
        return context

    def client_context(self, client: ClientCertificate | str | None = None) -> ssl.SSLContext:
        """A client's side: trusts this CA for the server, and presents `client` (a
        certificate or a name of `clients`), or nothing."""
        context = ssl.create_default_context(cafile=str(self.ca_cert))
        if client is not None:
            chosen = self.client(client) if isinstance(client, str) else client
            context.load_cert_chain(chosen.cert, chosen.key)
        return context


def subject_name(text: str) -> x509.Name:
    """A subject from its RFC 4514 string (`CN=demo-erp,O=sekisho demo`)."""
    try:
        name = x509.Name.from_rfc4514_string(text)
    except ValueError as exc:
        raise PkiError(f"{text!r} is not an RFC 4514 distinguished name: {exc}") from exc
    if not list(name):
        raise PkiError("an empty subject")
    return name


def serial_text(serial: int) -> str:
    """A serial number as API Gateway writes serialNumber: hex bytes, colon-separated."""
    length = max(1, (serial.bit_length() + 7) // 8)
    return ":".join(f"{byte:02x}" for byte in serial.to_bytes(length, "big"))


def gateway_time(moment: datetime.datetime) -> str:
    """A validity bound as API Gateway writes it (OpenSSL's: `May 28 12:30:02 2019 GMT`,
    the day padded with a space), in English whatever this machine's locale."""
    utc = moment.astimezone(datetime.UTC)
    return f"{_MONTHS[utc.month - 1]} {utc.day:>2} {utc:%H:%M:%S} {utc.year} GMT"


def client_cert_facts(der: bytes) -> dict[str, Any]:
    """`requestContext.identity.clientCert` for a verified client certificate."""
    certificate = x509.load_der_x509_certificate(der)
    return {
        "clientCertPem": certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        "subjectDN": certificate.subject.rfc4514_string(),
        "issuerDN": certificate.issuer.rfc4514_string(),
        "serialNumber": serial_text(certificate.serial_number),
        "validity": {
            "notBefore": gateway_time(certificate.not_valid_before_utc),
            "notAfter": gateway_time(certificate.not_valid_after_utc),
        },
    }


def partner_subjects(policy: Path) -> dict[str, str]:
    """partner id -> the client_cert subject it declares, read from the raw YAML (the
    policy's own model of partners is not the stack's to depend on)."""
    if not policy.is_file():
        return {}
    data = yaml.safe_load(policy.read_text(encoding="utf-8")) or {}
    partners = data.get("partners") if isinstance(data, Mapping) else None
    if not isinstance(partners, Mapping):
        # Not the stack's to refuse: the policy's own check says what is wrong with it.
        return {}
    found = {}
    for partner, declared in partners.items():
        cert = declared.get("client_cert") if isinstance(declared, Mapping) else None
        subject = cert.get("subject") if isinstance(cert, Mapping) else None
        if isinstance(subject, str) and subject.strip():
            found[str(partner)] = subject
    return found


def create_pki(directory: Path, partners: Mapping[str, str]) -> Pki:
    """A new CA in `directory` (replacing what an earlier run left there), its server
    certificate, and a client certificate for each partner id -> subject."""
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    for pattern in ("*.pem", "*.key", "clients/*.pem", "clients/*.key"):
        for stale in directory.glob(pattern):
            stale.unlink()
    ca_key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    ca = (
        x509.CertificateBuilder()
        .subject_name(subject_name(CA_SUBJECT))
        .issuer_name(subject_name(CA_SUBJECT))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_cert = _write_cert(directory / "ca.pem", ca)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _leaf(ca, ca_key, subject_name(SERVER_SUBJECT), server_key, None)
    server = server.add_extension(
        x509.SubjectAlternativeName(
            [
                x509.IPAddress(ipaddress.ip_address(name)) if _is_ip(name) else x509.DNSName(name)
                for name in SERVER_NAMES
            ]
        ),
        critical=False,
    ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    pki = Pki(
        directory=directory,
        ca_cert=ca_cert,
        server_cert=_write_cert(directory / "server.pem", server.sign(ca_key, hashes.SHA256())),
        server_key=_write_key(directory / "server.key", server_key),
        _ca_key=ca_key,
        _ca=ca,
    )
    for partner, subject in partners.items():
        pki.mint_client(subject, partner)
    return pki


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _leaf(
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    serial: int | None,
) -> x509.CertificateBuilder:
    now = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
    )


def _issue_client(
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    subject: str,
    *,
    directory: Path,
    name: str,
    serial: int | None,
) -> ClientCertificate:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        _leaf(ca, ca_key, subject_name(subject), key, serial)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    clients = directory / "clients"
    clients.mkdir(exist_ok=True)
    stem = _UNSAFE_FILE_CHARACTERS.sub("_", name)
    return ClientCertificate(
        name=name,
        subject=certificate.subject.rfc4514_string(),
        serial_number=serial_text(certificate.serial_number),
        cert=_write_cert(clients / f"{stem}.pem", certificate),
        key=_write_key(clients / f"{stem}.key", key),
    )


def _write_cert(path: Path, certificate: x509.Certificate) -> Path:
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Created owner-only: a test key is still a key.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    return path
