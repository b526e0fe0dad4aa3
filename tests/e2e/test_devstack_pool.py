"""A function's workers: the warm ones start with the pool, the rest on demand."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.pool import FunctionPool, Invocation, Outcome
from devstack.worker import WorkerConfig

HANDLERS = Path(__file__).parent / "fixtures" / "handlers"


def gate_config() -> WorkerConfig:
    return WorkerConfig(
        logical_id="GateFunction",
        handler_file=HANDLERS / "gate.py",
        handler_attr="handler",
        import_paths=(str(HANDLERS),),
        environment={"PATH": os.environ.get("PATH", "")},
        invoked_function_arn="arn:aws:lambda:ap-northeast-1:123456789012:function:GateFunction",
    )


@pytest.fixture
def pool() -> Iterator[FunctionPool]:
    before = len(multiprocessing.active_children())
    started = FunctionPool(gate_config(), timeout=30, size=2, warm=1)
    started.warm()
    # Only the warm worker runs before anything is invoked.
    assert len(multiprocessing.active_children()) == before + 1
    yield started
    started.close()


def wait_for(gate: Path, started: int) -> None:
    deadline = time.monotonic() + 30
    while len(list(gate.glob("started-*"))) < started:
        assert time.monotonic() < deadline, f"{started} invocations never ran at once"
        time.sleep(0.02)


def test_pool_scales_out_to_its_size_when_every_worker_is_busy(
    pool: FunctionPool, tmp_path: Path
) -> None:
    results: list[Invocation] = []

    def invoke() -> None:
        results.append(pool.invoke({"directory": str(tmp_path)}, "request"))

    callers = [threading.Thread(target=invoke) for _ in range(2)]
    callers[0].start()
    wait_for(tmp_path, 1)
    # The warm worker is held at the gate: the second invocation needs a new one.
    callers[1].start()
    wait_for(tmp_path, 2)
    (tmp_path / "release").touch()
    for caller in callers:
        caller.join(30)

    assert [result.outcome for result in results] == [Outcome.OK, Outcome.OK]
    assert len({result.result["pid"] for result in results}) == 2


def test_pool_serves_one_invocation_after_another_with_its_warm_worker(
    pool: FunctionPool, tmp_path: Path
) -> None:
    (tmp_path / "release").touch()

    first = pool.invoke({"directory": str(tmp_path)}, "one")
    second = pool.invoke({"directory": str(tmp_path)}, "two")

    assert first.result["pid"] == second.result["pid"]
