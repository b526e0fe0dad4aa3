"""moto's server process: a listening socket bound by the stack, and the server moto runs
on it (keep-alive, two constant answers cached). Only this process imports moto."""

from __future__ import annotations

import functools
import io
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import threading
import time
from typing import Any, ClassVar

from . import profiling

log = logging.getLogger(__name__)


def listen(host: str, port: int) -> socket.socket:
    """The bound, listening socket moto serves on: bound here, so a port that cannot be
    bound is this process's OSError, and the port is known before moto has started."""
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        # As http.server does: a port of a stack that just stopped is free at once.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
    except OSError as exc:
        listener.close()
        raise OSError(f"moto cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return listener


_NO_BODY = frozenset({204, 304})


def _keep_alive_handler(base: type) -> type:
    """werkzeug's request handler (`base`, moto's subclass of it), keeping connections open.

    werkzeug's development server closes every connection after one answer, and then waits
    up to 10 ms for the client to hang up; every boto3 call of a worker paid a new TCP
    connection, a new server thread and that wait. Here the whole request body is read
    before the application runs, so the next request on the connection starts where it
    should, and the answer carries its length.
    """

    class KeepAliveHandler(base):
        protocol_version = "HTTP/1.1"
        # Headers and body leave in separate writes; with Nagle on, a keep-alive client's
        # delayed ACK would add about 40 ms to an answer.
        disable_nagle_algorithm = True

        def run_wsgi(self) -> None:
            if not profiling.active():
                self._run_wsgi()
                return
            started = time.thread_time()
            self._run_wsgi()
            target = self.headers.get("X-Amz-Target") or f"{self.command} {self.path[:40]}"
            profiling.tally(target, time.thread_time() - started)

        def _run_wsgi(self) -> None:
            if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            environ = self.make_environ()
            body = self._body(environ)
            if body is None:
                self.close_connection = True
                self.send_error(400, "Bad Content-Length")
                return
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            environ.pop("wsgi.input_terminated", None)
            status, headers, payload = self._call(environ)
            self._answer(status, headers, payload)

        def _body(self, environ: dict[str, Any]) -> bytes | None:
            if environ.get("wsgi.input_terminated"):
                # Chunked: werkzeug's reader decodes it; what follows the last chunk is
                # not ours to parse, so this connection ends with the answer.
                self.close_connection = True
                return environ["wsgi.input"].read()
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                return None
            return self.rfile.read(length) if length >= 0 else None

        def _call(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
            started: list[Any] = []
            chunks: list[bytes] = []

            def start_response(status: str, headers: list, exc_info: Any = None) -> Any:
                started[:] = [status, headers]
                return chunks.append

            try:
                result = self.server.app(environ, start_response)
                try:
                    chunks.extend(result)
                finally:
                    if hasattr(result, "close"):
                        result.close()
            except Exception:
                log.exception("moto failed on %s %s", self.command, self.path)
                return "500 Internal Server Error", [("Content-Type", "text/plain")], b""
            return started[0], started[1], b"".join(chunks)

        def _answer(self, status: str, headers: list[tuple[str, str]], payload: bytes) -> None:
            code_text, _, reason = status.partition(" ")
            code = int(code_text)
            bodiless = self.command == "HEAD" or code in _NO_BODY or code < 200
            self.send_response(code, reason)
            for name, value in headers:
                lowered = name.lower()
                # A HEAD answer keeps the length of what a GET would have sent.
                if lowered == "content-length" and not bodiless:
                    continue
                if lowered not in ("connection", "transfer-encoding"):
                    self.send_header(name, value)
            if not bodiless:
                self.send_header("Content-Length", str(len(payload)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if not bodiless:
                self.wfile.write(payload)

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass  # a line per request costs more than some of the requests

    return KeepAliveHandler


def serve(listener: socket.socket, host: str) -> None:
    """The moto process's main function: serve on `listener` until the stack stops or dies."""
    # Ctrl-C reaches the whole process group; the stack stops moto itself, after a reset.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if profiling.install("moto"):
        profiling.exit_on_sigterm()
    # Imported here: only this process pays for moto.
    import moto.core.responses  # noqa: PLC0415
    from moto.core.utils import unix_time  # noqa: PLC0415
    from moto.moto_server.werkzeug_app import (  # noqa: PLC0415
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from moto.sqs.models import SQSBackend  # noqa: PLC0415
    from werkzeug.serving import make_server  # noqa: PLC0415

    from . import moto_dynamodb, moto_sqs  # noqa: PLC0415

    moto_sqs.fit(SQSBackend, unix_time)
    moto_dynamodb.fit()

    # moto is the one process every request of the stack reaches (the guard's counters,
    # idempotency records): two of its per-request costs are answers that never change.
    # It lists a handler class's methods with `inspect` on every call...
    moto.core.responses.method_names_from_class = functools.cache(
        moto.core.responses.method_names_from_class
    )

    class Dispatcher(DomainDispatcherApplication):
        # ...and finds a request's backend by listing its own package directory.
        def get_backend_for_host(self, host: str | None) -> Any:
            if host not in self.known_hosts:
                self.known_hosts[host] = super().get_backend_for_host(host)
            return self.known_hosts[host]

        known_hosts: ClassVar[dict[str | None, Any]] = {}

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = Dispatcher(create_backend_app)
    port = listener.getsockname()[1]
    server = make_server(
        host,
        port,
        app,
        threaded=True,
        request_handler=_keep_alive_handler(MotoRequestHandler),
        fd=listener.fileno(),
    )
    listener.close()  # the server holds its own duplicate
    server.daemon_threads = True
    parent = multiprocessing.parent_process()
    if parent is not None:
        # A stack killed without stopping must not leave moto serving the demo secrets.
        def orphaned() -> None:
            multiprocessing.connection.wait([parent.sentinel])
            os._exit(0)

        threading.Thread(target=orphaned, daemon=True).start()
    server.serve_forever()
