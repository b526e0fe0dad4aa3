"""The emulator's HTTP server, and `start()` for tests and the dev stack.

What happens to a kintone request, in order: maintenance page, concurrency slot, an
injected 429 (a refusal, answered at once), injected latency, an injected 503, the route;
then the answer may be lost (an injected reset, or a stall and then a reset). Admin paths
skip all of it.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

from . import admin, api
from .control import TIMEOUT, Controls, Slot
from .emulator import Emulator
from .errors import KintoneApiError
from .schema import DEFAULT_SEED, load_seed
from .store import Store
from .webhooks import Webhooks
from .wire import Request, Response, error_response, json_response

log = logging.getLogger(__name__)

KINTONE_PREFIX = "/k/"
MAINTENANCE_PAGE = b"kintone is under maintenance. Please try again later.\n"
# Room for the largest direct upload the relay takes (100 MB) and its multipart framing;
# kintone's own per-file limit is far above it.
MAX_BODY_BYTES = 128 * 1024 * 1024


def too_many_requests() -> KintoneApiError:
    return KintoneApiError(
        429,
        "GAIA_TO04",
        "The number of concurrent requests exceeds the limit.",
        headers={"X-Cybozu-Error": "GAIA_TO04"},
    )


def maintenance_page() -> Response:
    return Response(503, MAINTENANCE_PAGE, "text/plain; charset=utf-8")


def serve_kintone(emulator: Emulator, request: Request) -> Response:
    controls = emulator.controls
    if controls.maintenance:
        # The maintenance page comes from in front of kintone: plain text, no limit headers.
        answer = maintenance_page()
        controls.count(answer.status)
        return answer
    slot = controls.enter()
    try:
        answer = _within_slot(emulator, request, slot)
    finally:
        controls.leave(slot)
    controls.count(answer.status)
    answer.headers["X-ConcurrencyLimit-Limit"] = str(slot.limit)
    answer.headers["X-ConcurrencyLimit-Running"] = str(slot.running)
    return answer


def _within_slot(emulator: Emulator, request: Request, slot: Slot) -> Response:
    controls = emulator.controls
    if not slot.admitted:
        return error_response(too_many_requests())
    fault = controls.draw_fault()
    if fault == 429:
        # A refusal, like the cap's own: answered at once, before any work is done.
        return error_response(too_many_requests())
    # Sleeping while holding the slot lets a test push concurrency past the limit.
    latency_ms = controls.faults.latency_ms
    if latency_ms:
        time.sleep(latency_ms / 1000)
    if fault == 503:
        return maintenance_page()
    try:
        return api.route(request.method, request.path)(emulator, request)
    except KintoneApiError as exc:
        return error_response(exc)
    except Exception:
        # A bug in the emulator: answer kintone-style rather than drop the connection.
        log.exception("emulator failed on %s %s", request.method, request.path)
        return error_response(KintoneApiError(500, "CB_UN01", "An unexpected error occurred."))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kintone-emulator"
    sys_version = ""
    # Headers and body leave in separate writes; with Nagle on, a keep-alive client's
    # delayed ACK would add about 40 ms to every answer.
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_OPTIONS(self) -> None:
        self._serve()

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            return
        path, _, query_string = self.path.partition("?")
        method = self.command
        headers = {name.lower(): value for name, value in self.headers.items()}
        override = headers.get("x-http-method-override", "").upper()
        if method == "POST" and override == "GET":
            method = "GET"
        request = Request(method, path, query_string, headers, body)
        emulator = self.server.emulator
        if path.startswith(admin.PREFIX):
            answer = admin.handle(emulator, request)
        elif path.startswith(KINTONE_PREFIX):
            answer = serve_kintone(emulator, request)
            broken = emulator.controls.draw_broken_connection()
            if broken is not None:
                self._break(broken, emulator.controls.faults.stall_ms)
                return
        else:
            answer = error_response(api.no_such_api())
        self._send(answer)

    def _break(self, fault: str, stall_ms: int) -> None:
        """Lose the answer: kintone did the work, the client learns nothing of it."""
        if fault == TIMEOUT:
            time.sleep(stall_ms / 1000)
        self.close_connection = True
        # Linger 0: close() sends RST. socketserver would shut the socket down first,
        # which is a FIN: an orderly end, not the reset a dropped connection gives.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def _read_body(self) -> bytes | None:
        """The whole body, so the connection can carry the next request."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self.close_connection = True
            self._send(json_response({"code": "CB_IJ01", "message": "Bad Content-Length."}, 400))
            return None
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes | None:
        chunks = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                size = -1
            total += size
            if size < 0 or total > MAX_BODY_BYTES:
                self.close_connection = True
                self._send(json_response({"code": "CB_IJ01", "message": "Bad chunk."}, 400))
                return None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _send(self, answer: Response) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Bursts of concurrent clients must reach the concurrency limit, not the accept queue.
    request_queue_size = 512

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        self.emulator = emulator
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that give up (timeouts in the concurrency tests) are not worth a traceback.
        log.debug("connection from %s ended abruptly", client_address, exc_info=True)


class RunningEmulator:
    """An emulator serving on a daemon thread until `stop()`."""

    _EXIT_TIMEOUT: ClassVar[float] = 5.0

    def __init__(self, httpd: EmulatorHTTPServer) -> None:
        self._httpd = httpd
        self.emulator = httpd.emulator
        host, port = httpd.server_address[:2]
        self.host = str(host)
        self.port = int(port)
        url_host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{url_host}:{self.port}"
        self.emulator.base_url = self.url
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()

    def reset(self) -> None:
        self.emulator.reset()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._thread.join(self._EXIT_TIMEOUT)
        self._httpd.server_close()
        self.emulator.close()

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def build(seed_path: str | Path = DEFAULT_SEED, db: str = ":memory:") -> Emulator:
    return Emulator(Store(load_seed(seed_path), db), Controls(), Webhooks())


def start(
    seed_path: str | Path = DEFAULT_SEED,
    host: str = "127.0.0.1",
    port: int = 0,
    db: str = ":memory:",
) -> RunningEmulator:
    emulator = build(seed_path, db)
    try:
        httpd = EmulatorHTTPServer((host, port), emulator)
    except OSError:
        emulator.close()
        raise
    return RunningEmulator(httpd)
