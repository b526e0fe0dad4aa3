"""The lookup's guard options against the emulator: a route budget shared by every caller,
spent only by kintone calls, and a lockout counted per value or per value and network."""

from __future__ import annotations

import json

import pytest
import requests

from sekisho.errors import NotFound, RouteBudgetExhausted
from sekisho.guard.guard import Guard
from sekisho.guard.memory import InMemoryGuardStore
from sekisho.kintone.breaker import CircuitBreaker
from sekisho.kintone.client import KintoneClient
from sekisho.kintone.retry import RetryPolicy
from sekisho.lookup import LookupRequest, LookupService
from sekisho.policy.validation import parse_policy
from sekisho.secrets.memory import InMemorySecretBackend
from sekisho.secrets.store import SecretStore

pytestmark = pytest.mark.emulator

POLICY = """
kintone: {base_url: "https://example.cybozu.com"}
apps:
  1:
    name: deals
    fields: {担当ID: SINGLE_LINE_TEXT, 取引ID: SINGLE_LINE_TEXT, 取引名: SINGLE_LINE_TEXT,
             ステータス: DROP_DOWN}
views:
  deal-status:
    app: 1
    token_secret: sekisho/kintone/deals-view
    match:
      owner_id: {code: 担当ID, max_length: 40}
      deal_id: {code: 取引ID, pattern: '^D[0-9]{6}$'}
    fields: [取引名]
    guard: {per_ip: 100/hour, failures_per_key: 2/hour, budget: 3/day}
  by-network:
    app: 1
    token_secret: sekisho/kintone/deals-view
    match:
      owner_id: {code: 担当ID, max_length: 40}
      deal_id: {code: 取引ID, pattern: '^D[0-9]{6}$'}
    fields: [取引名]
    guard: {per_ip: 100/hour, failures_per_key: 2/hour, lockout: value_and_network}
"""


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_057_600.0 + 3600  # an hour past midnight, UTC

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Harness:
    def __init__(self, kintone_url: str) -> None:
        policy = parse_policy(POLICY)
        backend = InMemorySecretBackend()
        backend.put("sekisho/kintone/deals-view", json.dumps({"token": "deals-view-token"}))
        store = SecretStore(backend, allowed=policy.secret_names("views"))
        self.clock = Clock()
        self.store = InMemoryGuardStore(clock=self.clock)
        self.kintone_calls = 0
        harness = self

        class CountingClient(KintoneClient):
            def get_records(self, *args, **kwargs):
                harness.kintone_calls += 1
                return super().get_records(*args, **kwargs)

        self.service = LookupService(
            policy,
            store.token_source,
            Guard(self.store, hash_key=b"k" * 32, clock=self.clock),
            kintone_url,
            client_factory=lambda url, token: CountingClient(
                url,
                token,
                session=requests.Session(),
                retry=RetryPolicy(max_attempts=1),
                breaker=CircuitBreaker(failure_threshold=100),
            ),
            not_found_deadline=0.25,
            clock=self.clock,
            sleep=self.clock.sleep,
        )

    def lookup(self, owner: str, deal: str, *, ip: str, view: str = "deal-status"):
        body = {"match": {"owner_id": owner, "deal_id": deal}}
        return self.service.lookup(LookupRequest(view=view, body=body, client_ip=ip))


@pytest.fixture
def harness(kintone) -> Harness:
    return Harness(kintone.url)


# ------------------------------------------------------------------------ the budget


def test_the_fourth_lookup_of_the_day_is_refused_whatever_the_client(harness):
    for n in range(3):
        assert harness.lookup("A1", "D000001", ip=f"203.0.113.{n + 1}")

    with pytest.raises(RouteBudgetExhausted) as refused:
        harness.lookup("A1", "D000001", ip="198.51.100.99")

    assert refused.value.problem()["code"] == "route_budget_exhausted"
    assert refused.value.retry_after == 86_400 - 3600
    assert harness.kintone_calls == 3


