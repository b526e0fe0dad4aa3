"""The guard over its in-memory store: windows, limits, lockouts, expiry, fingerprints."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from dataclasses import dataclass

import pytest

from sekisho.errors import UpstreamUnavailable, ValidationFailed
from sekisho.guard.errors import GuardMisconfigured, GuardUnavailable
from sekisho.guard.guard import EXPIRY_GRACE_SECONDS, Guard
from sekisho.guard.memory import InMemoryGuardStore

SCOPE = "view:deal-status"
KEY = b"unit-test-hash-key-0123456789abcdef"
IP = "203.0.113.7"
WINDOW_START = 1_800_000_000  # a multiple of 3600 and of 60


@dataclass(frozen=True)
class Rate:
    count: int
    window_seconds: int


PER_IP = Rate(3, 3600)
PER_KEY = Rate(2, 3600)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(WINDOW_START + 10)


@pytest.fixture
def store(clock) -> InMemoryGuardStore:
    return InMemoryGuardStore(clock=clock)


@pytest.fixture
def guard(store, clock) -> Guard:
    return Guard(store, hash_key=KEY, clock=clock)


# -- per-IP rate ------------------------------------------------------------------------


def test_requests_up_to_the_limit_are_allowed_and_the_next_is_not(guard):
    assert [guard.allow_request(SCOPE, IP, PER_IP) for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]


def test_the_limit_is_per_client_ip(guard):
    for _ in range(3):
        guard.allow_request(SCOPE, IP, PER_IP)
    assert guard.allow_request(SCOPE, "203.0.113.8", PER_IP) is True


def test_the_limit_is_per_scope(guard):
    for _ in range(3):
        guard.allow_request(SCOPE, IP, PER_IP)
    assert guard.allow_request("view:other", IP, PER_IP) is True


def test_a_new_window_starts_from_zero(guard, clock):
    for _ in range(3):
        guard.allow_request(SCOPE, IP, PER_IP)
    clock.now = WINDOW_START + 3600
    assert guard.allow_request(SCOPE, IP, PER_IP) is True


def test_fixed_windows_allow_up_to_twice_the_limit_across_a_boundary(guard, clock):
    clock.now = WINDOW_START + 3599
    before = [guard.allow_request(SCOPE, IP, PER_IP) for _ in range(4)]
    clock.now = WINDOW_START + 3600
    after = [guard.allow_request(SCOPE, IP, PER_IP) for _ in range(4)]
    assert before.count(True) + after.count(True) == 2 * PER_IP.count


def test_counters_expire_a_minute_after_their_window(guard, store):
    guard.allow_request(SCOPE, IP, PER_IP)
    [(count, expires_at)] = store.items().values()
    assert count == 1
    assert expires_at == WINDOW_START + 3600 + EXPIRY_GRACE_SECONDS


def test_concurrent_requests_never_pass_the_limit(guard):
    results: list[bool] = []
    lock = threading.Lock()

    def hit() -> None:
        allowed = guard.allow_request(SCOPE, IP, Rate(5, 60))
        with lock:
            results.append(allowed)

    threads = [threading.Thread(target=hit) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 5


# -- lockout per predicate value ------------------------------------------------------


def test_values_are_not_locked_before_any_failure(guard):
    assert guard.is_locked(SCOPE, {"owner_id": "A1", "deal_id": "D000001"}, PER_KEY) is False


def test_a_value_is_locked_after_the_allowed_failures(guard):
    values = {"owner_id": "A1", "deal_id": "D000001"}
    guard.record_failure(SCOPE, values, PER_KEY)
    assert guard.is_locked(SCOPE, values, PER_KEY) is False
    guard.record_failure(SCOPE, values, PER_KEY)
    assert guard.is_locked(SCOPE, values, PER_KEY) is True


@pytest.mark.parametrize(
    ("attempts", "probe", "locked"),
    [
        pytest.param(
            [{"owner_id": "A1", "deal_id": "D000001"}, {"owner_id": "A1", "deal_id": "D000002"}],
            {"owner_id": "A1", "deal_id": "D000999"},
            True,
            id="owner-guessed-across-deals-stays-locked",
        ),
        pytest.param(
            [{"owner_id": "A1", "deal_id": "D000001"}, {"owner_id": "B2", "deal_id": "D000001"}],
            {"owner_id": "Z9", "deal_id": "D000001"},
            True,
            id="deal-guessed-across-owners-stays-locked",
        ),
        pytest.param(
            [{"owner_id": "A1", "deal_id": "D000001"}, {"owner_id": "B2", "deal_id": "D000002"}],
            {"owner_id": "C3", "deal_id": "D000003"},
            False,
            id="unrelated-values-are-not-locked",
        ),
        pytest.param(
            [{"owner_id": "A1"}, {"owner_id": "A1"}],
            {"deal_id": "A1"},
            False,
            id="same-value-under-another-name-is-a-different-key",
        ),
        pytest.param(
            [{"owner_id": "A1"}, {"owner_id": "A1"}],
            {"owner_id": "a1"},
            False,
            id="values-are-compared-exactly",
        ),
    ],
)
def test_lockout_follows_each_submitted_value(guard, attempts, probe, locked):
    for values in attempts:
        guard.record_failure(SCOPE, values, PER_KEY)
    assert guard.is_locked(SCOPE, probe, PER_KEY) is locked


def test_lockout_is_per_scope(guard):
    for _ in range(2):
        guard.record_failure(SCOPE, {"owner_id": "A1"}, PER_KEY)
    assert guard.is_locked("view:other", {"owner_id": "A1"}, PER_KEY) is False


def test_lockout_ends_with_its_window(guard, clock):
    for _ in range(2):
        guard.record_failure(SCOPE, {"owner_id": "A1"}, PER_KEY)
    clock.now = WINDOW_START + 3600
    assert guard.is_locked(SCOPE, {"owner_id": "A1"}, PER_KEY) is False


def test_failures_past_the_limit_keep_the_counter_at_the_limit(guard, store):
    for _ in range(10):
        guard.record_failure(SCOPE, {"owner_id": "A1"}, PER_KEY)
    assert [count for count, _ in store.items().values()] == [PER_KEY.count]


def test_no_values_are_never_locked(guard):
    assert guard.is_locked(SCOPE, {}, PER_KEY) is False


# -- the store's expiry -----------------------------------------------------------------


def test_an_expired_counter_reads_as_zero_before_it_is_deleted(store, clock):
    store.increment("k", limit=5, expires_at=int(clock.now) + 5)
    clock.now += 6
    assert store.read_many(["k"])[0] == 0
    assert "k" in store.items()


def test_a_counter_is_live_until_the_second_after_its_expiry(store, clock):
    store.increment("k", limit=5, expires_at=int(clock.now) + 5)
    clock.now += 5
    assert store.read_many(["k"])[0] == 1


def test_an_expired_counter_at_its_limit_restarts_at_one(store, clock):
    for _ in range(2):
        store.increment("k", limit=2, expires_at=int(clock.now) + 5)
    assert store.increment("k", limit=2, expires_at=int(clock.now) + 5) is None
    clock.now += 6
    assert store.increment("k", limit=2, expires_at=int(clock.now) + 100) == 1
    assert store.items()["k"] == (1, int(clock.now) + 100)


def test_a_live_counter_keeps_its_first_expiry(store, clock):
    first = int(clock.now) + 100
    store.increment("k", limit=5, expires_at=first)
    store.increment("k", limit=5, expires_at=first + 500)
    assert store.items()["k"] == (2, first)


# -- fingerprints -----------------------------------------------------------------------


def test_fingerprint_is_stable_32_hex_characters(guard):
    first = guard.fingerprint(SCOPE, "owner_id", "A1")
    assert first == guard.fingerprint(SCOPE, "owner_id", "A1")
    assert len(first) == 32
    assert int(first, 16) >= 0


def test_fingerprint_is_the_documented_hmac(guard):
    def framed(part: str) -> bytes:
        data = part.encode()
        return len(data).to_bytes(4, "big") + data

    message = b"".join(framed(p) for p in ("sekisho.guard.v1", SCOPE, "owner_id", "A1"))
    expected = hmac.new(KEY, message, hashlib.sha256).hexdigest()[:32]
    assert guard.fingerprint(SCOPE, "owner_id", "A1") == expected


def test_fingerprint_depends_on_the_key(guard, store):
    other = Guard(store, hash_key=b"another-hash-key-0123456789abcdef")
    assert other.fingerprint(SCOPE, "owner_id", "A1") != guard.fingerprint(SCOPE, "owner_id", "A1")


@pytest.mark.parametrize(
    ("left", "right"),
    [
        pytest.param((SCOPE, "owner_id", "A1"), (SCOPE, "owner_id", "A1 "), id="trailing-space"),
        pytest.param((SCOPE, "owner_id", "A1"), (SCOPE, "owner_id", "a1"), id="case"),
        pytest.param((SCOPE, "owner_id", "A1"), (SCOPE, "deal_id", "A1"), id="name"),
        pytest.param((SCOPE, "owner_id", "A1"), ("view:other", "owner_id", "A1"), id="scope"),
        pytest.param((SCOPE, "ab", "c"), (SCOPE, "a", "bc"), id="name-value-boundary"),
        pytest.param(("s:a", "b", "c"), ("s:", "ab", "c"), id="scope-name-boundary"),
        pytest.param((SCOPE, "n", "\x00"), (SCOPE, "n", ""), id="nul-byte"),
    ],
)
def test_fingerprints_of_different_inputs_differ(guard, left, right):
    assert guard.fingerprint(*left) != guard.fingerprint(*right)


@pytest.mark.parametrize("value", ["\ud800", "x" * 100_000, "田中", ""])
def test_any_string_has_a_fingerprint(guard, value):
    assert len(guard.fingerprint(SCOPE, "owner_id", value)) == 32


@pytest.mark.parametrize("value", [None, 123, b"A1", ["A1"]])
def test_non_string_values_are_a_validation_error(guard, value):
    with pytest.raises(ValidationFailed):
        guard.record_failure(SCOPE, {"owner_id": value}, PER_KEY)


def test_stored_keys_carry_fingerprints_never_raw_values(guard, store):
    guard.allow_request(SCOPE, IP, PER_IP)
    guard.record_failure(SCOPE, {"owner_id": "OWNER42", "deal_id": "D424242"}, PER_KEY)
    keys = json.dumps(store.items())
    assert len(store.items()) == 3
    for raw in (IP, "OWNER42", "D424242"):
        assert raw not in keys
    assert guard.fingerprint(SCOPE, "owner_id", "OWNER42") in keys


# -- configuration and failures ---------------------------------------------------------


@pytest.mark.parametrize(
    "hash_key",
    [b"", b"short", "a-str-is-not-bytes-0123456789"],
)
def test_a_weak_or_mistyped_hash_key_is_refused(store, hash_key):
    with pytest.raises(GuardMisconfigured):
        Guard(store, hash_key=hash_key)


@pytest.mark.parametrize(
    "rate",
    [Rate(0, 60), Rate(-1, 60), Rate(5, 0), Rate(5, 0.5), Rate(True, 60), object()],
)
def test_an_unusable_rate_is_refused(guard, rate):
    with pytest.raises(GuardMisconfigured):
        guard.allow_request(SCOPE, IP, rate)


@pytest.mark.parametrize("scope", ["", "x" * 257, None])
def test_an_unusable_scope_is_refused(guard, scope):
    with pytest.raises(GuardMisconfigured):
        guard.allow_request(scope, IP, PER_IP)


def test_a_whole_float_window_is_accepted(guard):
    assert guard.allow_request(SCOPE, IP, Rate(1, 3600.0)) is True


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda g: g.allow_request(SCOPE, IP, PER_IP), id="allow_request"),
        pytest.param(lambda g: g.is_locked(SCOPE, {"owner_id": "A1"}, PER_KEY), id="is_locked"),
        pytest.param(
            lambda g: g.record_failure(SCOPE, {"owner_id": "A1"}, PER_KEY), id="record_failure"
        ),
    ],
)
def test_a_store_outage_fails_closed_with_a_503(guard, store, call, caplog):
    store.fail = True
    with pytest.raises(GuardUnavailable) as caught:
        call(guard)
    assert isinstance(caught.value, UpstreamUnavailable)
    problem = caught.value.problem()
    assert (problem["status"], problem["code"]) == (503, "upstream_unavailable")
    assert "detail" not in problem
    assert [r.error_code for r in caplog.records] == ["ProvisionedThroughputExceededException"]


@pytest.mark.parametrize("code", ["ResourceNotFoundException", "AccessDeniedException"])
def test_a_missing_or_forbidden_table_is_a_configuration_error(guard, store, code):
    store.fail = True
    store.fail_code = code
    with pytest.raises(GuardMisconfigured):
        guard.allow_request(SCOPE, IP, PER_IP)


def test_guard_logs_carry_no_raw_value(guard, store, caplog):
    caplog.set_level(logging.DEBUG)
    store.fail = True
    with pytest.raises(GuardUnavailable):
        guard.record_failure(SCOPE, {"owner_id": "OWNER42"}, PER_KEY)
    for record in caplog.records:
        assert "OWNER42" not in json.dumps(record.__dict__, default=str)
