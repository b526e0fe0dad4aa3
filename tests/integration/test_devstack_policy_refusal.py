"""A local stack whose policy does not validate starts nothing: exit 2, `sekisho check`'s errors.

Every port the stack would bind is held by the test while it runs: a stack that started
anything would fail on the first of them (exit 1, "cannot start the local stack"), so an
exit status of 2 with the policy's errors shows that it refused before binding a port.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack import stack as devstack
from sekisho.cli import main as sekisho_main
from sekisho.policy import PolicyError

REPO = Path(__file__).resolve().parents[2]
# Wrong in several ways (an app keyed by a name, a view without its app, token or match),
# each one an `error:` line of `sekisho check`.
BAD_POLICY = """\
version: 1
apps:
  deals:
    id: not-a-number
views:
  deal-status:
    fields: [取引ID]
"""


@pytest.fixture
def held_ports() -> Iterator[tuple[int, int, int]]:
    sockets = []
    for _ in range(3):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        sockets.append(sock)
    try:
        router, moto, kintone = (sock.getsockname()[1] for sock in sockets)
        yield router, moto, kintone
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture
def bad_policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(BAD_POLICY, encoding="utf-8")
    return path


def check_errors(policy: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The `error:` lines `sekisho check` prints for the policy."""
    assert sekisho_main(["check", str(policy)]) == 1
    lines = capsys.readouterr().out.splitlines()
    return [line for line in lines if line.startswith("error: ")]


def test_python_m_devstack_with_a_policy_that_does_not_validate_exits_2_before_binding_a_port(
    bad_policy: Path, held_ports: tuple[int, int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    expected = check_errors(bad_policy, capsys)
    assert expected, "the policy of this test must not validate"
    router, moto, kintone = held_ports

    started = time.monotonic()
    ran = subprocess.run(
        [
            sys.executable, "-m", "devstack", "--repo-root", str(REPO),
            "--policy", str(bad_policy), "--port", str(router),
            "--moto-port", str(moto), "--kintone-port", str(kintone),
        ],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    elapsed = time.monotonic() - started

    assert ran.returncode == 2, ran.stderr
    errors = [line for line in ran.stderr.splitlines() if line.startswith("error: ")]
    assert errors == expected
    assert f"refusing to start: {bad_policy} does not validate" in ran.stderr
    assert "cannot start the local stack" not in ran.stderr
    assert ran.stdout == ""  # no banner
    assert elapsed < 60


def test_python_m_devstack_refuses_a_policy_file_that_does_not_exist(
    tmp_path: Path, held_ports: tuple[int, int, int]
) -> None:
    missing = tmp_path / "nowhere.yaml"
    router, moto, kintone = held_ports

    ran = subprocess.run(
        [
            sys.executable, "-m", "devstack", "--repo-root", str(REPO),
            "--policy", str(missing), "--port", str(router),
            "--moto-port", str(moto), "--kintone-port", str(kintone),
        ],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert ran.returncode == 2, ran.stderr
    assert f"error: {missing}: the file does not exist" in ran.stderr.splitlines()


def test_start_raises_the_policy_error_before_binding_a_port(
    bad_policy: Path, held_ports: tuple[int, int, int]
) -> None:
    router, moto, kintone = held_ports

    with pytest.raises(PolicyError) as caught:
        devstack.start(
            repo_root=REPO,
            policy=bad_policy,
            router_port=router,
            moto_port=moto,
            kintone_port=kintone,
            pump=False,
        )

    assert caught.value.source == bad_policy.resolve()
    assert len(caught.value.issues) >= 2