def test_misses_spend_the_budget_as_hits_do_but_invalid_requests_do_not(harness):
    with pytest.raises(NotFound):
        harness.lookup("A1", "D000010", ip="203.0.113.1")
    with pytest.raises(Exception, match="not valid"):
        harness.lookup("A1", "not-a-deal", ip="203.0.113.2")
    harness.lookup("A1", "D000001", ip="203.0.113.3")
    harness.lookup("A1", "D000001", ip="203.0.113.4")

    with pytest.raises(RouteBudgetExhausted):
        harness.lookup("A1", "D000001", ip="203.0.113.5")
    assert harness.kintone_calls == 3


def test_a_locked_value_spends_no_budget(harness):
    for _ in range(2):
        with pytest.raises(NotFound):
            harness.lookup("Z9", "D000099", ip="203.0.113.1")
    calls = harness.kintone_calls
    with pytest.raises(NotFound):
        harness.lookup("Z9", "D000099", ip="203.0.113.1")  # locked: kintone is not asked

    assert harness.kintone_calls == calls
    assert harness.lookup("A1", "D000002", ip="203.0.113.2")  # the third unit is still there


def test_once_the_budget_is_spent_a_locked_value_is_refused_alike(harness):
    # The answer must not tell a locked value from a free one, even then.
    for _ in range(2):
        with pytest.raises(NotFound):
            harness.lookup("Z9", "D000099", ip="203.0.113.1")
    harness.lookup("A1", "D000001", ip="203.0.113.2")

    with pytest.raises(RouteBudgetExhausted):
        harness.lookup("Z9", "D000099", ip="203.0.113.1")
    with pytest.raises(RouteBudgetExhausted):
        harness.lookup("A9", "D000009", ip="203.0.113.3")


def test_the_budget_returns_when_the_day_ends(harness):
    for _ in range(3):
        harness.lookup("A1", "D000001", ip="203.0.113.1")
    harness.clock.now += 86_400 - 3600

    assert harness.lookup("A1", "D000001", ip="203.0.113.1")


def test_a_view_without_a_budget_is_never_refused_for_one(harness):
    for n in range(6):
        assert harness.lookup("A1", "D000001", ip=f"203.0.113.{n}", view="by-network")


def test_every_counter_a_lookup_writes_starts_with_its_views_scope(harness):
    harness.lookup("A1", "D000001", ip="203.0.113.1")
    with pytest.raises(NotFound):
        harness.lookup("A1", "D000010", ip="203.0.113.1", view="by-network")

    keys = set(harness.store.items())
    assert keys, "the lookups counted"
    assert all(k.startswith(("view:deal-status#", "view:by-network#")) for k in keys), keys


# ------------------------------------------------------------------------ lockout scope


def lock_from(harness: Harness, ip: str, view: str) -> None:
    for _ in range(2):
        with pytest.raises(NotFound):
            harness.lookup("A1", "D000099", ip=ip, view=view)


def test_by_default_a_strangers_misses_lock_the_value_for_everyone(harness):
    lock_from(harness, "198.51.100.7", "deal-status")
    calls = harness.kintone_calls

    with pytest.raises(NotFound):
        harness.lookup("A1", "D000001", ip="203.0.113.1")  # the owner's own, right pair

    assert harness.kintone_calls == calls, "locked: answered without asking kintone"


def test_counted_per_network_a_strangers_misses_do_not_lock_the_owner_out(harness):
    lock_from(harness, "198.51.100.7", "by-network")

    assert harness.lookup("A1", "D000001", ip="203.0.113.1", view="by-network")


@pytest.mark.parametrize(
    "neighbour",
    ["198.51.100.200", "::ffff:198.51.100.8"],
    ids=["same /24", "the same address written as IPv6"],
)
def test_counted_per_network_the_value_stays_locked_in_the_strangers_network(harness, neighbour):
    lock_from(harness, "198.51.100.7", "by-network")
    calls = harness.kintone_calls

    with pytest.raises(NotFound):
        harness.lookup("A1", "D000001", ip=neighbour, view="by-network")

    assert harness.kintone_calls == calls


def test_an_ipv6_network_is_counted_by_its_48_bits(harness):
    lock_from(harness, "2001:db8:1:2::1", "by-network")
    calls = harness.kintone_calls
    with pytest.raises(NotFound):
        harness.lookup("A1", "D000001", ip="2001:db8:1:ffff::9", view="by-network")
    assert harness.kintone_calls == calls

    assert harness.lookup("A1", "D000001", ip="2001:db8:2::1", view="by-network")
