"""The guard's DynamoDB store against moto's server on loopback.

Counters must hold across containers: two processes talking to one moto server stand in
for two Lambda containers talking to one table.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from sekisho import aws
from sekisho.guard.dynamodb import DynamoGuardStore, dynamodb_client
from sekisho.guard.errors import GuardMisconfigured, GuardUnavailable
from sekisho.guard.guard import Guard

KEY = b"integration-hash-key-0123456789abcdef"
SCOPE = "view:deal-status"
IP = "198.51.100.20"
NOW = 1_800_000_100


@dataclass(frozen=True)
class Rate:
    count: int
    window_seconds: int


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- fixtures ---------------------------------------------------------------------------


class AtomicMotoServer:
    """moto's server app on loopback, applying one request at a time.

    DynamoDB applies each write to an item atomically; moto's ThreadedMotoServer does
    not (concurrent conditional creates of one item both succeed there, seen as counts
    1, 1, 2, 2, ...). Serialising requests restores the guarantee the guard relies on,
    while clients, threads and processes still race each other between requests.
    """

    def __init__(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)
        lock = threading.Lock()

        def one_at_a_time(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            with lock:
                return list(app(environ, start_response))

        self._server = make_server(
            "127.0.0.1", 0, one_at_a_time, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"

    def __enter__(self) -> AtomicMotoServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._thread.join(5)
        self._server.server_close()


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with AtomicMotoServer() as server:
        yield server.url


@pytest.fixture(scope="module")
def client(endpoint) -> Any:
    return boto3.client("dynamodb", endpoint_url=endpoint)


@pytest.fixture
def table(client) -> str:
    """A fresh GuardTable with the template's key schema and TTL attribute."""
    name = f"guard-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
    )
    return name


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def store(client, table, clock) -> DynamoGuardStore:
    return DynamoGuardStore(table, client, clock=clock)


@pytest.fixture(scope="module")
def other_container() -> Iterator[ProcessPoolExecutor]:
    """A second Python process, started fresh (spawn), like another Lambda container."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


def in_other_container(endpoint: str, table: str, steps: list[tuple[str, Any]]) -> list[Any]:
    """Runs in the child: the default client, pointed at moto only by AWS_ENDPOINT_URL."""
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    guard = Guard(DynamoGuardStore(table), hash_key=KEY, clock=lambda: NOW)
    results = []
    for method, args in steps:
        results.append(getattr(guard, method)(SCOPE, *args))
    return results


# -- across processes -------------------------------------------------------------------


def test_the_ip_limit_holds_across_two_processes(store, table, endpoint, clock, other_container):
    guard = Guard(store, hash_key=KEY, clock=clock)
    rate = Rate(3, 3600)
    here = [guard.allow_request(SCOPE, IP, rate) for _ in range(2)]
    there = other_container.submit(
        in_other_container, endpoint, table, [("allow_request", (IP, rate))] * 2
    ).result(timeout=60)
    assert here == [True, True]
    assert there == [True, False]
    assert guard.allow_request(SCOPE, IP, rate) is False


def test_a_lockout_recorded_in_one_process_holds_in_another(
    store, table, endpoint, clock, other_container
):
    guard = Guard(store, hash_key=KEY, clock=clock)
    rate = Rate(2, 3600)
    guard.record_failure(SCOPE, {"owner_id": "A1", "deal_id": "D000001"}, rate)
    there = other_container.submit(
        in_other_container,
        endpoint,
        table,
        [
            ("is_locked", ({"owner_id": "A1"}, rate)),
            ("record_failure", ({"owner_id": "A1", "deal_id": "D000002"}, rate)),
            ("is_locked", ({"owner_id": "A1", "deal_id": "D000009"}, rate)),
        ],
    ).result(timeout=60)
    assert there == [False, None, True]
    assert guard.is_locked(SCOPE, {"owner_id": "A1", "deal_id": "D000003"}, rate) is True
    assert guard.is_locked(SCOPE, {"owner_id": "B2", "deal_id": "D000003"}, rate) is False


# -- atomicity --------------------------------------------------------------------------


def test_concurrent_increments_from_threads_never_pass_the_limit(store):
    results: list[int | None] = []
    lock = threading.Lock()

    def hit() -> None:
        count = store.increment("k", limit=5, expires_at=NOW + 3600)
        with lock:
            results.append(count)

    threads = [threading.Thread(target=hit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(c for c in results if c is not None) == [1, 2, 3, 4, 5]
    assert store.read_many(["k"])[0] == 5


# -- the store's operations -------------------------------------------------------------


def item(client, table: str, key: str) -> dict[str, Any]:
    return client.get_item(TableName=table, Key={"pk": {"S": key}}, ConsistentRead=True)["Item"]


def test_a_first_increment_creates_the_counter_with_its_expiry(store, client, table):
    assert store.increment("k", limit=3, expires_at=NOW + 60) == 1
    assert item(client, table, "k") == {
        "pk": {"S": "k"},
        "n": {"N": "1"},
        "expires_at": {"N": str(NOW + 60)},
    }


def test_increments_stop_at_the_limit_and_keep_the_first_expiry(store, client, table):
    counts = [store.increment("k", limit=3, expires_at=NOW + 60 + i) for i in range(5)]
    assert counts == [1, 2, 3, None, None]
    assert item(client, table, "k")["expires_at"] == {"N": str(NOW + 60)}
    assert store.read_many(["k"])[0] == 3


def test_an_increment_by_several_is_taken_whole_or_not_at_all(store, client, table):
    # A route budget's lease: ten units at once, never past the limit.
    counts = [store.increment("k", limit=25, expires_at=NOW + 60, amount=10) for _ in range(3)]
    assert counts == [10, 20, None]
    assert store.increment("k", limit=25, expires_at=NOW + 60, amount=5) == 25
    assert store.increment("k", limit=25, expires_at=NOW + 60) is None
    assert item(client, table, "k")["n"] == {"N": "25"}


def test_an_expired_counter_restarts_at_the_amount_added(store, client, table):
    put_counter(client, table, "k", 25, NOW - 1)
    assert store.increment("k", limit=25, expires_at=NOW + 600, amount=10) == 10


def test_an_absent_counter_reads_as_zero(store):
    assert store.read_many(["never-written"])[0] == 0


def put_counter(client, table: str, key: str, n: int, expires_at: int) -> None:
    client.put_item(
        TableName=table,
        Item={"pk": {"S": key}, "n": {"N": str(n)}, "expires_at": {"N": str(expires_at)}},
    )


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        pytest.param((5, NOW - 1), (0, 1), id="expired-at-limit-restarts"),
        pytest.param((2, NOW - 3600), (0, 1), id="expired-below-limit-restarts"),
        pytest.param((2, NOW), (2, 3), id="expiring-this-second-is-live"),
        pytest.param((5, NOW + 1), (5, None), id="live-at-limit-stays-refused"),
    ],
)
def test_expired_counters_that_ttl_has_not_deleted_yet_are_ignored(
    store, client, table, stored, expected
):
    """(count, expires_at) stored -> (what read says, what the next increment returns)."""
    put_counter(client, table, "k", *stored)
    assert (
        store.read_many(["k"])[0],
        store.increment("k", limit=5, expires_at=NOW + 600),
    ) == expected


def test_a_restarted_counter_takes_the_new_expiry(store, client, table):
    put_counter(client, table, "k", 5, NOW - 1)
    store.increment("k", limit=5, expires_at=NOW + 600)
    assert item(client, table, "k")["expires_at"] == {"N": str(NOW + 600)}
    assert item(client, table, "k")["n"] == {"N": "1"}


class RestartRace:
    """A client through which another container restarts the counter just before us."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table
        self.raced = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def put_item(self, **kwargs: Any) -> Any:
        if not self.raced:
            self.raced = True
            put_counter(self._client, self._table, "k", 1, NOW + 600)
        return self._client.put_item(**kwargs)


