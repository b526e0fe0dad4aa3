"""The profiling switch: off unless a variable names a directory; on, every process writes
what it counted when it ends."""

from __future__ import annotations

import json
import os
import pstats
import subprocess
import sys
import textwrap

import pytest

from devstack import profiling

COUNTING = textwrap.dedent(
    """
    from devstack import profiling
    print(profiling.install("probe"))
    profiling.tally("DynamoDB_20120810.UpdateItem", 0.002)
    profiling.tally("DynamoDB_20120810.UpdateItem", 0.001)
    sum(i * i for i in range(10_000))
    profiling.dump()
    """
)


def _run(tmp_path, **variables: str) -> str:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in (profiling.PROFILE_VARIABLE, profiling.CALLS_VARIABLE)
    }
    answer = subprocess.run(
        [sys.executable, "-c", COUNTING],
        env=env | variables,
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    return answer.stdout.strip()


def test_without_a_variable_nothing_is_counted_or_written(tmp_path):
    assert _run(tmp_path) == "False"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("variable", [profiling.PROFILE_VARIABLE, profiling.CALLS_VARIABLE])
def test_each_variable_writes_the_calls_of_the_process_into_its_directory(tmp_path, variable):
    out = tmp_path / "out"
    assert _run(tmp_path, **{variable: str(out)}) == "True"
    [calls] = out.glob("probe-*.calls.json")
    assert json.loads(calls.read_text()) == {
        "DynamoDB_20120810.UpdateItem": {"calls": 2, "cpu_ms": 3.0}
    }


def test_only_the_profile_variable_runs_cprofile(tmp_path):
    _run(tmp_path, **{profiling.CALLS_VARIABLE: str(tmp_path / "calls")})
    assert list((tmp_path / "calls").glob("*.prof")) == []
    _run(tmp_path, **{profiling.PROFILE_VARIABLE: str(tmp_path / "profile")})
    [profile] = (tmp_path / "profile").glob("probe-*.prof")
    functions = {name for _, _, name in pstats.Stats(str(profile)).stats}  # type: ignore[attr-defined]
    assert "<genexpr>" in functions
