"""Each route's kintone client, made once per container and shared by its requests."""

from __future__ import annotations

import threading
from collections.abc import Callable

from .client import KintoneClient


class ClientsByToken:
    """One client per token secret name, made on first use (thread-safe)."""

    def __init__(self, make: Callable[[str], KintoneClient]) -> None:
        self._make = make
        self._clients: dict[str, KintoneClient] = {}
        self._lock = threading.Lock()

    def __call__(self, token_secret: str) -> KintoneClient:
        with self._lock:
            client = self._clients.get(token_secret)
            if client is None:
                client = self._clients[token_secret] = self._make(token_secret)
            return client
