"""HTTP Message Signatures (RFC 9421) as sekisho requires them of a partner.

:func:`read_signature` parses the one signature a request carries and enforces what the
relay asks of it before any key is looked up: the parameters ``created``, ``keyid``,
``nonce`` and ``alg``, and coverage of ``@method`` and ``@target-uri`` (with a body, also
``content-digest`` and ``content-type``). :func:`verifies` is the cryptographic check
alone, done by the pinned ``http-message-signatures`` library (its signature base and
algorithms), with the relay's clock: the same function the RFC's own test vectors run
through. Nothing here says why a signature failed beyond "not valid".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import http_sf
from http_message_signatures import HTTPMessageVerifier, MappingKeyResolver, algorithms
from http_message_signatures.exceptions import HTTPMessageSignaturesException, InvalidSignature

from .errors import PartnerRefused, SignatureMissing
from .message import SignedMessage

# The contract a partner signs to, read by the verifier and by sekisho sign alike.
HMAC_SHA256, ED25519 = "hmac-sha256", "ed25519"
ALGORITHMS: dict[str, type[Any]] = {
    HMAC_SHA256: algorithms.HMAC_SHA256,
    ED25519: algorithms.ED25519,
}
REQUIRED_PARAMETERS = ("created", "keyid", "nonce", "alg")
BARE_COMPONENTS = ("@method", "@target-uri")
BODY_COMPONENTS = (*BARE_COMPONENTS, "content-digest", "content-type")
# created may be this far before or after the relay's clock.
MAX_SKEW_SECONDS = 300
# RFC 3986 unreserved characters and base64's: what secrets.token_urlsafe and base64 make.
NONCE = re.compile(r"[A-Za-z0-9._~+/=-]{16,128}")
MAX_HEADER_CHARS = 4096


@dataclass(frozen=True)
class SignatureInput:
    """The one signature of a request: its label, what it covers, its parameters."""

    label: str
    covered: tuple[str, ...]
    created: int
    keyid: str
    nonce: str
    alg: str


def _parse_dictionary(value: str) -> Any:
    try:
        return http_sf.parse(value.encode("ascii"), tltype="dictionary")
    except Exception:
        raise PartnerRefused() from None


def read_signature(message: SignedMessage) -> SignatureInput:
    """The request's one signature with the relay's requirements met, or a refusal:
    401 signature_missing without both headers, 401 signature_invalid otherwise."""
    inputs, signatures = message.header("signature-input"), message.header("signature")
    if not inputs or not signatures:
        raise SignatureMissing()
    if len(inputs) > MAX_HEADER_CHARS or len(signatures) > MAX_HEADER_CHARS:
        raise PartnerRefused()
    parsed_inputs, parsed_signatures = _parse_dictionary(inputs), _parse_dictionary(signatures)
    if len(parsed_inputs) != 1 or parsed_inputs.keys() != parsed_signatures.keys():
        raise PartnerRefused()
    [(label, (members, params))] = parsed_inputs.items()
    if not isinstance(members, list):
        raise PartnerRefused()
    covered = []
    for member in members:
        value, member_params = member
        if not isinstance(value, str):
            raise PartnerRefused()
        # A covered field with parameters (;sf, ;key, ;bs) is another value than the field.
        covered.append(value if not member_params else "")
    created, keyid, nonce, alg = (params.get(name) for name in REQUIRED_PARAMETERS)
    if type(created) is not int:
        raise PartnerRefused()
    if not (isinstance(keyid, str) and isinstance(nonce, str) and isinstance(alg, str)):
        raise PartnerRefused()
    if not NONCE.fullmatch(nonce) or alg not in ALGORITHMS:
        raise PartnerRefused()
    required = set(BODY_COMPONENTS if message.body else BARE_COMPONENTS)
    if not required <= set(covered) or len(set(covered)) != len(covered):
        raise PartnerRefused()
    return SignatureInput(label, tuple(covered), created, keyid, nonce, alg)


class _Verifier(HTTPMessageVerifier):
    """The library's verifier on the relay's clock. ``created`` is the caller's check
    (it answers signature_stale, with the relay's skew); an ``expires`` in the past is
    refused here."""

    def __init__(self, *, now: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._now = now

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        expires = sig_input.params.get("expires")
        if expires is not None and (type(expires) is not int or expires < self._now):
            raise InvalidSignature("the signature has expired")


def verifies(message: SignedMessage, *, algorithm: str, key: Any, keyid: str, now: float) -> bool:
    """Does the request's signature verify with ``key`` (HMAC bytes, or an Ed25519 public
    key: a cryptography object or PEM bytes) under ``algorithm``? Crypto and signature
    base only: what it must cover is :func:`read_signature`'s to say."""
    verifier = _Verifier(
        now=now,
        signature_algorithm=ALGORITHMS[algorithm],
        key_resolver=MappingKeyResolver(public_keys={keyid: key}, private_keys={}),
    )
    try:
        verifier.verify(_LibraryMessage(message), max_age=None)
    except (InvalidSignature, HTTPMessageSignaturesException):
        return False
    return True


class _LibraryMessage:
    """What the library's component resolver reads of a request."""

    def __init__(self, message: SignedMessage) -> None:
        self.method = message.method.upper()
        self.url = message.url
        self.headers = dict(message.headers)
