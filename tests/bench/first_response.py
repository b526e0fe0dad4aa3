"""`make bench`: each request function's first response, next to a bare relay's.

What a visitor waits for on a cold container is not the init alone but the init and the
first request together (work deferred to the first request is still waited for). For
every function with a request path (lookup, intake, deliver, webhook, action, session,
partner) this starts a fresh ``python`` and times it from the parent's clock before the
exec to the moment the handler's answer is read back from the child: the interpreter's
start, the imports, the policy, the clients, and the one request, against moto's server
(a process of its own) and the kintone emulator on loopback.

Beside each, in the same round, a **bare relay** (tests/bench/bare_relays.py): one plain
function with boto3 and requests, no sekisho and no Powertools, making the same calls
(tests/integration/test_bare_relays_in_step.py keeps them in step) and answering the same
JSON. The two alternate round by round (which goes first alternates too); the ratio is the
median of the rounds' ratios.

Each child also reports its CPU time (user + sys, interpreter start included) and its
peak RSS (VmHWM) at the answer: the figures that choose each function's MemorySize
(Lambda gives CPU in proportion to memory, one vCPU at 1,769 MB): the smallest size of
MEMORY_SIZES whose estimated first response (CPU time scaled by 1769 / size, plus the
measured wait on the network) is within GOAL_FIRST_RESPONSE_MS, with room for the RSS.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from tests.bench.figures import Figure, record
from tests.bench.first_response_child import Child, libraries_only, run_child
from tests.bench.first_response_events import EVENT_BUILDERS
from tests.bench.first_response_stack import (
    FUNCTIONS,
    Stack,
    bare_target,
    libraries_target,
    snapstart_target,
    stack,
)

GOAL_RATIO = 1.15
GOAL_RSS_MB = 90
# The first response an arm64 container of the chosen size should give (estimated).
GOAL_FIRST_RESPONSE_MS = 1000
# Lambda's CPU share is in proportion to memory: one full vCPU at 1,769 MB.
FULL_VCPU_MB = 1769
MEMORY_SIZES = (128, 256, 384, 512, 640, 768, 1024, 1280, 1536, 1769)
# Memory beyond the peak RSS: the runtime's own, the response, a larger batch.
RSS_HEADROOM = 1.5

# ------------------------------------------------------------------------ measuring


@dataclass(frozen=True)
class Result:
    """One function's figures: medians over the rounds (ratios: medians of each round's)."""

    name: str
    ms: float
    bare_ms: float
    ratio: float
    cpu_ms: float
    bare_cpu_ms: float
    cpu_ratio: float
    rss_mb: float  # the largest of the rounds
    bare_rss_mb: float
    # What the first response spent off the CPU (the network, moto, the emulator): the
    # least of the rounds, since a busy machine only adds waiting for a core to it.
    wait_ms: float = 0.0
    # The bare relay with sekisho's libraries imported first: what is left is sekisho's.
    libraries_ms: float = 0.0
    libraries_ratio: float = 0.0
    # The middle half of the rounds' ratios (first to third quartile): how far a shared
    # machine moves the figure from one round to the next.
    ratio_q1: float = 0.0
    ratio_q3: float = 0.0
    # With SnapStart on: from the restore to the answer (the init is in the snapshot).
    restored_ms: float = 0.0
    restored_cpu_ms: float = 0.0


def _libraries(running: Stack, name: str, n: int) -> list[str]:
    """What sekisho's function loads of the libraries the bare relay does not use."""
    own = run_child(running.targets[name], EVENT_BUILDERS[name](running, n), list_modules=True)
    bare = run_child(bare_target(name, running), EVENT_BUILDERS[name](running, n + 1),
                     list_modules=True)  # fmt: skip
    return libraries_only(own, bare)


