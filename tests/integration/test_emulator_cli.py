"""`kintone-emulator` / `python -m kintone_emulator`, started the way a developer starts it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from kintone_emulator.__main__ import main

pytestmark = pytest.mark.emulator

LOCAL = Path(__file__).resolve().parents[2] / "local"


def emulator_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "kintone_emulator", *args]


def child_env() -> dict[str, str]:
    # Importable even where the project is not installed in the interpreter.
    path = os.pathsep.join(filter(None, [str(LOCAL), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def serving(port: int) -> Iterator[subprocess.Popen[str]]:
    # The port comes from KINTONE_PORT, as with `make kintone`.
    child = subprocess.Popen(
        emulator_command(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**child_env(), "KINTONE_PORT": str(port)},
    )
    # Reading its output must never hang the suite.
    watchdog = threading.Timer(20, child.kill)
    watchdog.start()
    yield child
    watchdog.cancel()
    if child.poll() is None:
        child.kill()
        child.wait(5)


def test_help_describes_the_options() -> None:
    done = subprocess.run(
        emulator_command("--help"),
        capture_output=True,
        text=True,
        timeout=20,
        env=child_env(),
        check=False,
    )

    assert done.returncode == 0
    for option in ("--host", "--port", "--seed", "--db", "--allow-remote"):
        assert option in done.stdout


def test_started_emulator_prints_how_to_call_it_and_stops_on_sigterm(
    serving: subprocess.Popen[str], port: int
) -> None:
    assert serving.stdout is not None
    lines = []
    for line in serving.stdout:
        lines.append(line)
        if "Ctrl-C" in line:
            break
    how_to = "".join(lines)
    base_url = f"http://127.0.0.1:{port}"
    assert base_url in how_to
    assert "1 deals" in how_to
    assert "deals-view-token" in how_to
    assert "/k/v1/records.json" in how_to

    with requests.Session() as http:
        http.trust_env = False
        answer = http.get(
            base_url + "/k/v1/records.json",
            params={"app": 1},
            headers={"X-Cybozu-API-Token": "deals-view-token"},
            timeout=10,
        )
    serving.send_signal(signal.SIGTERM)

    assert answer.status_code == 200
    assert serving.wait(10) == 0


def test_non_loopback_host_is_refused_without_allow_remote(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--host", "0.0.0.0", "--port", "0"]) == 2  # noqa: S104 - the refused case
    assert "--allow-remote" in capsys.readouterr().err
