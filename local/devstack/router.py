"""The local API Gateway: HTTP in, proxy events to the function workers, HTTP out."""

from __future__ import annotations

import dataclasses
import logging
import socket
import uuid
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from . import gateway
from .pool import FunctionPool, Outcome
from .proxy import HttpAnswer, HttpRequest, MalformedResponse, http_answer, proxy_event
from .resource_policy import invoke_arn, refuses
from .routing import RouteTable
from .sam import ApiSpec
from .static import static_answer

log = logging.getLogger(__name__)

# API Gateway's payload limit.
MAX_BODY_BYTES = 10 * 1024 * 1024
# A body somewhat over the limit is read and dropped so the client gets to read the 413;
# anything bigger is answered without reading and the connection closed.
_DRAIN_LIMIT = 2 * MAX_BODY_BYTES


class Router:
    """Decides each request's answer; the HTTP server around it only moves bytes."""

    def __init__(
        self,
        table: RouteTable,
        pools: Mapping[str, FunctionPool],
        default_api: ApiSpec | None,
        web_dir: Path | None,
    ) -> None:
        self.table = table
        self._pools = pools
        self._default_api = default_api
        self._web_dir = web_dir

    def answer(self, request: HttpRequest, request_id: str) -> HttpAnswer:
        match = self.table.match(request.method, request.path)
        if match is None:
            mock = self.table.mock(request.method, request.path)
            if mock is not None:
                # A resource's MOCK method (the template's 405 for a route's other methods).
                resource = invoke_arn(mock.api.api_id, mock.api.stage, request.method, request.path)
                if refuses(mock.api.policy, request.peer_ip, resource):
                    return gateway.gateway_answer(
                        gateway.ACCESS_DENIED, mock.api, request, request_id
                    )
                return gateway.mock_answer(mock, request, request_id)
            if request.method in ("GET", "HEAD") and self._web_dir is not None:
                page = static_answer(self._web_dir, request.path)
                if page is not None:
                    return page
            return self.gateway(gateway.MISSING_AUTHENTICATION_TOKEN, request, request_id)
        api = match.route.api
        # Path-scoped statements (the browser routes' allowlist, a webhook source's own)
        # are matched against the ARN API Gateway would evaluate.
        resource = invoke_arn(api.api_id, api.stage, request.method, request.path)
        if refuses(api.policy, request.peer_ip, resource):
            return gateway.gateway_answer(gateway.ACCESS_DENIED, api, request, request_id)
        # Lambda's request id is its own, distinct from API Gateway's.
        invocation = self._pools[match.route.function].invoke(
            proxy_event(request, match, request_id), str(uuid.uuid4())
        )
        if invocation.outcome is Outcome.TIMED_OUT:
            return gateway.gateway_answer(gateway.INTEGRATION_TIMEOUT, api, request, request_id)
        if invocation.outcome is not Outcome.OK:
            return gateway.gateway_answer(gateway.LAMBDA_FAILURE, api, request, request_id)
        try:
            answer = http_answer(invocation.result)
        except MalformedResponse as exc:
            log.error("%s returned a malformed proxy response: %s", match.route.function, exc)
            return gateway.gateway_answer(gateway.LAMBDA_FAILURE, api, request, request_id)
        answer.headers.append(("x-amzn-RequestId", request_id))
        return answer

    def gateway(self, kind: str, request: HttpRequest, request_id: str) -> HttpAnswer:
        return gateway.gateway_answer(kind, self._default_api, request, request_id)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sekisho-devstack"
    sys_version = ""
    disable_nagle_algorithm = True
    server: RouterHTTPServer

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_OPTIONS(self) -> None:
        self._serve()

    def __getattr__(self, name: str):
        # Any other method (TRACE, CONNECT, a made-up one) reaches no route, and API
        # Gateway answers it as it does an unknown route; http.server would send a 501
        # HTML page of its own.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _serve(self) -> None:
        router = self.server.router
        request_id = str(uuid.uuid4())
        request = HttpRequest(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=b"",
            peer_ip=str(self.client_address[0]),
            protocol=self.request_version,
            **self.server.connection_facts(self.connection),
        )
        body = self._read_body()
        if body is None:
            self.close_connection = True
            answer = router.gateway(gateway.REQUEST_TOO_LARGE, request, request_id)
        else:
            request = dataclasses.replace(request, body=body)
            answer = router.answer(request, request_id)
        log.info("%s %s -> %d", request.method, request.path, answer.status)
        self._send(answer)

    def _read_body(self) -> bytes | None:
        """The body, or None when it is over API Gateway's limit."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            return None
        if length > MAX_BODY_BYTES:
            if length <= _DRAIN_LIMIT:
                self._drain(length)
            return None
        return self.rfile.read(length)

    def _drain(self, length: int) -> None:
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 16))
            if not chunk:
                return
            length -= len(chunk)

    def _read_chunked(self) -> bytes | None:
        chunks, total = [], 0
        while True:
            try:
                size = int(self.rfile.readline(1024).split(b";")[0].strip(), 16)
            except ValueError:
                return None
            total += size
            if size < 0 or total > MAX_BODY_BYTES:
                return None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _send(self, answer: HttpAnswer) -> None:
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    def version_string(self) -> str:
        return self.server_version

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # http.server's access line quotes the request line, query string and all (a
        # kintone source's ?token=): _serve logs the path alone instead, at every level.
        return

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class RouterHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    # Set before serving starts: the server is bound first so the stack knows its port.
    router: Router

    def __init__(self, address: tuple[str, int]) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def connection_facts(self, connection: Any) -> dict[str, Any]:
        """What the connection itself says about a request (a TLS listener's scheme and
        client certificate); nothing on plain HTTP."""
        return {}

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended abruptly", client_address, exc_info=True)
