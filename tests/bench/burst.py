"""`make burst`: a burst of form submissions through the intake route while kintone is
busy and then down, drained by the deliverer. Prints figures; asserts nothing.

The whole local stack runs (`devstack`: the router and the intake function's worker
processes, moto, the queue pump into DeliverFunction). kintone (the emulator) has its
concurrency cap at 10, answers 5 % of requests with 429 and goes into maintenance (503
text/plain) for one window while the burst is on. The figures: records in kintone, lost
(accepted but never recorded), duplicated (one receipt recorded twice), the most requests
kintone worked on at once, and the drain time next to the cap's theoretical minimum.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

import devstack
from sekisho.kintone import KintoneClient, RetryPolicy, TokenSource
from sekisho.kintone.breaker import CircuitBreaker

REPO = Path(__file__).resolve().parents[2]
FORM, APP, RECEIPT = "seminar-apply", 2, "受付ID"


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
    submit_seconds: float
    drain_seconds: float
    minimum_seconds: float

    def lines(self) -> list[str]:
        return [
            f"submitted {self.submitted}: {self.recorded_at_once} recorded at once (201), "
            f"{self.queued} queued (202), refused {dict(self.refused) or 0}",
            f"records in kintone   {self.in_kintone}",
            f"lost                 {self.lost}",
            f"duplicated           {self.duplicated}",
            f"most concurrent kintone requests: {self.max_admitted} worked on "
            f"(cap {self.cap}); {self.max_attempted} attempted, the rest refused with 429",
            f"submitting took {self.submit_seconds:.1f} s (the local stack's intake: router, "
            "worker processes, moto)",
            f"drain {self.drain_seconds:.1f} s; the cap's theoretical minimum "
            f"{self.minimum_seconds:.1f} s; ratio {self.drain_seconds / self.minimum_seconds:.2f}x",
        ]


def burst_policy(path: Path) -> Path:
    """The shipped policy, with the form's per-IP limit opened: every submission of the
    burst comes from 127.0.0.1."""
    policy = yaml.safe_load((REPO / "policy.yaml").read_text(encoding="utf-8"))
    policy["forms"][FORM]["guard"] = {"per_ip": "1000000/hour"}
    path.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    return path


def kintone_client(url: str, token: str) -> KintoneClient:
    return KintoneClient(
        url,
        TokenSource.fixed(token),
        session=requests.Session(),
        retry=RetryPolicy(max_attempts=5, base_delay=0.05, max_delay=0.5),
        breaker=CircuitBreaker(failure_threshold=1000),
    )


def seconds_per_add(kintone_url: str, samples: int = 40) -> float:
    """How long kintone (the emulator) takes for one add, unloaded: the cap's unit of work."""
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


def run_burst(
    n: int,
    *,
    cap: int = 10,
    rate_429: float = 0.05,
    window_seconds: float = 60.0,
    window_after: float = 1.0,
    clients: int = 16,
    workers: int = 4,
    drain_timeout: float = 900.0,
    tmp: Path,
) -> BurstReport:
    with devstack.start(
        repo_root=REPO, workers=workers, policy=burst_policy(tmp / "p.yaml")
    ) as stack:
        url = stack.kintone.url
        unit = seconds_per_add(url)
        admin(url, "reset", {})
        # The seed's own applications are not the burst's.
        seeded = set(receipts_in_kintone(url))
        admin(url, "limits", {"concurrency": cap})
        admin(url, "faults", {"rate_429": rate_429, "seed": 7})

        def maintenance_window() -> None:
            time.sleep(window_after)
            admin(url, "maintenance", {"enabled": True})
            time.sleep(window_seconds)
            admin(url, "maintenance", {"enabled": False})

        window = threading.Thread(target=maintenance_window, daemon=True)
        session = threading.local()

        def submit(i: int) -> tuple[int, str | None]:
            http = getattr(session, "http", None) or requests.Session()
            session.http = http
            answer = http.post(
                f"{stack.router_url}/forms/{FORM}",
                json={"fields": {"name": f"burst {i}", "email": f"b{i}@example.com", "seats": 1}},
                headers={"Idempotency-Key": str(uuid.uuid4())},
                timeout=60,
            )
            receipt = answer.json().get("receipt") if answer.status_code in (201, 202) else None
            return answer.status_code, receipt

        started = time.monotonic()
        window.start()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            answers = list(pool.map(submit, range(n)))
        submitted = time.monotonic() - started
        accepted = {receipt for _, receipt in answers if receipt}
        statuses = Counter(status for status, _ in answers)

        # The drain is timed from the first submission until every accepted receipt is
        # in kintone; the deadline counts from the end of the submissions.
        deadline = time.monotonic() + max(drain_timeout, window_after + window_seconds)
        while True:
            found = [r for r in receipts_in_kintone(url) if r not in seeded]
            if accepted <= set(found) or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
        drained = time.monotonic() - started
        window.join()
        stats = admin(url, "stats")
        counts = Counter(found)
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
            submit_seconds=submitted,
            drain_seconds=drained,
            # Nothing can be written during the window; the rest at `cap` adds at a time.
            minimum_seconds=window_after + window_seconds + n * unit / cap,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--window", type=float, default=60.0, help="maintenance seconds")
    parser.add_argument("--workers", type=int, default=4, help="intake worker processes")
    args = parser.parse_args(argv)
    import tempfile  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        report = run_burst(args.n, window_seconds=args.window, workers=args.workers, tmp=Path(tmp))
    print("\n".join(report.lines()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
