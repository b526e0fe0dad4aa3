"""A partner's request, signed as sekisho's partner routes ask (RFC 9421 and RFC 9530).

The signing itself is the ``http-message-signatures`` library's, the one the partner docs
tell partners to use: what ``sekisho sign`` prints and what the tests send is then what a
partner's own code would send, not a second reading of the RFC that could agree with the
verifier by sharing its mistakes.

A signature covers ``"@method" "@target-uri"`` and, with a body, ``"content-digest"
"content-type"``; its parameters are ``created`` (now), ``keyid`` (the partner's id),
``nonce`` (fresh) and ``alg``, under the label ``sekisho``. The verifier accepts it for
:data:`WINDOW_SECONDS` and once.
"""

from __future__ import annotations

import datetime
import re
import secrets
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import urlsplit

import requests
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPSignatureAlgorithm,
    MappingKeyResolver,
)

from sekisho.errors import ConfigurationError
from sekisho.secrets.errors import SecretMalformed
from sekisho.secrets.partner_key import MIN_KEY_BYTES as MIN_HMAC_KEY_BYTES
from sekisho.secrets.partner_key import decode_key, partner_key_bytes

from .signature import (
    ALGORITHMS,
    BARE_COMPONENTS,
    BODY_COMPONENTS,
    HMAC_SHA256,
    MAX_SKEW_SECONDS,
    NONCE,
)

LABEL = "sekisho"
# The verifier's own contract (sekisho.partners.signature): what is signed is what is checked.
WINDOW_SECONDS = MAX_SKEW_SECONDS
SECRET_PREFIX = "sekisho/partner/"  # noqa: S105 - a secret name, not a secret
# token_urlsafe(24) gives 32 of the nonce's characters.
NONCE_BYTES = 24
# Ids that are at once a Structured Field String (keyid) and a part of a secret name.
PARTNER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_METHOD = re.compile(r"[A-Z]{1,16}")

SigningKey: TypeAlias = bytes | Ed25519PrivateKey


class SigningRefused(ConfigurationError):
    """What was asked cannot be signed as partner routes require: a partner id, method,
    URL, body or key that the verifier would refuse, or that a shell line cannot carry.
    Messages name the input, never a key's value."""


@dataclass(frozen=True)
class SignedRequest:
    """A request ready to send: ``url`` as signed (``@target-uri``), the headers to add
    (Content-Type, Content-Digest, Signature-Input, Signature) and the exact body."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None


def secret_name(partner_id: str) -> str:
    """The declared name of ``partner_id``'s key secret (``sekisho/partner/<id>``)."""
    return SECRET_PREFIX + _partner(partner_id)


def hmac_key(secret: str) -> bytes:
    """The HMAC key a partner-key secret's ``secret`` field holds: its base64url decoding
    (padding optional), at least :data:`MIN_HMAC_KEY_BYTES` long."""
    try:
        return decode_key(secret, name="the partner key")
    except SecretMalformed as exc:
        raise SigningRefused(exc.detail) from None


def partner_key(value: Mapping[str, Any], name: str) -> bytes:
    """The HMAC key of the partner-key secret ``name`` whose JSON value is ``value``, read
    as the verifier reads it (:func:`sekisho.secrets.partner_key.partner_key_bytes`)."""
    try:
        return partner_key_bytes(value, name=name)
    except SecretMalformed as exc:
        raise SigningRefused(exc.detail) from None


