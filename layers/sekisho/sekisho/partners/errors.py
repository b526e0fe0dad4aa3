"""Why a partner's call was refused: 401 problems that never say which part of a key or
signature was wrong, a 429 with the quota's window, and the certificate refusal.

A network refusal is :class:`sekisho.access.errors.NetworkNotAllowed` (403), the route's
own; a route the partner was not given is :class:`sekisho.errors.NotFound`, exactly as
an undeclared one.
"""

from __future__ import annotations

from typing import ClassVar

from sekisho.errors import RateLimited, SekishoError


class PartnerRefused(
    SekishoError, code="signature_invalid", status=401, title="The request's signature is not valid"
):
    """The base of the refusals of a partner's credentials (raised as itself for any
    signature that does not verify). A partner signs; it is told so in WWW-Authenticate."""

    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": 'Signature realm="sekisho"'}

    @property
    def outcome(self) -> str:
        return self.code


class SignatureMissing(
    PartnerRefused, code="signature_missing", title="The request carries no signature"
):
    """Neither Signature-Input nor Signature (or only one of them)."""


class SignatureStale(
    PartnerRefused, code="signature_stale", title="The signature's created time is too far off"
):
    """``created`` is more than the allowed skew before or after the relay's clock."""


class SignatureReplayed(
    PartnerRefused, code="signature_replayed", title="This signature was already used"
):
    """Its nonce was accepted before: each signed request is taken once."""


class DigestMismatch(
    PartnerRefused, code="digest_mismatch", title="The body does not match its Content-Digest"
):
    """Content-Digest is absent, has no sha-256 member, or is not the body's."""


class UnknownPartner(PartnerRefused, code="unknown_partner", title="The keyid names no partner"):
    """The signature's keyid is no partner of the policy (or one switched off)."""


class ClientCertificateRefused(
    PartnerRefused,
    code="client_certificate_refused",
    title="The client certificate does not belong to this partner",
):
    """The partner declares a certificate and the call presented none or another's, or
    the certificate presented is bound to another partner."""


class QuotaExceeded(RateLimited, code="quota_exceeded", title="The partner's quota is used up"):
    """The partner made its declared requests for this minute or day; ``retry_after``
    is the seconds to the window's end."""

    outcome = "quota_exceeded"

    def __init__(self, retry_after: int) -> None:
        super().__init__("try again when the quota's window ends")
        self.retry_after = max(1, int(retry_after))
