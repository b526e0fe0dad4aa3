"""sekisho's verifier against RFC 9421's own test vectors (appendix B.2.5, hmac-sha256, and
B.2.6, ed25519): an independent signer, the RFC's authors, on the RFC's test request."""

from __future__ import annotations

import base64

import pytest

from sekisho.partners.message import SignedMessage
from sekisho.partners.signature import verifies

# -- the verifier against RFC 9421's own test vectors (appendix B.2.5 and B.2.6) --------------

RFC_URL = "https://example.com/foo?param=Value&Pet=dog"
RFC_HEADERS = {
    "host": "example.com",
    "date": "Tue, 20 Apr 2021 02:07:55 GMT",
    "content-type": "application/json",
    "content-digest": "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNN"
    "yealdVLvRwEmTHWXvJwew==:",
    "content-length": "18",
}
RFC_SHARED_SECRET = base64.b64decode(
    "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ=="
)
RFC_ED25519_PUBLIC = (
    b"-----BEGIN PUBLIC KEY-----\n"
    b"MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n"
    b"-----END PUBLIC KEY-----\n"
)
VECTORS = {
    "B.2.5 hmac-sha256": (
        "hmac-sha256",
        "test-shared-secret",
        RFC_SHARED_SECRET,
        'sig-b25=("date" "@authority" "content-type")'
        ';created=1618884473;keyid="test-shared-secret"',
        "sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:",
    ),
    "B.2.6 ed25519": (
        "ed25519",
        "test-key-ed25519",
        RFC_ED25519_PUBLIC,
        'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length")'
        ';created=1618884473;keyid="test-key-ed25519"',
        "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:",
    ),
}


def rfc_request(signature_input: str, signature: str) -> SignedMessage:
    headers = {**RFC_HEADERS, "signature-input": signature_input, "signature": signature}
    return SignedMessage("POST", RFC_URL, headers, b'{"hello": "world"}')


@pytest.mark.parametrize("vector", sorted(VECTORS))
def test_the_rfcs_own_signatures_verify_with_sekishos_verifier(vector):
    algorithm, keyid, key, signature_input, signature = VECTORS[vector]

    assert verifies(
        rfc_request(signature_input, signature),
        algorithm=algorithm,
        key=key,
        keyid=keyid,
        now=1618884473,
    )


@pytest.mark.parametrize("vector", sorted(VECTORS))
def test_the_rfcs_signatures_do_not_verify_over_another_message(vector):
    algorithm, keyid, key, signature_input, signature = VECTORS[vector]
    request = rfc_request(signature_input, signature)
    changed = SignedMessage(
        request.method, request.url, {**request.headers, "content-type": "text/plain"}, request.body
    )

    assert not verifies(changed, algorithm=algorithm, key=key, keyid=keyid, now=1618884473)