def measure(
    running: Stack, names: list[str], rounds: int, progress: Callable[[str], None] = print
) -> list[Result]:
    # Round 0 (not counted): which libraries each function loads, for the third child.
    n = 1_000_000
    preload = {}
    for name in names:
        preload[name] = _libraries(running, name, n)
        n += 2
    rows: dict[str, list[dict[str, Child]]] = {name: [] for name in names}
    n = 0
    for round_ in range(rounds):
        for name in names:
            bare = bare_target(name, running)
            order = [
                (running.targets[name], "own"),
                (bare, "bare"),
                (libraries_target(bare, preload[name]), "libraries"),
                (snapstart_target(running.targets[name]), "snapstart"),
            ]
            # Which of them meets a moment of the machine first turns each round.
            order = order[round_ % 4 :] + order[: round_ % 4]
            got: dict[str, Child] = {}
            for target, which in order:
                n += 1
                got[which] = run_child(target, EVENT_BUILDERS[name](running, n))
            rows[name].append(got)
        progress(
            f"  round {round_ + 1}/{rounds}: "
            + ", ".join(
                f"{name} {r['own'].wall * 1000:.0f}/{r['bare'].wall * 1000:.0f}"
                f"/{r['libraries'].wall * 1000:.0f} ms"
                for name, r in ((m, rows[m][-1]) for m in names)
            )
        )
    return [_result(name, got) for name, got in rows.items()]


def _quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q3


def _result(name: str, rows: list[dict[str, Child]]) -> Result:
    med = statistics.median
    own, bare, libs, snap = (
        [r[k] for r in rows] for k in ("own", "bare", "libraries", "snapstart")
    )
    q1, q3 = _quartiles([a.wall / b.wall for a, b in zip(own, bare, strict=True)])
    return Result(
        name=name,
        ms=med(a.wall for a in own) * 1000,
        bare_ms=med(b.wall for b in bare) * 1000,
        ratio=med(a.wall / b.wall for a, b in zip(own, bare, strict=True)),
        cpu_ms=med(a.cpu for a in own) * 1000,
        bare_cpu_ms=med(b.cpu for b in bare) * 1000,
        cpu_ratio=med(a.cpu / b.cpu for a, b in zip(own, bare, strict=True)),
        rss_mb=max(a.rss_mb for a in own),
        bare_rss_mb=max(b.rss_mb for b in bare),
        wait_ms=max(0.0, min(a.wall - a.cpu for a in own) * 1000),
        libraries_ms=med(c.wall for c in libs) * 1000,
        libraries_ratio=med(a.wall / c.wall for a, c in zip(own, libs, strict=True)),
        ratio_q1=q1,
        ratio_q3=q3,
        restored_ms=med(c.restored or 0.0 for c in snap) * 1000,
        restored_cpu_ms=med(c.restored_cpu or 0.0 for c in snap) * 1000,
    )


# ------------------------------------------------------------------------ MemorySize


@dataclass(frozen=True)
class Sizing:
    name: str
    cpu_ms: float
    rss_mb: float
    memory_mb: int
    estimated_ms: float


def estimated_first_response(result: Result, memory_mb: int) -> float:
    """CPU time scaled to the share of a vCPU ``memory_mb`` buys, plus the measured wait
    (what a full core here spends on the CPU, a smaller share spends for longer)."""
    return result.cpu_ms * FULL_VCPU_MB / min(memory_mb, FULL_VCPU_MB) + result.wait_ms


def sizing(result: Result) -> Sizing:
    """The smallest of MEMORY_SIZES that meets GOAL_FIRST_RESPONSE_MS with the RSS's
    headroom; the largest when none does."""
    fits = [size for size in MEMORY_SIZES if size >= result.rss_mb * RSS_HEADROOM]
    chosen = next(
        (s for s in fits if estimated_first_response(result, s) <= GOAL_FIRST_RESPONSE_MS),
        fits[-1] if fits else MEMORY_SIZES[-1],
    )
    return Sizing(
        result.name, result.cpu_ms, result.rss_mb, chosen, estimated_first_response(result, chosen)
    )


# ------------------------------------------------------------------------ reporting


def _ok(met: bool) -> str:
    return "ok" if met else "OVER"


