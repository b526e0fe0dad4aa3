"""Fixtures shared by every test layer."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from kintone_emulator import server

# Nothing under test may reach real AWS: fake credentials and a fixed region replace
# whatever the machine has, and no profile or session token can be picked up.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CONFIG_FILE"):
    os.environ.pop(_name, None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="ap-northeast-1",
    AWS_SHARED_CREDENTIALS_FILE=os.devnull,
)


@pytest.fixture(scope="session")
def emulator() -> Iterator[server.RunningEmulator]:
    """One local kintone on a free loopback port for the whole session."""
    with server.start() as running:
        yield running


@pytest.fixture
def kintone(emulator: server.RunningEmulator) -> server.RunningEmulator:
    """The local kintone, back at its seed state for this test."""
    emulator.reset()
    return emulator
