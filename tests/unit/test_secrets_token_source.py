"""A kintone token source over the secret store, with the client's GAIA_IA02 refresh."""

from __future__ import annotations

import json

import pytest
import requests

from sekisho.kintone.breaker import CircuitBreaker
from sekisho.kintone.client import KintoneClient
from sekisho.kintone.errors import KintoneInvalidToken
from sekisho.kintone.retry import RetryPolicy
from sekisho.secrets.errors import SecretMalformed
from sekisho.secrets.memory import InMemorySecretBackend
from sekisho.secrets.store import SecretStore

NAME = "sekisho/kintone/deals-view"
ROTATED = "deals-view-token-rotated"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def backend() -> InMemorySecretBackend:
    backend = InMemorySecretBackend()
    backend.put(NAME, json.dumps({"kind": "kintone-token", "token": "deals-view-token"}))
    return backend


@pytest.fixture
def store(backend) -> SecretStore:
    return SecretStore(backend, allowed=[NAME], clock=Clock())


def test_current_reads_the_token_field_of_the_secret(store):
    assert store.token_source(NAME).current() == "deals-view-token"


def test_current_reads_another_key_when_told(store, backend):
    backend.put(NAME, json.dumps({"kind": "other", "api_token": "x-token"}))
    assert store.token_source(NAME, key="api_token").current() == "x-token"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"kind": "kintone-token"}, id="no-token"),
        pytest.param({"kind": "kintone-token", "token": ""}, id="empty-token"),
        pytest.param({"kind": "kintone-token", "token": ["secret-list-value"]}, id="list-token"),
    ],
)
def test_secret_without_a_usable_token_is_malformed(store, backend, value):
    backend.put(NAME, json.dumps(value))
    with pytest.raises(SecretMalformed) as caught:
        store.token_source(NAME).current()
    assert "secret-list-value" not in str(caught.value)


def test_refresh_of_the_source_refreshes_the_secret(store, backend):
    source = store.token_source(NAME)
    source.current()
    backend.put(NAME, json.dumps({"kind": "kintone-token", "token": ROTATED}))
    assert source.refresh() is True
    assert source.current() == ROTATED


# -- against the local kintone ----------------------------------------------------------


def admin(kintone, method: str, path: str, payload: dict) -> None:
    response = requests.request(method, f"{kintone.url}/_emulator/{path}", json=payload, timeout=5)
    response.raise_for_status()


def requests_served(kintone) -> int:
    return requests.get(f"{kintone.url}/_emulator/stats", timeout=5).json()["requests"]


def client(kintone, store) -> KintoneClient:
    return KintoneClient(
        kintone.url,
        store.token_source(NAME),
        retry=RetryPolicy(max_attempts=1),
        breaker=CircuitBreaker(failure_threshold=100),
    )


def rotate(kintone, backend) -> None:
    """What an operator does: a new token in kintone and the secret, the old one revoked."""
    admin(kintone, "POST", "tokens", {"token": ROTATED, "app": 1, "permissions": ["view"]})
    backend.put(NAME, json.dumps({"kind": "kintone-token", "token": ROTATED}))
    admin(kintone, "DELETE", "tokens", {"token": "deals-view-token"})


@pytest.mark.emulator
def test_revoked_token_is_replaced_by_one_refresh_and_one_retry(kintone, store, backend):
    kintone_client = client(kintone, store)
    kintone_client.get_records(1, '取引ID = "D000001"')
    rotate(kintone, backend)
    served = requests_served(kintone)

    page = kintone_client.get_records(1, '取引ID = "D000002"', fields=["取引ID"])

    assert [r["取引ID"]["value"] for r in page.records] == ["D000002"]
    assert backend.calls == 2
    assert requests_served(kintone) - served == 2  # the refused call and its one retry


@pytest.mark.emulator
def test_a_token_that_stays_invalid_costs_no_second_secret_read_within_the_interval(
    kintone, store, backend
):
    kintone_client = client(kintone, store)
    kintone_client.get_records(1, '取引ID = "D000001"')
    admin(kintone, "DELETE", "tokens", {"token": "deals-view-token"})

    for _ in range(3):
        with pytest.raises(KintoneInvalidToken):
            kintone_client.get_records(1, '取引ID = "D000001"')

    assert backend.calls == 2