def report(results: list[Result], rounds: int) -> list[str]:
    lines = [
        f"first response: a fresh python per answer, {rounds} rounds, sekisho and its bare relay "
        "alternating; medians (ratio: the median of each round's ratio)",
        f"  {'function':<9}{'ms':>9}{'bare ms':>10}{'ratio':>8}  {'goal':<12}{'rounds':<11}"
        f"{'cpu ms':>8}{'bare':>7}{'cpu ratio':>10}   {'peak RSS':>9}  goal"
        f"{'libs ms':>14}{'ratio':>7}",
    ]
    for r in results:
        lines.append(
            f"  {r.name:<9}{r.ms:9.1f}{r.bare_ms:10.1f}{r.ratio:7.2f}x  "
            f"≤{GOAL_RATIO}x {_ok(r.ratio <= GOAL_RATIO):<5}"
            f"{f'{r.ratio_q1:.2f}–{r.ratio_q3:.2f}':<11}"
            f"{r.cpu_ms:8.1f}{r.bare_cpu_ms:7.1f}{r.cpu_ratio:9.2f}x   "
            f"{r.rss_mb:6.1f} MB  ≤{GOAL_RSS_MB} MB {_ok(r.rss_mb <= GOAL_RSS_MB):<4}"
            f"{r.libraries_ms:10.1f}{r.libraries_ratio:7.2f}x"
        )
    lines += [
        "  ms: from before the exec to the answer read back (interpreter, imports, policy,",
        "  clients, the request against moto and the emulator); cpu: the child's user + sys",
        "  up to its answer, which other work on a shared machine disturbs less; libs: the",
        "  bare relay after importing the libraries sekisho's function uses and it does not",
        "  (Powertools, PyJWT, the signature library): the ratio to it is sekisho's own code;",
        "  rounds: the middle half of the rounds' ratios, how much the machine moved them",
    ]
    return lines


def snapstart_report(results: list[Result]) -> list[str]:
    lines = [
        "with SnapStart on (the runtime's snapshot hooks run as Lambda runs them): a restored",
        "container's first response, from the restore to the answer; the init is in the snapshot",
        f"  {'function':<9}{'restored ms':>12}{'cpu ms':>8}{'cold ms':>9}{'bare cold ms':>14}",
    ]
    lines += [
        f"  {r.name:<9}{r.restored_ms:12.1f}{r.restored_cpu_ms:8.1f}{r.ms:9.1f}{r.bare_ms:14.1f}"
        for r in results
    ]
    lines.append(
        "  (Lambda's own restore of the snapshot comes on top of it: it is not measured here)"
    )
    return lines


def sizing_report(sizings: list[Sizing]) -> list[str]:
    lines = [
        f"MemorySize from the first response: the smallest size whose estimate (cpu x "
        f"{FULL_VCPU_MB} / MB + the wait) is ≤ {GOAL_FIRST_RESPONSE_MS} ms, with {RSS_HEADROOM}x "
        "the peak RSS",
        f"  {'function':<9}{'cpu ms':>8}{'RSS MB':>8}{'chosen MB':>11}{'estimated ms':>14}",
    ]
    lines += [
        f"  {s.name:<9}{s.cpu_ms:8.1f}{s.rss_mb:8.1f}{s.memory_mb:11d}{s.estimated_ms:14.0f}"
        for s in sizings
    ]
    return lines


def run_figures(results: list[Result], sizings: list[Sizing]) -> list[Figure]:
    rows = []
    for r in results:
        rows += [
            Figure(f"{r.name}: first response vs bare relay", r.ratio, "x", GOAL_RATIO),
            Figure(f"{r.name}: first response", r.ms, "ms", digits=0),
            Figure(f"{r.name}: first response, bare relay", r.bare_ms, "ms", digits=0),
            Figure(
                f"{r.name}: first response vs bare relay with the same libraries",
                r.libraries_ratio,
                "x",
            ),
            Figure(f"{r.name}: first response peak RSS", r.rss_mb, "MB", GOAL_RSS_MB, digits=1),
            Figure(
                f"{r.name}: first response after a SnapStart restore", r.restored_ms, "ms", digits=1
            ),
        ]
    rows += [Figure(f"{s.name}: MemorySize chosen", s.memory_mb, "MB", digits=0) for s in sizings]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="at least 5 for the figures")
    parser.add_argument("--only", nargs="*", choices=list(FUNCTIONS), help="these functions")
    args = parser.parse_args(argv)
    names = args.only or list(FUNCTIONS)
    print(f"first response: starting moto and the emulator; {args.rounds} rounds of {names}")
    with stack() as running:
        results = measure(running, names, args.rounds)
    sizings = [sizing(r) for r in results]
    print("\n".join(report(results, args.rounds)))
    print()
    print("\n".join(snapstart_report(results)))
    print()
    print("\n".join(sizing_report(sizings)))
    record(*run_figures(results, sizings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
