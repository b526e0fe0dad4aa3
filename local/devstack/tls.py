"""The local stack's HTTPS listener: mutual TLS against the test CA, the same router.

API Gateway's custom domain with mutual TLS refuses a handshake without a client
certificate that chains to its truststore, and hands the function the certificate's facts;
this listener does both with python's ssl and the CA of `devstack.pki`.
"""

from __future__ import annotations

import logging
import socket
import ssl
from typing import Any

from .pki import client_cert_facts
from .router import RouterHTTPServer

log = logging.getLogger(__name__)

# A client that connects and never finishes its handshake holds one thread this long.
HANDSHAKE_SECONDS = 10.0


class TlsRouterHTTPServer(RouterHTTPServer):
    """Accepts TCP, then shakes hands in the connection's own thread: a slow or refused
    handshake never holds up the accepting loop."""

    def __init__(self, address: tuple[str, int], context: ssl.SSLContext) -> None:
        super().__init__(address)
        self.context = context

    def finish_request(self, request: Any, client_address: Any) -> None:
        raw: socket.socket = request
        raw.settimeout(HANDSHAKE_SECONDS)
        try:
            connection = self.context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            # No certificate, another CA's, an old protocol: API Gateway answers no HTTP
            # either. The reason is the handshake's, never a certificate's contents.
            log.info("TLS handshake from %s refused: %s", client_address[0], _reason(exc))
            return
        try:
            connection.settimeout(None)
            self.RequestHandlerClass(connection, client_address, self)
        finally:
            connection.close()

    def connection_facts(self, connection: Any) -> dict[str, Any]:
        der = (
            connection.getpeercert(binary_form=True)
            if isinstance(connection, ssl.SSLSocket)
            else None
        )
        return {"scheme": "https", "client_cert": client_cert_facts(der) if der else None}


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return exc.reason or type(exc).__name__
    return type(exc).__name__
