"""The parts of `make bench` that drive the whole local stack still start it and finish.

Their figures are the benchmark's business; this only runs each for a moment, so a change
of the stack's interface breaks `make test`, not the next person's `make bench`.
"""

from __future__ import annotations

import pytest

from tests.bench import bench_sessions, first_response, load


@pytest.fixture(autouse=True)
def scratch_figures(tmp_path, monkeypatch):
    # The figures of these short runs go to a file of their own, not the run's table.
    from tests.bench import figures  # noqa: PLC0415

    monkeypatch.setattr(figures, "RUN_FILE", tmp_path / "figures.json")
    monkeypatch.setattr(figures.record, "__kwdefaults__", {"path": tmp_path / "figures.json"})


def test_the_load_part_runs_against_a_fresh_local_stack(tmp_path):
    argv = ["--seconds", "0.5", "--warmup", "0.2", "--connections", "2", "--workers", "1"]
    assert load.main([*argv, "--cpu", "--log", str(tmp_path / "load.log")]) == 0


def test_the_sessions_part_runs_against_a_fresh_local_stack(tmp_path):
    argv = ["--sign-ins", "1", "--pages", "1", "--log", str(tmp_path / "sessions.log")]
    assert bench_sessions.main(argv) == 0


def test_the_first_response_part_runs_each_child_against_a_fresh_stack(capsys):
    # One round of two functions (a view and a form): the children, the bare relays
    # beside them, the tables; all seven run in tests/integration/test_bare_relays_in_step.py.
    assert first_response.main(["--rounds", "1", "--only", "lookup", "intake"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    # Each function once in the first-response table, once in the SnapStart one and once
    # in the MemorySize one.
    assert [row[0] for row in rows if row[:1] in (["lookup"], ["intake"])] == [
        "lookup",
        "intake",
    ] * 3
    # Restored from a snapshot, the first response is measured, and shorter than cold.
    lookups = [row for row in rows if row[:1] == ["lookup"]]
    restored, cold = float(lookups[1][1]), float(lookups[1][3])
    assert 0 < restored < cold
    # The third child, the bare relay with sekisho's libraries, has its column and ratio.
    first = next(row for row in rows if row[:1] == ["lookup"])
    assert first[-1].endswith("x")
    assert float(first[-1].removesuffix("x")) > 0
