"""The CI-sized action burst: events that arrive while kintone is in maintenance are all
applied afterwards, each exactly once, and redeliveries change nothing."""

from __future__ import annotations

from tests.bench.action_burst import run_action_burst


def test_events_arriving_during_maintenance_are_each_applied_once_afterwards():
    report = run_action_burst(120, window_seconds=5, window_after=0.5, clients=8, workers=2)
    print("\n".join(report.lines()))
    assert report.deliveries == 120 + 12  # every tenth event delivered twice
    assert set(report.answers) <= {200, 503}
    assert report.paid == 120
    assert report.lost == 0
    assert report.doubled == 0
    assert report.dead_letters == 0
    assert report.max_admitted <= report.cap
