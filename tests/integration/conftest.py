"""HTTP plumbing for tests that talk to the local kintone emulator."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import requests
from moto.server import ThreadedMotoServer


@pytest.fixture(scope="session")
def http() -> Iterator[requests.Session]:
    """A session for loopback calls that no proxy setting in the environment can divert."""
    with requests.Session() as session:
        session.trust_env = False
        yield session


@pytest.fixture
def unused_loopback_url() -> str:
    """A loopback URL where nothing listens (the port was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """moto's server on a free loopback port, for code that reaches AWS through boto3
    with AWS_ENDPOINT_URL, as the local stack does."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def entries_table(moto_url: str) -> str:
    """A fresh entries table in moto, shaped as template.yaml's EntriesTable: its name."""
    import uuid  # noqa: PLC0415

    import boto3  # noqa: PLC0415

    name = f"EntriesTable-{uuid.uuid4().hex[:8]}"
    boto3.client("dynamodb", endpoint_url=moto_url).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name
