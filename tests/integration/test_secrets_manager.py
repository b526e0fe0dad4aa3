"""The Secrets Manager backend against moto: stages, failures, and the store on top."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws
from moto.server import ThreadedMotoServer

from sekisho import aws
from sekisho.secrets.aws import SecretsManagerBackend, secretsmanager_client
from sekisho.secrets.backend import CURRENT, PREVIOUS
from sekisho.secrets.errors import (
    SecretMalformed,
    SecretMissing,
    SecretStageMissing,
    SecretUnavailable,
)
from sekisho.secrets.store import SecretStore

NAME = "sekisho/kintone/deals-view"
HASH_KEY = "sekisho/guard/hash-key"
FIRST = {"kind": "kintone-token", "token": "integration-token-first"}
SECOND = {"kind": "kintone-token", "token": "integration-token-second"}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("secretsmanager")


@pytest.fixture
def backend(client) -> SecretsManagerBackend:
    client.create_secret(Name=NAME, SecretString=json.dumps(FIRST))
    return SecretsManagerBackend(client)


def rotate(client) -> None:
    client.put_secret_value(SecretId=NAME, SecretString=json.dumps(SECOND))


def test_awscurrent_is_the_stored_secret_string(backend):
    assert json.loads(backend.fetch(NAME, CURRENT)) == FIRST


def test_after_a_new_value_awscurrent_is_new_and_awsprevious_is_old(backend, client):
    rotate(client)
    assert json.loads(backend.fetch(NAME, CURRENT)) == SECOND
    assert json.loads(backend.fetch(NAME, PREVIOUS)) == FIRST


def test_store_reads_both_stages_through_secrets_manager(backend, client):
    rotate(client)
    store = SecretStore(backend, allowed=[NAME])
    assert store.get(NAME) == SECOND
    assert store.get_stage(NAME, PREVIOUS) == FIRST


def test_store_refresh_picks_up_a_rotation_at_once(backend, client):
    store = SecretStore(backend, allowed=[NAME])
    assert store.get(NAME) == FIRST
    rotate(client)
    assert store.get(NAME) == FIRST
    assert store.refresh(NAME) is True
    assert store.get(NAME) == SECOND


def test_a_secret_that_does_not_exist_is_a_configuration_error(backend):
    store = SecretStore(backend, allowed=[HASH_KEY])
    with pytest.raises(SecretMissing) as caught:
        store.get(HASH_KEY)
    assert not isinstance(caught.value, SecretStageMissing)


def test_awsprevious_before_the_first_rotation_is_a_missing_stage(backend):
    store = SecretStore(backend, allowed=[NAME])
    with pytest.raises(SecretStageMissing):
        store.get_stage(NAME, PREVIOUS)


def test_a_binary_secret_is_malformed(client):
    client.create_secret(Name=HASH_KEY, SecretBinary=b"\x00binary-secret")
    store = SecretStore(SecretsManagerBackend(client), allowed=[HASH_KEY])
    with pytest.raises(SecretMalformed) as caught:
        store.get(HASH_KEY)
    assert "binary-secret" not in str(caught.value)


# -- an unreachable Secrets Manager -----------------------------------------------------


class Switch:
    """A backend whose target a test can swap: Secrets Manager goes away mid-test."""

    def __init__(self, target: SecretsManagerBackend) -> None:
        self.target = target

    def fetch(self, name: str, stage: str) -> str:
        return self.target.fetch(name, stage)


def unreachable_client(url: str) -> Any:
    return boto3.client(
        "secretsmanager",
        endpoint_url=url,
        config=Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1}),
    )


def test_unreachable_secrets_manager_with_nothing_cached_is_unavailable(unused_loopback_url):
    store = SecretStore(
        SecretsManagerBackend(unreachable_client(unused_loopback_url)), allowed=[NAME]
    )
    with pytest.raises(SecretUnavailable):
        store.get(NAME)


def test_unreachable_secrets_manager_serves_the_cached_value(backend, unused_loopback_url, caplog):
    clock = Clock()
    switch = Switch(backend)
    store = SecretStore(switch, allowed=[NAME], clock=clock)
    store.get(NAME)
    switch.target = SecretsManagerBackend(unreachable_client(unused_loopback_url))
    clock.now = 301
    assert store.get(NAME) == FIRST
    [record] = [r for r in caplog.records if r.name == "sekisho.secrets.store"]
    assert record.secret_name == NAME
    assert record.error_code == "EndpointConnectionError"
    assert FIRST["token"] not in json.dumps(record.__dict__, default=str)


# -- the default client ---------------------------------------------------------------


@pytest.fixture
def moto_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def test_default_client_follows_aws_endpoint_url(moto_server, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    aws.client.cache_clear()
    try:
        boto3.client("secretsmanager", endpoint_url=moto_server).create_secret(
            Name=NAME, SecretString=json.dumps(FIRST)
        )
        assert SecretStore(SecretsManagerBackend(), allowed=[NAME]).get(NAME) == FIRST
        assert secretsmanager_client() is secretsmanager_client()
    finally:
        aws.client.cache_clear()
