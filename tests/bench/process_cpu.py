"""CPU seconds spent by each part of the local stack, read from /proc: robust to a shared
machine where requests per second are not (another engineer's tests slow the wall clock,
not the CPU a request costs).

The parts: every process the benchmark started (moto, each function's workers, the load
client), by name, and this process's threads by what they serve: the kintone emulator's
and the queue pumps' threads by name, the rest as the router's (its threads serve the
client's connections, which end before the stretch's last reading: their CPU is read
from the process's whole figure, less the other threads').
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import Counter
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu(stat: Path) -> float:
    """utime + stime of a /proc stat file, in seconds (0 for one that is gone)."""
    try:
        text = stat.read_text()
    except OSError:
        return 0.0
    # The command name may hold spaces and parentheses: the fields start after the last ")".
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _part_of(thread: threading.Thread) -> str:
    owner = getattr(getattr(thread, "_target", None), "__self__", None)
    if type(owner).__name__ == "EmulatorHTTPServer":
        return "kintone emulator"
    if thread.name.startswith(("pump-", "poll-")):
        return "queue pumps"
    return "router, rest of the stack"


def snapshot() -> Counter[str]:
    """CPU seconds so far of each part."""
    parts: Counter[str] = Counter()
    for child in multiprocessing.active_children():
        name = child.name.removeprefix("devstack-")
        if not child.name.startswith("devstack-"):
            name = "load client"
        parts[name] += _cpu(Path(f"/proc/{child.pid}/stat"))
    own = 0.0
    for thread in threading.enumerate():
        if thread.native_id is None:
            continue
        part = _part_of(thread)
        if part != "router, rest of the stack":
            seconds = _cpu(Path(f"/proc/self/task/{thread.native_id}/stat"))
            parts[part] += seconds
            own += seconds
    parts["router, rest of the stack"] += _cpu(Path("/proc/self/stat")) - own
    return parts


def available() -> bool:
    return Path("/proc/self/stat").is_file()


def per_request_ms(before: Counter[str], after: Counter[str], requests: int) -> dict[str, float]:
    """Each part's CPU milliseconds per request between two snapshots, heaviest first."""
    spent = {part: after[part] - before.get(part, 0.0) for part in after}
    rows = {part: 1000 * seconds / max(requests, 1) for part, seconds in spent.items()}
    return dict(sorted(((p, ms) for p, ms in rows.items() if ms > 0.005), key=lambda r: -r[1]))
