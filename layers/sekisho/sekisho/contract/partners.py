"""The partner routes in the contract: a partner view's ``POST /views/<name>`` and a
form's ``POST /partners/forms/<form>``, each signed per RFC 9421 (the headers, the
security scheme, the refusals) and without the browser's per-IP limit or CAPTCHA."""

from __future__ import annotations

import copy
from typing import Any

from sekisho.access.errors import NetworkNotAllowed
from sekisho.errors import RateLimited, SekishoError
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
from sekisho.policy import Policy

from .parts import problems

SIGNATURE_SCHEME = {
    "partnerSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "Signature",
        "description": (
            "HTTP Message Signatures (RFC 9421): exactly one signature, keyid = the partner's "
            "id, with created (within 300 s of the relay's clock), nonce (16-128 of "
            "A-Za-z0-9-._~+/=, accepted once) and alg (hmac-sha256 or ed25519), covering "
            '"@method" "@target-uri" and, with a body, "content-digest" "content-type".'
        ),
    }
}
_SIGNATURE_HEADERS = [
    {
        "name": "Signature-Input",
        "in": "header",
        "required": True,
        "description": 'what the signature covers and its parameters, e.g. sekisho=("@method" '
        '"@target-uri" "content-digest" "content-type");created=...;keyid="demo-erp";'
        'nonce="...";alg="hmac-sha256"',
        "schema": {"type": "string", "maxLength": 4096},
    },
    {
        "name": "Signature",
        "in": "header",
        "required": True,
        "description": "the signature, sekisho=:<base64>:",
        "schema": {"type": "string", "maxLength": 4096},
    },
    {
        "name": "Content-Digest",
        "in": "header",
        "required": True,
        "description": "RFC 9530: sha-256=:<base64 of the SHA-256 of the raw body>:",
        "schema": {"type": "string", "pattern": "sha-256=:[A-Za-z0-9+/]{43}=:"},
    },
]
PARTNER_ERRORS: tuple[type[SekishoError], ...] = (
    SignatureMissing,
    PartnerRefused,
    SignatureStale,
    SignatureReplayed,
    DigestMismatch,
    UnknownPartner,
    NetworkNotAllowed,
    QuotaExceeded,
)


def partner_errors(policy: Policy) -> tuple[type[SekishoError], ...]:
    """A partner route's refusals; the certificate's only where some partner binds one."""
    bound = any(p.client_cert is not None for p in policy.partners.values())
    return PARTNER_ERRORS + ((ClientCertificateRefused,) if bound else ())


def signed(
    operation: dict[str, Any], errors: tuple[type[SekishoError], ...], policy: Policy
) -> dict[str, Any]:
    """``operation`` (a browser route's) as partners call it: signed, no CAPTCHA header,
    the partner's quota instead of the per-IP limit."""
    partner = copy.deepcopy(operation)
    partner["operationId"] = "partner_" + partner["operationId"]
    partner["tags"] = ["partners"]
    kept = [p for p in partner.get("parameters", []) if p["name"] != "X-Captcha-Token"]
    partner["parameters"] = kept + copy.deepcopy(_SIGNATURE_HEADERS)
    partner["security"] = [{"partnerSignature": []}]
    answers = {k: v for k, v in partner["responses"].items() if int(k) < 400}
    own = tuple(e for e in errors if e is not RateLimited)
    partner["responses"] = answers | problems(own + partner_errors(policy))
    return partner


def partner_form_names(policy: Policy) -> list[str]:
    return sorted({f for p in policy.partners.values() for f in p.routes.forms})
