"""The CI-sized burst: submissions while kintone is busy and then in maintenance are all
recorded, each exactly once, and kintone never works on more than its cap at once."""

from __future__ import annotations

from tests.bench.burst import run_burst


def test_a_burst_through_busy_and_down_kintone_loses_and_duplicates_nothing(tmp_path):
    lines: list[str] = []
    report = run_burst(
        120,
        window_seconds=4,
        window_after=0.5,
        clients=8,
        workers=2,
        tmp=tmp_path,
        progress=lines.append,
        progress_every=0.5,
    )
    print("\n".join(report.lines()))
    # The progress line said how far the run was while it ran, and ends on all submitted.
    assert len(lines) >= 3
    assert "(kintone in maintenance)" in " ".join(lines)
    assert "submitted 120/120" in lines[-1]
    assert report.accepted == report.submitted == 120
    assert report.lost == 0
    assert report.duplicated == 0
    assert report.in_kintone == 120
    assert report.queued > 0, "the maintenance window must have sent some through the queue"
    assert report.max_admitted <= report.cap
    assert report.backlog > 0
    assert report.drain_seconds is not None, "the backlog must all have reached kintone"
