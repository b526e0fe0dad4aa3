"""SnapStart's init and hooks (sekisho.snapstart), called in the order Lambda calls them:
the init's end (prepare), the hooks before the snapshot in the reverse order of their
registration, then, in a restored container, the hooks after the restore in order."""

from __future__ import annotations

import json
import random
from types import SimpleNamespace
from typing import Any

import pytest

from sekisho import aws, snapstart
from sekisho.kintone.session import shared_session
from sekisho.secrets.memory import InMemorySecretBackend
from sekisho.secrets.store import SecretStore


class FakeRuntimeHooks:
    """What snapshot_restore_py offers: two registration functions, and the runtime's
    order of calling what they registered."""

    def __init__(self) -> None:
        self.before: list[Any] = []
        self.after: list[Any] = []

    def register_before_snapshot(self, func: Any, *args: Any) -> None:
        self.before.append(func)

    def register_after_restore(self, func: Any, *args: Any) -> None:
        self.after.append(func)

    def snapshot(self) -> None:
        for func in reversed(self.before):
            func()

    def restore(self) -> None:
        for func in self.after:
            func()


class FakeHttpSession:
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> FakeRuntimeHooks:
    monkeypatch.setenv("SEKISHO_SNAPSTART", "1")
    return FakeRuntimeHooks()


@pytest.fixture
def store() -> tuple[SecretStore, InMemorySecretBackend]:
    backend = InMemorySecretBackend()
    backend.put("sekisho/kintone/deals-view", json.dumps({"kind": "kintone-token", "token": "t"}))
    return SecretStore(backend, allowed={"sekisho/kintone/deals-view"}), backend


@pytest.fixture
def client_pool(monkeypatch: pytest.MonkeyPatch) -> FakeHttpSession:
    """A client as aws.client() keeps it, with a pool that records being closed."""
    pool = FakeHttpSession()
    fake = SimpleNamespace(_endpoint=SimpleNamespace(http_session=pool))
    monkeypatch.setattr(aws, "_built", [fake])
    return pool


@pytest.mark.parametrize(
    ("environment", "on"),
    [
        ({}, False),
        ({"SEKISHO_SNAPSTART": "0"}, False),
        ({"AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand"}, False),
        ({"SEKISHO_SNAPSTART": "1"}, True),
        ({"AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"}, True),
    ],
)
def test_snapstart_is_on_only_when_the_template_or_the_runtime_says_so(
    environment: dict[str, str], on: bool
) -> None:
    assert snapstart.enabled(environment) is on


def test_without_snapstart_the_init_builds_nothing_and_registers_no_hook(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SEKISHO_SNAPSTART", raising=False)
    monkeypatch.delenv("AWS_LAMBDA_INITIALIZATION_TYPE", raising=False)
    runtime_hooks, built = FakeRuntimeHooks(), []
    assert snapstart.prepare(lambda: built.append("service"), hooks=runtime_hooks) is False
    assert built == []
    assert (runtime_hooks.before, runtime_hooks.after) == ([], [])


def test_with_snapstart_the_init_builds_every_service_and_registers_both_hooks(
    hooks: FakeRuntimeHooks,
) -> None:
    built: list[str] = []
    assert snapstart.prepare(lambda: built.append("a"), lambda: built.append("b"), hooks=hooks)
    assert built == ["a", "b"]
    assert hooks.before == [snapstart.before_snapshot]
    assert hooks.after == [snapstart.after_restore]


def test_no_secret_value_goes_into_the_snapshot_and_a_restored_container_reads_its_own(
    hooks: FakeRuntimeHooks, store: tuple[SecretStore, InMemorySecretBackend], client_pool: Any
) -> None:
    secrets, backend = store
    snapstart.prepare(lambda: secrets.get("sekisho/kintone/deals-view"), hooks=hooks)
    assert backend.calls == 1
    hooks.snapshot()
    assert "token" not in repr(vars(secrets)), "a value is still cached in the snapshot"
    assert secrets._entries == {}
    # Rotated while the snapshot waited: the restored container reads the new value.
    backend.put("sekisho/kintone/deals-view", json.dumps({"kind": "kintone-token", "token": "n"}))
    hooks.restore()
    assert secrets.get("sekisho/kintone/deals-view")["token"] == "n"
    assert backend.calls == 2


def test_both_hooks_close_every_aws_clients_connections(
    hooks: FakeRuntimeHooks, client_pool: FakeHttpSession
) -> None:
    snapstart.prepare(hooks=hooks)
    hooks.snapshot()
    assert client_pool.closed == 1
    hooks.restore()
    assert client_pool.closed == 2


def test_a_restored_container_reopens_the_kintone_session_s_connections(
    hooks: FakeRuntimeHooks, kintone: Any, client_pool: Any
) -> None:
    session = shared_session()
    assert session.get(f"{kintone.url}/_emulator/stats", timeout=5).ok
    adapter = session.get_adapter(kintone.url)
    assert len(adapter.poolmanager.pools) == 1
    snapstart.prepare(hooks=hooks)
    hooks.snapshot()
    hooks.restore()
    assert len(adapter.poolmanager.pools) == 0
    # The session itself still works: its next call opens a connection of its own.
    assert session.get(f"{kintone.url}/_emulator/stats", timeout=5).ok


def test_a_restored_container_draws_its_own_random_numbers(
    hooks: FakeRuntimeHooks, client_pool: Any
) -> None:
    snapstart.prepare(hooks=hooks)
    random.seed(23)
    in_the_snapshot = [random.random() for _ in range(3)]
    random.seed(23)
    hooks.restore()
    assert [random.random() for _ in range(3)] != in_the_snapshot
