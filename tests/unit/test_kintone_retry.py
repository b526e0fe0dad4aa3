"""Backoff with full jitter and the per-domain circuit breaker."""

import pytest

from sekisho.kintone.breaker import CircuitBreaker
from sekisho.kintone.retry import RetryPolicy


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("failed", "ceiling"), [(1, 0.2), (2, 0.4), (3, 0.8), (4, 1.6), (9, 2.0)])
def test_backoff_ceiling_doubles_and_is_capped(failed, ceiling):
    seen = []
    policy = RetryPolicy(
        base_delay=0.2, max_delay=2.0, rand=lambda lo, hi: seen.append((lo, hi)) or hi
    )
    assert policy.delay(failed) == pytest.approx(ceiling)
    assert seen == [(0.0, pytest.approx(ceiling))]


def test_backoff_is_full_jitter_between_zero_and_the_ceiling():
    policy = RetryPolicy(base_delay=1.0, max_delay=1.0)
    waits = [policy.delay(1) for _ in range(200)]
    assert all(0.0 <= w <= 1.0 for w in waits)
    assert min(waits) < 0.25
    assert max(waits) > 0.75


def test_a_policy_needs_at_least_one_attempt():
    with pytest.raises(ValueError, match="at least 1"):
        RetryPolicy(max_attempts=0)


def test_breaker_opens_after_the_threshold_of_consecutive_failures():
    breaker = CircuitBreaker(failure_threshold=3, reset_after=10, clock=Clock())
    for _ in range(2):
        breaker.record_failure()
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open"
    assert not breaker.allow()


def test_a_success_resets_the_failure_count():
    breaker = CircuitBreaker(failure_threshold=2, clock=Clock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state == "closed"


def test_breaker_lets_one_trial_through_after_the_reset_period():
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_after=10, clock=clock)
    breaker.record_failure()
    clock.now = 10.0
    assert breaker.state == "half-open"
    assert breaker.allow()
    assert not breaker.allow(), "only one trial request at a time"
    breaker.record_success()
    assert breaker.state == "closed"
    assert breaker.allow()


def test_a_failed_trial_reopens_for_a_full_period():
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_after=10, clock=clock)
    breaker.record_failure()
    clock.now = 10.0
    assert breaker.allow()
    breaker.record_failure()
    clock.now = 19.0
    assert not breaker.allow()
    clock.now = 20.0
    assert breaker.allow()
