"""`make burst`'s drain figure: which receipts make the backlog when kintone comes back, when
its drain ends, and the cap's minimum it is set beside."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.bench.burst import Answer, BurstReport, drain_of

BACK = 100.0


def test_backlog_is_what_was_accepted_before_kintone_came_back_and_not_yet_in_it() -> None:
    answers = [
        Answer(201, "recorded-before", 10.0),
        Answer(202, "queued-before", 50.0),
        Answer(202, "queued-just-before", BACK),
        Answer(202, "queued-after", 101.0),  # queued later: not the backlog
        Answer(201, "recorded-after", 102.0),
        Answer(400, None, 60.0),
    ]
    first_seen = {
        "recorded-before": 10.0,
        "queued-before": 104.0,
        "queued-just-before": 112.5,
        "queued-after": 130.0,
        "recorded-after": 102.0,
    }

    drain = drain_of(answers, {"recorded-before"}, BACK, first_seen)

    assert drain.backlog == 2
    assert drain.seconds == pytest.approx(12.5)
    assert drain.marks == pytest.approx((4.0, 4.0, 4.0, 4.0))


def test_drain_has_no_end_while_a_receipt_of_the_backlog_is_not_in_kintone() -> None:
    answers = [Answer(202, "in", 50.0), Answer(202, "never", 60.0)]

    drain = drain_of(answers, set(), BACK, {"in": 101.0})

    assert drain.backlog == 2
    assert drain.seconds is None


def test_no_backlog_means_no_drain_to_time() -> None:
    drain = drain_of([Answer(201, "r", 50.0)], {"r"}, BACK, {"r": 50.0})

    assert (drain.backlog, drain.seconds) == (0, None)


def report(**overrides: object) -> BurstReport:
    figures: dict[str, object] = {
        "submitted": 10,
        "accepted": 10,
        "recorded_at_once": 6,
        "queued": 4,
        "refused": Counter(),
        "in_kintone": 10,
        "lost": 0,
        "duplicated": 0,
        "max_admitted": 9,
        "max_attempted": 11,
        "cap": 10,
        "deliver_concurrency": 5,
        "intake_workers": 4,
        "clients": 8,
        "latency_ms": 100,
        "rate_429": 0.05,
        "submit_seconds": 1.0,
        "window_start": 1.0,
        "window_end": 61.0,
        "backlog": 400,
        "drain_seconds": 9.0,
        "drain_marks": (1.0, 2.0, 4.0, 8.0),
        "unit_seconds": 0.1,
        "queued_later": 0,
        "total_seconds": 100.0,
    }
    return BurstReport(**{**figures, **overrides})  # type: ignore[arg-type]


def test_cap_minimum_is_the_backlog_at_the_deliverers_concurrency_bounded_by_kintones_cap() -> None:
    assert report().minimum_seconds == pytest.approx(400 * 0.1 / 5)
    assert report(deliver_concurrency=20).minimum_seconds == pytest.approx(400 * 0.1 / 10)


def test_drain_ratio_is_printed_beside_its_goal() -> None:
    assert "drain ratio 1.12x  goal ≤ 1.2x  ok" in report(drain_seconds=8.96).lines()
    assert "drain ratio 1.25x  goal ≤ 1.2x  MISSED" in report(drain_seconds=10.0).lines()
