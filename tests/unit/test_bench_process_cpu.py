"""The load benchmark's CPU figures: each process by name, read from /proc, per request."""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter

import pytest

from tests.bench import process_cpu

pytestmark = pytest.mark.skipif(not process_cpu.available(), reason="needs /proc")


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_a_child_process_is_counted_under_its_devstack_name():
    context = multiprocessing.get_context("spawn")
    child = context.Process(target=_spin, args=(3.0,), name="devstack-LookupFunction")
    child.start()
    try:
        # Read while it spins: a child that has exited is no longer one of ours.
        time.sleep(0.5)
        before = process_cpu.snapshot()
        time.sleep(1.0)
        after = process_cpu.snapshot()
    finally:
        child.kill()
        child.join(20)
    # A shared machine may give it a sliver of a core, but never nothing.
    assert after["LookupFunction"] > before["LookupFunction"]
    assert "router, rest of the stack" in after


def test_per_request_figures_divide_each_part_and_drop_the_idle_ones():
    before = Counter({"moto": 1.0, "LookupFunction": 2.0, "idle": 5.0})
    after = Counter({"moto": 1.5, "LookupFunction": 3.0, "idle": 5.0})
    assert process_cpu.per_request_ms(before, after, 100) == {
        "LookupFunction": 10.0,
        "moto": 5.0,
    }
