"""`make burst-actions`: verified webhook events arrive while kintone is in maintenance;
ActionFunction applies each exactly once afterwards. Prints figures; asserts nothing.

The whole local stack runs (`devstack`: the router and WebhookFunction's workers, moto,
WebhookQueue pumped into ActionFunction, the kintone emulator capped at 10 concurrent
requests with 5 % 429s). N seminar applications are put into kintone first; then N
signed Stripe `checkout.session.completed` deliveries of paid sessions arrive (every
tenth delivered twice, as senders retry), and kintone is in maintenance (503 text/plain)
for a window while they do. The figures: applications paid, lost (never paid), doubled
(the revision advanced more than once), dead letters, the most requests kintone worked on
at once, and the drain time after kintone came back next to the cap's theoretical minimum.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

from devstack import stack as devstack
from devstack.provision import local_secret_name
from devstack.stack import RunningStack
from tests.action_support import checkout_completed
from tests.bench.burst import admin, kintone_client
from webhook_senders import sign

REPO = Path(__file__).resolve().parents[2]
SOURCE, APP, KEY, RECEIPT = "demo-stripe", 2, "受付ID", "決済イベントID"
ACTION_FUNCTION = "ActionFunction"


@dataclass(frozen=True)
class ActionBurstReport:
    events: int
    deliveries: int
    answers: Counter
    paid: int
    lost: int
    doubled: int
    dead_letters: int
    max_admitted: int
    cap: int
    concurrency: int
    submit_seconds: float
    window_end: float
    drain_seconds: float
    minimum_seconds: float

    def lines(self) -> list[str]:
        return [
            f"events {self.events}, deliveries {self.deliveries}: answers {dict(self.answers)}",
            f"applications paid    {self.paid}",
            f"lost                 {self.lost}",
            f"doubled              {self.doubled}",
            f"dead letters         {self.dead_letters}",
            f"most concurrent kintone requests: {self.max_admitted} (cap {self.cap}); "
            f"ActionFunction concurrency {self.concurrency}",
            f"deliveries took {self.submit_seconds:.1f} s; kintone was back at "
            f"{self.window_end:.1f} s",
            f"drain after kintone returned {self.drain_seconds:.1f} s; the cap's theoretical "
            f"minimum {self.minimum_seconds:.1f} s; ratio "
            f"{self.drain_seconds / max(self.minimum_seconds, 1e-9):.2f}x",
        ]


def _applications(stack: RunningStack, n: int) -> dict[str, str]:
    """N unpaid applications; their receipts and revisions."""
    client = kintone_client(stack.kintone.url, "seminar-add-token")
    for i in range(n):
        client.add_record(
            APP, {KEY: f"burst-{i:05d}", "氏名": f"burst {i}", "メール": f"b{i}@example.com"}
        )
    return {receipt: revision for receipt, (revision, _) in _state(stack).items()}


def _state(stack: RunningStack) -> dict[str, tuple[str, str]]:
    """Every burst application: receipt -> (revision, the receipt of the event applied).

    Read from the emulator's own store (it runs in this process), so it can be read while
    kintone answers 503 and adds no request to the ones being measured."""
    return {
        r[KEY]["value"]: (r["$revision"]["value"], r[RECEIPT]["value"])
        for r in stack.kintone.emulator.store.records(APP)
        if r[KEY]["value"].startswith("burst-")
    }


def _seconds_per_action(stack: RunningStack, samples: int = 20) -> float:
    """One action's kintone work, unloaded: a read of the record, then its update."""
    view = kintone_client(stack.kintone.url, "seminar-view-token")
    edit = kintone_client(stack.kintone.url, "seminar-edit-token")
    _applications(stack, 1)
    times = []
    for i in range(samples):
        t = time.perf_counter()
        (r,) = view.get_records(APP, f'{KEY} = "burst-00000"', fields=["$id", "$revision"]).records
        edit.update_record(
            APP, int(r["$id"]["value"]), {RECEIPT: f"c{i}"}, revision=r["$revision"]["value"]
        )
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def run_action_burst(
    n: int,
    *,
    cap: int = 10,
    rate_429: float = 0.05,
    window_seconds: float = 60.0,
    window_after: float = 1.0,
    redeliver_every: int = 10,
    clients: int = 8,
    workers: int = 2,
    drain_timeout: float = 900.0,
) -> ActionBurstReport:
    with devstack.start(repo_root=REPO, workers=workers) as stack:
        url = stack.kintone.url
        unit = _seconds_per_action(stack)
        admin(url, "reset", {})
        before = _applications(stack, n)
        admin(url, "limits", {"concurrency": cap})
        admin(url, "faults", {"rate_429": rate_429, "seed": 7})
        (source,) = [s for s in stack.sqs_sources if s.function == ACTION_FUNCTION]
        import boto3  # noqa: PLC0415

        sm = boto3.client("secretsmanager", endpoint_url=stack.moto_url)
        secret = json.loads(
            sm.get_secret_value(SecretId=local_secret_name(f"sekisho/webhook/{SOURCE}"))[
                "SecretString"
            ]
        )
        expected = {f"burst-{i:05d}": f"{SOURCE}#evt_burst_{i:05d}" for i in range(n)}
        window_end: list[float] = []
        backlog: list[int] = []

        def paid_now() -> set[str]:
            return {k for k, (_, done) in _state(stack).items() if done == expected.get(k)}

        def maintenance_window() -> None:
            time.sleep(window_after)
            admin(url, "maintenance", {"enabled": True})
            time.sleep(window_seconds)
            # What is still to do when kintone comes back (read just before it does).
            backlog.append(n - len(paid_now()))
            admin(url, "maintenance", {"enabled": False})
            window_end.append(time.monotonic())

        local = threading.local()

        def deliver(i: int) -> list[int]:
            http = getattr(local, "http", None) or requests.Session()
            http.trust_env = False
            local.http = http
            # Paid sessions (a card): each meets mark-seminar-paid's `when`, so every one is
            # written; an unpaid one would be skipped and count as lost here.
            event = checkout_completed(
                f"evt_burst_{i:05d}", f"burst-{i:05d}", payment_status="paid"
            )
            body = json.dumps(event, ensure_ascii=False).encode()
            signed = sign("stripe", body, secret, now=int(time.time()))
            times = 2 if i % redeliver_every == 0 else 1
            return [
                http.post(
                    f"{stack.router_url}/webhooks/{SOURCE}",
                    data=body,
                    headers=signed.headers,
                    timeout=60,
                ).status_code
                for _ in range(times)
            ]

        started = time.monotonic()
        window = threading.Thread(target=maintenance_window, daemon=True)
        window.start()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            answers = Counter(code for codes in pool.map(deliver, range(n)) for code in codes)
        submitted = time.monotonic() - started

        deadline = time.monotonic() + max(drain_timeout, window_after + window_seconds)
        while True:
            paid = paid_now()
            if (len(paid) == n and window_end) or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
        state = _state(stack)
        finished = time.monotonic()
        window.join()
        sqs = boto3.client("sqs", endpoint_url=stack.moto_url)
        dlq = stack.queue("WebhookDeadLetterQueue").url
        dead = sqs.get_queue_attributes(
            QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        stats = admin(url, "stats")
        back = window_end[0] if window_end else finished
        return ActionBurstReport(
            events=n,
            deliveries=sum(answers.values()),
            answers=answers,
            paid=len(paid),
            lost=n - len(paid),
            doubled=sum(1 for k, (rev, _) in state.items() if int(rev) > int(before[k]) + 1),
            dead_letters=int(dead),
            max_admitted=stats["max_admitted"],
            cap=cap,
            concurrency=source.concurrency,
            submit_seconds=submitted,
            window_end=back - started,
            drain_seconds=finished - back,
            # What was left when kintone came back: one read and one update each, at most
            # `concurrency` at a time (and never more than kintone's cap).
            minimum_seconds=(backlog[0] if backlog else n) * unit / min(cap, source.concurrency),
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500)
    parser.add_argument("--window", type=float, default=60.0, help="maintenance seconds")
    parser.add_argument("--workers", type=int, default=2, help="webhook worker processes")
    args = parser.parse_args(argv)
    report = run_action_burst(args.n, window_seconds=args.window, workers=args.workers)
    print("\n".join(report.lines()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
