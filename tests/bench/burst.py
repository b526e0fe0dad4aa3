"""`make burst`: a burst of form submissions through the intake route while kintone is
busy and then down, drained by the deliverer. Prints figures next to their goals; asserts
nothing.

The whole local stack runs (`devstack`: the router and the intake function's worker
processes, moto, IntakeQueue pumped into DeliverFunction). kintone (the emulator) has its
concurrency cap at 10, answers 5 % of requests with 429, takes `--latency-ms` (100 ms) for
every request, and goes into maintenance (503 text/plain) for one window while the burst
is on. The submissions come from a client process of their own (keep-alive connections),
so the browser side never competes with the router, the emulator or the pump for a GIL.

The drain, exactly:

- kintone is back at the moment the maintenance switch is turned off;
- the backlog is every receipt answered (201 or 202) before that moment that kintone does
  not hold at that moment (nothing reaches kintone during maintenance, so it is read
  just before the switch);
- the drain ends when the last receipt of that backlog is in kintone; submissions may go
  on meanwhile (as traffic does after a real maintenance), and what they queue later is
  not part of the backlog;
- the cap's theoretical minimum is backlog × unit / concurrency: the unit is one record
  add as the deliverer sees it (one request per record: DeliverFunction adds each message
  on its own), measured unloaded on this machine with the same latency in place; the
  concurrency is the deliverer's, min(kintone's cap, DeliverConcurrency). The intake's
  workers plus DeliverConcurrency stay within the cap, so the intake's own writes never
  take a slot the deliverer could use. The 5 % 429s, the retry waits and the queue's
  backoff are not allowed for: the ratio says how much they (and the pump) cost.

The emulator's own time for an add (a few ms) is no unit: real kintone takes tens to
hundreds of milliseconds, and against a 2 ms unit the ratio would measure this machine's
CPU rather than the deliverer. 100 ms is a plain add on cybozu.com from AWS Tokyo.

Lost and doubled come from kintone's records by receipt, read through kintone's API at the
end; the drain's clock reads the emulator's store in this process (no request to kintone,
so it adds nothing to what is measured).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from devstack import stack as devstack
from sekisho.kintone.breaker import CircuitBreaker
from sekisho.kintone.client import KintoneClient, TokenSource
from sekisho.kintone.retry import RetryPolicy
from tests.bench.burst_browsers import Answer, Browsers
from tests.bench.load import open_policy, output_to

REPO = Path(__file__).resolve().parents[2]
FORM, APP, RECEIPT = "seminar-apply", 2, "受付ID"
DELIVER_FUNCTION = "DeliverFunction"
# A plain record add on cybozu.com from ap-northeast-1 (tens to a few hundred ms).
DEFAULT_LATENCY_MS = 100
GOAL_SECONDS = 600.0
GOAL_RATIO = 1.2
# How often the drain's clock looks for new records.
_TRACK_EVERY = 0.1


@dataclass(frozen=True)
class BurstReport:
    submitted: int
    accepted: int
    recorded_at_once: int
    queued: int
    refused: Counter
    in_kintone: int
    lost: int
    duplicated: int
    max_admitted: int
    max_attempted: int
    cap: int
    deliver_concurrency: int
    intake_workers: int
    clients: int
    latency_ms: int
    rate_429: float
    submit_seconds: float
    window_start: float  # seconds after the first submission
    window_end: float
    backlog: int  # receipts accepted but not in kintone when kintone came back
    drain_seconds: float | None  # None: the backlog never fully reached kintone
    drain_marks: tuple[float, ...]  # when the first, 10th, 50th, 90th percentile arrived
    unit_seconds: float
    queued_later: int  # 202s answered after kintone came back
    total_seconds: float  # the whole run, the stack's start included

    @property
    def concurrency(self) -> int:
        return min(self.cap, self.deliver_concurrency)

    @property
    def minimum_seconds(self) -> float:
        return self.backlog * self.unit_seconds / self.concurrency

    @property
    def ratio(self) -> float | None:
        if self.drain_seconds is None or self.minimum_seconds <= 0:
            return None
        return self.drain_seconds / self.minimum_seconds

    def lines(self) -> list[str]:
        rate = self.submitted / self.submit_seconds if self.submit_seconds else 0.0
        refused = ", ".join(f"{s}: {c}" for s, c in sorted(self.refused.items())) or "none"
        if self.ratio is None:
            drained = "never: some of the backlog is not in kintone" if self.backlog else "-"
            ratio = "drain ratio -  (no backlog or no end)"
        else:
            drained = f"{self.drain_seconds:.1f} s"
            ratio = (
                f"drain ratio {self.ratio:.2f}x  goal ≤ {GOAL_RATIO}x  "
                f"{_ok(self.ratio <= GOAL_RATIO)}"
            )
        return [
            f"kintone: cap {self.cap} concurrent, {self.rate_429:.0%} 429s, "
            f"{self.latency_ms} ms a request, maintenance {self.window_start:.1f}–"
            f"{self.window_end:.1f} s; intake workers {self.intake_workers}, "
            f"DeliverConcurrency {self.deliver_concurrency}, {self.clients} client connections",
            f"submitted {self.submitted} in {self.submit_seconds:.1f} s ({rate:.1f}/s)",
            f"accepted    {self.accepted:6d}  goal {self.submitted}  "
            f"{_ok(self.accepted == self.submitted)}",
            f"  recorded  {self.recorded_at_once:6d}  (201, written at once)",
            f"  queued    {self.queued:6d}  (202; {self.queued_later} of them after kintone "
            "was back)",
            f"refused     {sum(self.refused.values()):6d}  by status: {refused}",
            f"in kintone  {self.in_kintone:6d}",
            f"lost        {self.lost:6d}  goal 0  {_ok(self.lost == 0)}",
            f"doubled     {self.duplicated:6d}  goal 0  {_ok(self.duplicated == 0)}",
            f"kintone concurrency: {self.max_admitted} worked on at once, {self.max_attempted} "
            f"attempted (the rest refused with 429)  goal ≤ {self.cap}  "
            f"{_ok(self.max_admitted <= self.cap)}",
            f"backlog when kintone was back: {self.backlog} receipts; drained in {drained}"
            + (
                " (first in after {:.1f} s, 10 % {:.1f} s, half {:.1f} s, 90 % {:.1f} s)".format(
                    *self.drain_marks
                )
                if self.drain_marks
                else ""
            ),
            f"cap's minimum {self.minimum_seconds:.1f} s = {self.backlog} × "
            f"{self.unit_seconds * 1000:.1f} ms (one add, unloaded) / {self.concurrency} "
            f"(min(cap {self.cap}, DeliverConcurrency {self.deliver_concurrency}))",
            ratio,
            f"whole run {self.total_seconds:.0f} s  goal ≤ {GOAL_SECONDS:.0f} s  "
            f"{_ok(self.total_seconds <= GOAL_SECONDS)}",
        ]


def _ok(passed: bool) -> str:
    return "ok" if passed else "MISSED"


def kintone_client(url: str, token: str) -> KintoneClient:
    return KintoneClient(
        url,
        TokenSource.fixed(token),
        session=requests.Session(),
        retry=RetryPolicy(max_attempts=5, base_delay=0.05, max_delay=0.5),
        breaker=CircuitBreaker(failure_threshold=1000),
    )


def seconds_per_add(kintone_url: str, samples: int = 40) -> float:
    """How long kintone (the emulator, with whatever latency it is given) takes for one
    add, unloaded, as a client sees it: the cap's unit of work."""
    client = kintone_client(kintone_url, "seminar-add-token")
    times = []
    for i in range(samples):
        t = time.perf_counter()
        client.add_record(
            APP, {RECEIPT: f"calibration-{i}", "氏名": "x", "メール": "x@example.com"}
        )
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def receipts_in_kintone(kintone_url: str) -> list[str]:
    """Every receipt in the app, read page by page by $id (an emulator-only view token)."""
    client = kintone_client(kintone_url, "seminar-view-token")
    receipts, last = [], 0
    while True:
        page = client.get_records(
            APP, f"$id > {last} order by $id asc limit 500", fields=["$id", RECEIPT]
        ).records
        if not page:
            return receipts
        receipts += [r[RECEIPT]["value"] for r in page]
        last = int(page[-1]["$id"]["value"])


