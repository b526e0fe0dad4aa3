"""moto's server, in a thread of this process, as the stack's whole AWS."""

from __future__ import annotations

import os
from typing import Any

import boto3
import botocore.session
import requests
from botocore.config import Config
from moto.server import ThreadedMotoServer

from .cfn import REGION

FAKE_ACCESS_KEY = "testing"
FAKE_SECRET_KEY = "testing"  # noqa: S105 - moto's fake credentials, not a secret
# No profile, config or credentials file of the developer's can divert these clients (a
# profile that exists nowhere would even make creating one fail).
_ISOLATED_SESSION_VARS = {
    "profile": (None, None, None, None),
    "config_file": (None, None, os.devnull, None),
    "credentials_file": (None, None, os.devnull, None),
}


def moto_client(url: str, service: str) -> Any:
    """A boto3 client of the moto server at `url`, and of nothing else."""
    return boto3.session.Session(
        aws_access_key_id=FAKE_ACCESS_KEY,
        aws_secret_access_key=FAKE_SECRET_KEY,
        region_name=REGION,
        botocore_session=botocore.session.Session(session_vars=_ISOLATED_SESSION_VARS),
    ).client(service, endpoint_url=url, config=Config(retries={"max_attempts": 2}))


class _MotoServer(ThreadedMotoServer):
    """Reports a port that cannot be bound instead of leaving `start()` waiting forever."""

    bind_error: BaseException | None = None

    def _server_entry(self) -> None:
        try:
            super()._server_entry()
        except (OSError, SystemExit) as exc:
            # werkzeug prints the reason and raises SystemExit when the port is taken.
            self.bind_error = exc
            self._server_ready_event.set()


class Moto:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _MotoServer(ip_address=host, port=port, verbose=False)
        self._server.start()
        if self._server.bind_error is not None:
            raise OSError(f"moto cannot listen on {host}:{port}") from self._server.bind_error
        bound_host, bound_port = self._server.get_host_and_port()
        url_host = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.url = f"http://{url_host}:{bound_port}"
        # moto's backends are global to this process and outlive a server: start from
        # nothing, and leave nothing behind for whatever else in the process uses moto.
        self._reset()

    def _reset(self) -> None:
        with requests.Session() as http:
            http.trust_env = False
            http.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()

    def client(self, service: str) -> Any:
        return moto_client(self.url, service)

    def environment(self) -> dict[str, str]:
        """What points a process's boto3 at this server and nowhere else."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
        }

    def stop(self) -> None:
        try:
            self._reset()
        finally:
            self._server.stop()
