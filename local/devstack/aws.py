"""moto's server, in a process of its own, as the stack's whole AWS."""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

import boto3
import botocore.session
import requests
from botocore.config import Config

from .cfn import REGION
from .moto_process import listen, serve

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


# moto's first request imports the service's backend; a slow machine takes seconds.
_READY_TIMEOUT = 60.0
_EXIT_TIMEOUT = 5.0


class Moto:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        listener = listen(host, port)
        try:
            bound_host, bound_port = listener.getsockname()[:2]
            context = multiprocessing.get_context("spawn")
            self._process = context.Process(
                target=serve, args=(listener, host), name="devstack-moto", daemon=True
            )
            self._process.start()
        finally:
            # The child has its own copy; connections wait in the backlog until it serves.
            listener.close()
        url_host = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.url = f"http://{url_host}:{bound_port}"
        try:
            # Answered once moto serves. A fresh process holds nothing yet; the reset is
            # kept so that a stack never starts from anything but nothing.
            self._reset(_READY_TIMEOUT)
        except BaseException:
            self._end()
            raise

    def _reset(self, timeout: float = 10) -> None:
        with requests.Session() as http:
            http.trust_env = False
            try:
                answer = http.post(f"{self.url}/moto-api/reset", timeout=timeout)
            except requests.ConnectionError as exc:
                raise OSError(f"moto at {self.url} is not serving") from exc
            answer.raise_for_status()

    @property
    def pid(self) -> int | None:
        return self._process.pid

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

    def alive(self) -> bool:
        return self._process.is_alive()

    def stop(self) -> None:
        try:
            if self._process.is_alive():
                # Emptied before it exits: a client still connected gets nothing of this
                # stack's secrets in between.
                self._reset()
        finally:
            self._end()

    def _end(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(_EXIT_TIMEOUT)
        if self._process.is_alive():
            self._process.kill()
        self._process.join(_EXIT_TIMEOUT)
