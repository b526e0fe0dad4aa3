"""The fault rehearsal's outage switch: a forwarder that is either a transparent path to
its target or an endpoint that refuses connections and resets the open ones."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from devstack.fault_proxy import FaultProxy


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(1024):
            self.request.sendall(data)


@pytest.fixture
def echo() -> Iterator[tuple[str, int]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[:2]
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(echo: tuple[str, int]) -> Iterator[FaultProxy]:
    with FaultProxy(echo) as running:
        yield running


def exchange(port: int, message: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(message)
        return sock.recv(1024)


def test_while_up_the_proxy_forwards_both_ways(proxy: FaultProxy) -> None:
    assert exchange(proxy.port, b"ping") == b"ping"
    assert not proxy.is_down


def test_while_down_new_connections_are_refused(proxy: FaultProxy) -> None:
    proxy.down()

    with pytest.raises(ConnectionRefusedError):
        exchange(proxy.port, b"ping")


def test_going_down_resets_the_connections_it_carries(proxy: FaultProxy) -> None:
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
        sock.sendall(b"one")
        assert sock.recv(1024) == b"one"

        proxy.down()

        # The reset may meet the write or the read that follows it.
        with pytest.raises((ConnectionResetError, BrokenPipeError)):
            sock.sendall(b"two") or sock.recv(1024)


def test_back_up_it_serves_again_on_the_same_port(proxy: FaultProxy) -> None:
    port = proxy.port
    proxy.down()
    proxy.up()

    assert proxy.port == port
    assert exchange(port, b"again") == b"again"
