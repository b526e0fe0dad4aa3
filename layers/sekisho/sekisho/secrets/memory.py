"""An in-memory secret backend: the store's twin of Secrets Manager in tests."""

from __future__ import annotations

import threading

from botocore.exceptions import ClientError

from .backend import CURRENT


def client_error(code: str, operation: str) -> ClientError:
    """A ClientError shaped like the one boto3 raises for ``code``."""
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


class InMemorySecretBackend:
    """``{(name, stage): SecretString}`` with Secrets Manager's failure surface.

    Set ``fail`` to simulate an outage (``fail_code`` picks the error, e.g.
    ``AccessDeniedException``); ``calls`` counts fetches so tests can see the cache work.
    """

    def __init__(self) -> None:
        self._values: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()
        self.fail = False
        self.fail_code = "InternalServiceError"
        self.calls = 0

    def put(self, name: str, value: str, stage: str = CURRENT) -> None:
        with self._lock:
            self._values[(name, stage)] = value

    def delete(self, name: str, stage: str = CURRENT) -> None:
        with self._lock:
            self._values.pop((name, stage), None)

    def fetch(self, name: str, stage: str) -> str:
        with self._lock:
            self.calls += 1
            if self.fail:
                raise client_error(self.fail_code, "GetSecretValue")
            try:
                return self._values[(name, stage)]
            except KeyError as exc:
                raise client_error("ResourceNotFoundException", "GetSecretValue") from exc

    def __repr__(self) -> str:
        return f"{type(self).__name__}(entries={len(self._values)}, calls={self.calls})"
