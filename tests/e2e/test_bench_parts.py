"""The parts of `make bench` that drive the whole local stack still start it and finish.

Their figures are the benchmark's business; this only runs each for a moment, so a change
of the stack's interface breaks `make test`, not the next person's `make bench`.
"""

from __future__ import annotations

import pytest

from tests.bench import bench_sessions, load


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
