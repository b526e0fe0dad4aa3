"""The rules of partner systems as the relay runs them: who a partner is (its key and the
claims its calls carry), what it may call, from where and how often, and the client
certificate it must present when it calls over mutual TLS."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from typing import Literal

from .rule import Rule, fresh

Network = IPv4Network | IPv6Network

# The claim every partner's calls carry: its own id.
PARTNER_CLAIM = "partner"
# A partner re-signing with a rotated key needs the new one handed over: a week.
DEFAULT_PARTNER_GRACE_SECONDS = 7 * 86_400


class PartnerRoutes(Rule):
    """The routes a partner may call, by name; any other answers as an undeclared one."""

    views: tuple[str, ...] = ()
    forms: tuple[str, ...] = ()


class PartnerQuota(Rule):
    """Requests a partner may make per minute and per day, counted across containers."""

    per_minute: int
    per_day: int


class ClientCertificate(Rule):
    """The certificate a partner must present over mutual TLS: its subject DN (RFC 4514,
    as API Gateway writes it) and, when declared, its serial number."""

    subject: str
    serial: str | None = None


class PartnerPolicy(Rule):
    """One partner system: its key, its routes, where it calls from, its quota and claims."""

    # hmac-sha256: the Secrets Manager name of {"kind": "partner-key", "secret"}.
    key_secret: str | None = None
    # ed25519: the partner's public key (PEM SubjectPublicKeyInfo); it holds the private one.
    public_key: str | None = None
    algorithm: Literal["hmac-sha256", "ed25519"] = "hmac-sha256"
    routes: PartnerRoutes = fresh(PartnerRoutes)
    networks: tuple[Network, ...] | None = None
    quota: PartnerQuota | None = None
    # Claim name -> value; validation requires `partner: <the partner's id>`.
    claims: dict[str, str] = fresh(dict)
    client_cert: ClientCertificate | None = None
    grace_seconds: int = DEFAULT_PARTNER_GRACE_SECONDS
    enabled: bool = True

    def may_call(self, section: Literal["views", "forms"], name: str) -> bool:
        return name in (self.routes.views if section == "views" else self.routes.forms)


def normal_serial(serial: str) -> str:
    """A certificate serial as hex digits alone, lower case, without leading zeros."""
    digits = serial.replace(":", "").lower().lstrip("0")
    return digits or "0"


PARTNER_RULES: tuple[type[Rule], ...] = (
    PartnerRoutes,
    PartnerQuota,
    ClientCertificate,
    PartnerPolicy,
)