def admin(kintone_url: str, path: str, body: dict | None = None) -> dict:
    if body is None:
        return requests.get(f"{kintone_url}/_emulator/{path}", timeout=10).json()
    answer = requests.post(f"{kintone_url}/_emulator/{path}", json=body, timeout=10)
    answer.raise_for_status()
    return answer.json()


class ArrivalClock:
    """When each receipt first appeared in kintone, read from the emulator's store.

    The emulator gives record ids in order, each inside the transaction that stores the
    record, and the burst deletes nothing: reading id after id until one is missing sees
    every record, and only the new ones each time.
    """

    def __init__(self, store: Any) -> None:
        self._store = store
        self._next_id = 1
        self._lock = threading.Lock()
        self.first_seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="arrival-clock", daemon=True)

    def scan(self) -> float:
        """Read every new record now; the time of the read."""
        with self._lock:
            while (record := self._store.record(APP, self._next_id)) is not None:
                self._next_id += 1
                self.first_seen.setdefault(record[RECEIPT]["value"], time.monotonic())
            return time.monotonic()

    def held(self) -> set[str]:
        with self._lock:
            return set(self.first_seen)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(_TRACK_EVERY):
            self.scan()


@dataclass(frozen=True)
class Drain:
    backlog: int
    seconds: float | None  # None: some of the backlog never reached kintone
    marks: tuple[float, ...]  # after how long the first, 10 %, half and 90 % were in


