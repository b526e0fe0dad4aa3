"""Where the stack's CPU goes, switched on by a variable and kept off the default path.

`SEKISHO_DEVSTACK_PROFILE=<directory>` in the environment of the process that starts the
stack makes every process of it (the stack's own, moto's, each function worker) run
cProfile over all of its threads and write `<label>-<pid>.prof` there when it ends (the
end of a benchmark, `make dev`'s Ctrl-C); `.venv/bin/python -m pstats` reads them.
cProfile about doubles the CPU of what it watches, so `SEKISHO_DEVSTACK_CALLS=<directory>`
instead only counts the CPU of each AWS call moto serves (`<label>-<pid>.calls.json`, the
thread's CPU per call by X-Amz-Target), which costs next to nothing.

Without either variable, `install` returns at once and nothing else here runs.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import cProfile
    from types import FrameType

PROFILE_VARIABLE = "SEKISHO_DEVSTACK_PROFILE"
CALLS_VARIABLE = "SEKISHO_DEVSTACK_CALLS"

_lock = threading.Lock()
_profiles: list[cProfile.Profile] = []
_tallies: dict[str, list[float]] = {}
# Where this process writes what it counted; empty until `install` switches it on.
_target: dict[str, Path] = {}


def active() -> bool:
    """Whether this process counts (either variable was set when it installed)."""
    return bool(_target)


def tally(name: str, seconds: float) -> None:
    """One call of `name` that took `seconds` of its thread's CPU."""
    with _lock:
        entry = _tallies.setdefault(name, [0, 0.0])
        entry[0] += 1
        entry[1] += seconds


def _profile_this_thread() -> None:
    # Imported only when switched on: every function worker imports this module.
    import cProfile  # noqa: PLC0415

    # CPU, not the wall clock: a thread waiting on a socket costs nothing, and the time
    # the machine's other work takes from this process is not charged to it.
    profile = cProfile.Profile(time.process_time)
    with _lock:
        _profiles.append(profile)
    profile.enable()


def _on_first_event(frame: FrameType, event: str, arg: Any) -> None:
    # Before 3.12 a profiler sees only the thread that enabled it: threading.setprofile
    # hands every new thread this hook, which gives the thread a profiler of its own.
    sys.setprofile(None)
    _profile_this_thread()


def install(label: str) -> bool:
    """Start counting this process (its threads, this one and every later one) when a
    variable says so; False, doing nothing, otherwise."""
    profile_dir = os.environ.get(PROFILE_VARIABLE)
    where = profile_dir or os.environ.get(CALLS_VARIABLE)
    if not where or _target:
        return False
    Path(where).mkdir(parents=True, exist_ok=True)
    _target["profile"] = Path(where) / f"{label}-{os.getpid()}.prof"
    if profile_dir:
        # From 3.12 cProfile rides sys.monitoring: one profiler sees every thread (and a
        # second may not start). Threads interleave on its one call stack, so own times
        # hold and the cumulative times of blocking calls do not.
        if sys.version_info < (3, 12):
            threading.setprofile(_on_first_event)
        _profile_this_thread()
    atexit.register(dump)
    return True


def exit_on_sigterm() -> None:
    """A process ended by SIGTERM (moto's) writes what it counted first."""
    if not _target:
        return

    def _dump_and_exit(signum: int, frame: FrameType | None) -> None:
        dump()
        os._exit(0)

    signal.signal(signal.SIGTERM, _dump_and_exit)


def dump() -> None:
    """Write what this process counted so far (multiprocessing's children skip atexit)."""
    target = _target.get("profile")
    if target is None:
        return
    import pstats  # noqa: PLC0415

    with _lock:
        profiles = list(_profiles)
        calls = {
            name: {"calls": int(n), "cpu_ms": round(s * 1000, 2)}
            for name, (n, s) in _tallies.items()
        }
    if calls:
        text = json.dumps(calls, indent=1, sort_keys=True)
        target.with_suffix(".calls.json").write_text(text)
    stats: pstats.Stats | None = None
    for profile in profiles:
        profile.snapshot_stats()
        if not profile.stats:  # type: ignore[attr-defined]
            continue
        if stats is None:
            stats = pstats.Stats(profile)
        else:
            stats.add(profile)
    if stats is not None:
        stats.dump_stats(target)
