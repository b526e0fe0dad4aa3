"""A TCP forwarder with an outage switch: one AWS service, as the functions reach it, can
be taken down while moto keeps serving everything else (and every other client).

`make chaos` puts one in front of moto for Secrets Manager (the workers' service endpoint
`AWS_ENDPOINT_URL_SECRETS_MANAGER` points at it): while it is down, its port refuses
connections and every connection it was carrying is reset, which is what a client sees of
an endpoint that is unreachable. The operator's side (the rotation driver, the stack's own
clients) keeps talking to moto directly.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
from types import TracebackType

log = logging.getLogger(__name__)

_CHUNK = 1 << 16


def _reset(sock: socket.socket) -> None:
    # Linger 0: close() sends RST, as a dropped path or a dead host's reboot does.
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class FaultProxy:
    """Forwards `host:port` (0: any free port) to `target`; `down()` and `up()` switch it."""

    def __init__(self, target: tuple[str, int], host: str = "127.0.0.1", port: int = 0) -> None:
        self._target = target
        self._host = host
        self._lock = threading.Lock()
        self._live: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._closed = False
        self.port = self._listen(port)
        self.url = f"http://{host}:{self.port}"

    @property
    def is_down(self) -> bool:
        return self._listener is None

    def _listen(self, port: int) -> int:
        listener = socket.socket(socket.AF_INET6 if ":" in self._host else socket.AF_INET)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self._host, port))
        listener.listen(128)
        bound = int(listener.getsockname()[1])
        self._listener = listener
        threading.Thread(
            target=self._accept, args=(listener,), name="fault-proxy", daemon=True
        ).start()
        return bound

    def down(self) -> None:
        """Unreachable from now: new connections are refused, open ones reset."""
        with self._lock:
            listener, self._listener = self._listener, None
            live, self._live = self._live, set()
        if listener is not None:
            # shutdown() wakes the accept() blocked on it; close() alone may not.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for sock in live:
            _reset(sock)

    def up(self) -> None:
        """Reachable again, on the same port."""
        with self._lock:
            if self._listener is not None or self._closed:
                return
        self._listen(self.port)

    def close(self) -> None:
        self._closed = True
        self.down()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # down() closed it
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:
                    _reset(client)
                    _reset(upstream)
                    continue
                self._live |= {client, upstream}
            ends = [2]  # directions still open; the last one closes both sockets
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pipe,
                    args=(source, sink, ends),
                    name="fault-proxy-pipe",
                    daemon=True,
                ).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, ends: list[int]) -> None:
        try:
            while chunk := source.recv(_CHUNK):
                sink.sendall(chunk)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
        with self._lock:
            ends[0] -= 1
            if ends[0]:
                return
            self._live -= {source, sink}
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