def drain_of(
    answers: list[Answer], held_at_back: set[str], back: float, first_seen: dict[str, float]
) -> Drain:
    """The backlog when kintone came back at `back` (receipts answered by then that kintone
    did not hold), and how long after `back` its last receipt reached kintone."""
    backlog = {a.receipt for a in answers if a.receipt and a.at <= back} - held_at_back
    arrivals = [first_seen.get(receipt) for receipt in backlog]
    if not backlog or None in arrivals:
        return Drain(len(backlog), None, ())
    after = sorted(at - back for at in arrivals if at is not None)
    marks = tuple(after[int(q * (len(after) - 1))] for q in (0, 0.1, 0.5, 0.9))
    return Drain(len(backlog), after[-1], marks)


# -- the run ----------------------------------------------------------------------------


def run_burst(
    n: int,
    *,
    cap: int = 10,
    rate_429: float = 0.05,
    latency_ms: int = DEFAULT_LATENCY_MS,
    window_seconds: float = 60.0,
    window_after: float = 1.0,
    clients: int = 8,
    workers: int = 4,
    deliver_concurrency: int | None = None,
    drain_timeout: float = 900.0,
    tmp: Path,
    progress: Callable[[str], None] | None = None,
    progress_every: float = 5.0,
) -> BurstReport:
    began = time.monotonic()
    parameters = (
        {} if deliver_concurrency is None else {"DeliverConcurrency": str(deliver_concurrency)}
    )
    with devstack.start(
        repo_root=REPO,
        workers=workers,
        policy=open_policy(tmp / "p.yaml"),
        parameters=parameters,
    ) as stack:
        url = stack.kintone.url
        (source,) = [s for s in stack.sqs_sources if s.function == DELIVER_FUNCTION]
        browsers = Browsers(stack.router_url, n, clients)
        admin(url, "faults", {"latency_ms": latency_ms})
        unit = seconds_per_add(url)
        admin(url, "reset", {})
        clock = ArrivalClock(stack.kintone.emulator.store)
        clock.scan()
        seeded = clock.held()  # the seed's own applications are not the burst's
        admin(url, "limits", {"concurrency": cap})
        admin(url, "faults", {"rate_429": rate_429, "latency_ms": latency_ms, "seed": 7})
        window: dict[str, Any] = {}

        def maintenance_window() -> None:
            time.sleep(window_after)
            admin(url, "maintenance", {"enabled": True})
            window["start"] = time.monotonic()
            time.sleep(window_seconds)
            # Nothing reaches kintone while it is in maintenance: this is what it holds
            # at the moment it comes back.
            clock.scan()
            window["held"] = clock.held()
            admin(url, "maintenance", {"enabled": False})
            window["end"] = time.monotonic()

        window_thread = threading.Thread(target=maintenance_window, daemon=True)
        clock.start()
        started = time.monotonic()
        finished = threading.Event()

        def report_progress() -> None:
            tally = browsers.tally
            while progress is not None and not finished.wait(progress_every):
                progress(
                    f"burst {time.monotonic() - started:5.0f} s: submitted "
                    f"{tally.answered.value}/{n}, recorded {tally.recorded.value}, "
                    f"queued {tally.queued.value}, in kintone {len(clock.held() - seeded)}"
                    + (
                        " (kintone in maintenance)"
                        if "start" in window and "end" not in window
                        else ""
                    )
                )

        reporter = threading.Thread(target=report_progress, daemon=True)
        reporter.start()
        browsers.go()
        window_thread.start()
        answers = browsers.answers()
        submitted = time.monotonic() - started
        accepted = {a.receipt for a in answers if a.receipt}

        deadline = time.monotonic() + max(drain_timeout, window_after + window_seconds)
        while time.monotonic() < deadline:
            if not window_thread.is_alive() and accepted <= clock.held():
                break
            time.sleep(0.25)
        window_thread.join()
        finished.set()
        reporter.join()
        clock.stop()
        clock.scan()
        back = window["end"]
        drain = drain_of(answers, window["held"], back, clock.first_seen)

        admin(url, "faults", {})  # the read-back is no part of the measure
        stats = admin(url, "stats")
        found = [r for r in receipts_in_kintone(url) if r not in seeded]
        counts = Counter(found)
        statuses = Counter(a.status for a in answers)
        return BurstReport(
            submitted=n,
            accepted=len(accepted),
            recorded_at_once=statuses.get(201, 0),
            queued=statuses.get(202, 0),
            refused=Counter({s: c for s, c in statuses.items() if s not in (201, 202)}),
            in_kintone=len(found),
            lost=len(accepted - set(found)),
            duplicated=sum(c - 1 for c in counts.values() if c > 1),
            max_admitted=stats["max_admitted"],
            max_attempted=stats["max_concurrent"],
            cap=cap,
            deliver_concurrency=source.concurrency,
            intake_workers=workers,
            clients=clients,
            latency_ms=latency_ms,
            rate_429=rate_429,
            submit_seconds=submitted,
            window_start=window["start"] - started,
            window_end=back - started,
            backlog=drain.backlog,
            drain_seconds=drain.seconds,
            drain_marks=drain.marks,
            unit_seconds=unit,
            queued_later=sum(1 for a in answers if a.status == 202 and a.at > back),
            total_seconds=time.monotonic() - began,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--window", type=float, default=60.0, help="maintenance seconds")
    parser.add_argument("--workers", type=int, default=4, help="intake worker processes")
    parser.add_argument("--clients", type=int, default=8, help="client connections")
    parser.add_argument(
        "--latency-ms", type=int, default=DEFAULT_LATENCY_MS, help="kintone's time a request"
    )
    parser.add_argument(
        "--deliver-concurrency",
        type=int,
        default=None,
        help="the template's DeliverConcurrency (default: the template's default)",
    )
    parser.add_argument(
        "--log", type=Path, default=Path(tempfile.gettempdir()) / "sekisho-burst.log"
    )
    args = parser.parse_args(argv)
    args.log.write_bytes(b"")
    # The progress line goes to the terminal the run was started from, past output_to.
    terminal = os.fdopen(os.dup(1), "w", buffering=1)

    def progress(line: str) -> None:
        terminal.write(line + "\n")

    # The workers log a few lines per submission: into a file, not over the figures.
    with tempfile.TemporaryDirectory() as tmp, output_to(args.log):
        report = run_burst(
            args.n,
            window_seconds=args.window,
            workers=args.workers,
            clients=args.clients,
            latency_ms=args.latency_ms,
            deliver_concurrency=args.deliver_concurrency,
            tmp=Path(tmp),
            progress=progress,
        )
    terminal.close()
    print("\n".join(["== burst ==", *report.lines(), f"the stack's own log: {args.log}"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