def test_losing_a_restart_race_counts_on_the_winners_counter(client, table, clock):
    put_counter(client, table, "k", 5, NOW - 1)
    racing = RestartRace(client, table)
    store = DynamoGuardStore(table, racing, clock=clock)
    assert store.increment("k", limit=5, expires_at=NOW + 600) == 2
    assert racing.raced


# -- failures ---------------------------------------------------------------------------


def test_a_missing_table_is_a_configuration_error(client, clock):
    guard = Guard(DynamoGuardStore("no-such-table", client), hash_key=KEY, clock=clock)
    with pytest.raises(GuardMisconfigured) as caught:
        guard.allow_request(SCOPE, IP, Rate(3, 60))
    assert "no-such-table" not in str(caught.value.problem())


def test_an_unreachable_dynamodb_fails_closed(unused_loopback_url, clock):
    unreachable = boto3.client(
        "dynamodb",
        endpoint_url=unused_loopback_url,
        config=Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1}),
    )
    guard = Guard(DynamoGuardStore("GuardTable", unreachable), hash_key=KEY, clock=clock)
    with pytest.raises(GuardUnavailable) as caught:
        guard.is_locked(SCOPE, {"owner_id": "A1"}, Rate(3, 60))
    problem = caught.value.problem()
    assert problem["status"] == 503
    assert "GuardTable" not in str(problem)


def test_the_default_client_is_made_once_per_process():
    try:
        assert dynamodb_client() is dynamodb_client()
        assert dynamodb_client().meta.config.read_timeout == 2  # fail fast
    finally:
        aws.client.cache_clear()


def test_many_counters_are_read_in_one_batch_with_absent_and_expired_as_zero(client, table, store):
    put_counter(client, table, "live", 4, NOW + 600)
    put_counter(client, table, "stale", 9, NOW - 1)
    assert store.read_many(["stale", "live", "absent", "live"]) == [0, 4, 0, 4]
