"""The CI-sized fault rehearsal: `make chaos` compressed to 24 s (every fault on the same
schedule, in proportion), so the rehearsal itself does not rot between full runs."""

from __future__ import annotations

from pathlib import Path

from tests.bench.chaos import run_chaos


def test_a_short_rehearsal_strikes_every_fault_and_loses_doubles_and_leaves_unexplained_nothing(
    tmp_path: Path,
) -> None:
    log = tmp_path / "stack.log"
    lines: list[str] = []
    report = run_chaos(
        24, tmp=tmp_path, log=log, drain_timeout=120, progress=lines.append, progress_every=2
    )
    print("\n".join(report.lines()))
    figures = {f.name: f.value for f in report.figures}

    # Every goal holds, doubles included: a submission re-run after its worker was killed
    # between the kintone write and the idempotency record keeps its derived receipt.
    assert report.missed == []
    # Every fault struck: the run rehearsed what it says it did.
    assert figures["kintone answers lost: reset"] > 0
    assert figures["kintone answers lost: stalled past the read timeout"] > 0
    assert figures["workers killed mid-request"] == 1
    assert figures["secrets rotated"] == 4
    assert figures["secret reads served stale (stale-if-error)"] > 0
    # The traffic was mixed and went through.
    assert figures["submissions accepted (201 or 202)"] > 0
    assert figures["webhook events applied in kintone"] > 0
    assert figures["requests answered 2xx"] > 0
    # The progress line named the faults while they were on.
    shown = " ".join(lines)
    for fault in ("kintone maintenance", "Secrets Manager unreachable"):
        assert fault in shown