def ed25519_private_key(pem: bytes, *, where: str = "the key file") -> Ed25519PrivateKey:
    """The unencrypted Ed25519 private key of a PEM file (PKCS#8, as openssl writes it)."""
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise SigningRefused(
            f"{where} holds no unencrypted PEM private key that can be read"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningRefused(f"{where} holds a private key that is not an Ed25519 key")
    return key


def new_nonce() -> str:
    return secrets.token_urlsafe(NONCE_BYTES)


def _partner(partner_id: str) -> str:
    if not isinstance(partner_id, str) or not PARTNER_ID.fullmatch(partner_id):
        raise SigningRefused(
            f"partner id {partner_id!r} is not 1 to 128 of A-Z a-z 0-9 _ . - "
            "(starting with a letter or digit)"
        )
    return partner_id


def _algorithm(algorithm: str, key: SigningKey) -> type[HTTPSignatureAlgorithm]:
    chosen = ALGORITHMS.get(algorithm)
    if chosen is None:
        raise SigningRefused(f"algorithm {algorithm!r} is not one of {', '.join(ALGORITHMS)}")
    expected = bytes if algorithm == HMAC_SHA256 else Ed25519PrivateKey
    if not isinstance(key, expected):
        raise SigningRefused(f"an {algorithm} signature needs a {expected.__name__} key")
    if isinstance(key, bytes) and len(key) < MIN_HMAC_KEY_BYTES:
        raise SigningRefused(f"an {algorithm} key has at least {MIN_HMAC_KEY_BYTES} bytes")
    return chosen


def _prepared(
    method: str, url: str, body: bytes | None, content_type: str | None
) -> requests.PreparedRequest:
    verb = method.upper() if isinstance(method, str) else ""
    if not _METHOD.fullmatch(verb):
        raise SigningRefused(f"method {method!r} is not an HTTP method")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SigningRefused(f"URL {url!r} is not an absolute http(s) URL")
    if parts.fragment or url.endswith("#"):
        # Never sent, so never in the server's @target-uri.
        raise SigningRefused(f"URL {url!r} has a fragment (#...), which is not sent")
    if parts.username is not None or parts.password is not None:
        raise SigningRefused("the URL carries credentials (user@host), which are not sent")
    headers: dict[str, str] = {}
    if body is not None:
        if not content_type or not content_type.isascii() or not content_type.isprintable():
            raise SigningRefused("a request with a body needs a printable ASCII content type")
        headers["Content-Type"] = content_type
    try:
        # requests writes the URL as it will send it (percent-encoded, IDNA host): that
        # text, not the one given, is the @target-uri the server rebuilds.
        return requests.Request(verb, url, data=body, headers=headers).prepare()
    except (requests.RequestException, ValueError) as exc:
        raise SigningRefused(f"URL {url!r} cannot be sent: {exc}") from None


def sign_request(  # noqa: PLR0917 - the order of signed_headers, the contract's
    partner_id: str,
    method: str,
    url: str,
    body: bytes | None,
    content_type: str | None,
    key: SigningKey,
    algorithm: str = HMAC_SHA256,
    *,
    now: float | None = None,
    nonce: str | None = None,
) -> SignedRequest:
    """``method url`` with ``body`` (None: no body), signed by ``partner_id``'s ``key``.

    ``now`` (epoch seconds, default the clock) is the ``created`` parameter and ``nonce``
    (default a fresh one) the ``nonce``: tests pass both to make stale or replayed
    requests on purpose.
    """
    keyid = _partner(partner_id)
    chosen = _algorithm(algorithm, key)
    if body is not None and not isinstance(body, bytes):
        raise SigningRefused("the body is bytes (None for no body)")
    chosen_nonce = new_nonce() if nonce is None else nonce
    if not isinstance(chosen_nonce, str) or not NONCE.fullmatch(chosen_nonce):
        raise SigningRefused("a nonce is 16 to 128 of A-Z a-z 0-9 - . _ ~ + / =")
    created = datetime.datetime.fromtimestamp(time.time() if now is None else now, tz=datetime.UTC)
    prepared = _prepared(method, url, body, content_type)
    signer = HTTPMessageSigner(
        signature_algorithm=chosen,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={keyid: key}),
    )
    try:
        signer.sign(
            prepared,
            key_id=keyid,
            created=created,
            nonce=chosen_nonce,
            label=LABEL,
            covered_component_ids=BARE_COMPONENTS if body is None else BODY_COMPONENTS,
            body=body,
        )
    except HTTPMessageSignaturesException as exc:
        # The library's messages name components (a URL that is not ASCII), not keys.
        raise SigningRefused(f"the request cannot be signed: {exc}") from None
    names = ("Content-Type", "Content-Digest", "Signature-Input", "Signature")
    headers = {name: str(prepared.headers[name]) for name in names if name in prepared.headers}
    return SignedRequest(str(prepared.method), str(prepared.url), headers, body)


def signed_headers(  # noqa: PLR0917 - the signature the partner contract gives
    partner_id: str,
    method: str,
    url: str,
    body: bytes | None,
    content_type: str | None,
    key: SigningKey,
    algorithm: str,
    *,
    now: float | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers that sign ``method url`` with ``body`` for ``partner_id``: Content-Type
    and Content-Digest (with a body), Signature-Input and Signature.

    Send them with the same method, URL and body bytes: ``requests.post(url, data=body,
    headers=signed_headers(...))``. The URL must be one requests sends as given (an ASCII
    URL with a path): :func:`sign_request` gives the URL as signed otherwise.
    """
    signed = sign_request(
        partner_id, method, url, body, content_type, key, algorithm, now=now, nonce=nonce
    )
    return dict(signed.headers)


def curl_command(request: SignedRequest, options: Sequence[str] = ()) -> str:
    """One shell line that sends ``request`` with curl, each word quoted for a POSIX shell.

    The body goes in as text: it must be UTF-8 without NUL (a shell word cannot hold
    one), and not start with ``@``, which curl would read as a file name.
    """
    words = ["curl", *options, "-X", request.method, request.url]
    for name, value in request.headers.items():
        words += ["-H", f"{name}: {value}"]
    if request.body is not None:
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise SigningRefused("a body printed in a shell line must be UTF-8 text") from None
        if "\x00" in text:
            raise SigningRefused("a body printed in a shell line cannot hold a NUL character")
        if text.startswith("@"):
            raise SigningRefused("a body starting with '@' would be read by curl as a file name")
        words += ["--data-binary", text]
    return shlex.join(words)
