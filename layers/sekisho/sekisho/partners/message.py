"""A partner's request as the verifier reads it: method, the URI it was sent to, its
headers (names in lower case) and the raw body bytes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SignedMessage:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes = b""
    # The certificate facts API Gateway passes over mutual TLS (requestContext.identity.
    # clientCert): subjectDN, serialNumber, ... ; None when the call came without one.
    client_cert: Mapping[str, object] | None = field(default=None)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def target_uri(*, scheme: str | None, host: str | None, path: str, query: str | None) -> str:
    """The URI a partner called, as it signed ``@target-uri``: the scheme the edge saw
    (https unless the local stack says otherwise), the Host header, the path as called
    (without the API's stage), and the raw query."""
    proto = (scheme or "https").lower()
    if proto not in ("https", "http"):
        proto = "https"
    uri = f"{proto}://{(host or '').lower()}{path}"
    return f"{uri}?{query}" if query else uri
