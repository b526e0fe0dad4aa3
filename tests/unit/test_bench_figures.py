"""The table `make bench` ends with: each figure beside its goal, misses counted."""

from __future__ import annotations

from tests.bench.figures import Figure, load, record, table


def test_a_figure_at_most_its_goal_meets_a_ceiling_and_one_above_misses_it():
    assert Figure("ratio", 1.15, "x", 1.15).met is True
    assert Figure("ratio", 1.16, "x", 1.15).met is False


def test_a_figure_below_a_floor_misses_it():
    assert Figure("lookups/s", 149.0, "/s", 150, sense="≥").met is False
    assert Figure("lookups/s", 151.0, "/s", 150, sense="≥").met is True


def test_a_figure_without_a_goal_is_shown_but_not_counted():
    lines = table([Figure("p50", 11.9, "ms"), Figure("zip", 9.0, "MB", 8)])
    assert "goal" not in lines[1]
    assert lines[2].endswith("MISSED")
    assert lines[-1] == "1 of 1 goals missed: zip"


def test_recording_a_figure_again_replaces_the_earlier_one(tmp_path):
    path = tmp_path / "figures.json"
    record(Figure("zip", 9.0, "MB", 8), Figure("rss", 60.0, "MB", 90), path=path)
    record(Figure("zip", 3.9, "MB", 8), path=path)
    assert [(f.name, f.value) for f in load(path)] == [("rss", 60.0), ("zip", 3.9)]
