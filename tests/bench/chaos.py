"""`make chaos`: faults rehearsed on the local stack during a mixed load, with figures.

The whole local stack runs (`devstack`: the router and the functions' workers, moto, the
queues pumped into DeliverFunction and ActionFunction, the kintone emulator). For
`--seconds` (120), lookups, form submissions and signed Stripe webhooks arrive on 4, 4
and 2 keep-alive connections (tests/bench/chaos_load.py), while the faults of
tests/bench/chaos_faults.py strike on their schedule: kintone's lost answers (resets and
timeouts), its maintenance, Secrets Manager unreachable, a rotation of every generated
secret, a worker killed mid-request. Then the queues drain, and kintone is read: every
submission accepted must be there once, every webhook event accepted applied once.

Prints a progress line every 5 s and, at the end, each figure beside its goal
(tests/bench/chaos_tally.py says how answers are counted); records them in
build/bench/chaos.json. Exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from devstack import stack as devstack
from devstack.aws import moto_client
from devstack.fault_proxy import FaultProxy
from devstack.provision import local_secret_name
from devstack.stack import RunningStack
from sekisho.policy.validation.loader import read_policy
from tests.bench import chaos_tally as tally
from tests.bench.burst import admin, kintone_client
from tests.bench.chaos_faults import Injector, Schedule
from tests.bench.chaos_load import WEBHOOK_SOURCE, LoadPlan, Results, Traffic
from tests.bench.figures import ROOT, Figure, record, table
from tests.bench.load import open_policy, output_to

REPO = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "build" / "bench" / "chaos.json"
APP, NAME, RECEIPT, PAID = 2, "氏名", "受付ID", "決済イベントID"
APPLICATION_PREFIX = "chaos-pay-"
DEAD_LETTER_QUEUES = ("IntakeDeadLetterQueue", "WebhookDeadLetterQueue")


@dataclass(frozen=True)
class ChaosReport:
    figures: list[Figure]
    details: list[str]

    @property
    def missed(self) -> list[str]:
        return [f.name.strip() for f in self.figures if f.met is False]

    def lines(self) -> list[str]:
        return ["== chaos ==", *table(self.figures), *self.details]


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _seed_applications(stack: RunningStack, n: int) -> tuple[tuple[str, ...], dict[str, int]]:
    """N unpaid seminar applications for the webhook events to pay; their revisions."""
    client = kintone_client(stack.kintone.url, "seminar-add-token")
    keys = tuple(f"{APPLICATION_PREFIX}{i:05d}" for i in range(n))
    for key in keys:
        client.add_record(APP, {RECEIPT: key, NAME: key, "メール": "pay@example.com"})
    return keys, {k: rev for k, (rev, _) in _applications(stack).items()}


def _applications(stack: RunningStack) -> dict[str, tuple[int, str]]:
    """application -> (revision, the event receipt written on it), from the emulator's
    store (this process: no request adds to kintone's load or meets its faults)."""
    return {
        r[RECEIPT]["value"]: (int(r["$revision"]["value"]), r[PAID]["value"])
        for r in stack.kintone.emulator.store.records(APP)
        if r[RECEIPT]["value"].startswith(APPLICATION_PREFIX)
    }


def _kintone_state(stack: RunningStack, seeded: dict[str, int]) -> tally.KintoneState:
    records = [
        r
        for r in stack.kintone.emulator.store.records(APP)
        if r[NAME]["value"].startswith("chaos ")
    ]
    applications = _applications(stack)
    return tally.KintoneState(
        records_by_name=Counter(r[NAME]["value"] for r in records),
        receipts=Counter(r[RECEIPT]["value"] for r in records),
        paid={k: paid for k, (_, paid) in applications.items()},
        revisions_advanced={k: rev - seeded[k] for k, (rev, _) in applications.items()},
    )


def _left(stack: RunningStack, results: Results, seeded: dict[str, int]) -> tuple[int, int]:
    """Submissions accepted and not yet in kintone; events accepted and not yet applied."""
    state = _kintone_state(stack, seeded)
    accepted = {s.receipt for s in results.submissions if s.receipt}
    events = {e.application: e.event_id for e in results.events if e.accepted}
    unpaid = [a for a, event in events.items() if state.paid.get(a) != f"{WEBHOOK_SOURCE}#{event}"]
    return len(accepted - set(state.receipts)), len(unpaid)


def _dead_letters(stack: RunningStack) -> dict[str, int]:
    sqs = moto_client(stack.moto_url, "sqs")
    counts = {}
    for name in DEAD_LETTER_QUEUES:
        attributes = sqs.get_queue_attributes(
            QueueUrl=stack.queue(name).url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        counts[name] = sum(int(v) for v in attributes.values())
    return counts


def _webhook_secret(stack: RunningStack) -> dict:
    sm = moto_client(stack.moto_url, "secretsmanager")
    name = local_secret_name(f"sekisho/webhook/{WEBHOOK_SOURCE}")
    return json.loads(sm.get_secret_value(SecretId=name)["SecretString"])


def run_chaos(
    seconds: float,
    *,
    tmp: Path,
    log: Path,
    workers: int = 2,
    connections: tuple[int, int, int] = (4, 4, 2),
    webhooks_per_second: float = 4.0,
    drain_timeout: float = 300.0,
    progress=None,
    progress_every: float = 5.0,
) -> ChaosReport:
    """The rehearsal; the stack's own output (every worker's log) goes to `log`, which the
    count of stale secret reads is read from."""
    schedule = Schedule(seconds)
    policy_path = open_policy(tmp / "policy.yaml")
    moto_port = _free_port("127.0.0.1")
    with (
        output_to(log),
        FaultProxy(("127.0.0.1", moto_port)) as proxy,
        devstack.start(
            repo_root=REPO,
            workers=workers,
            policy=policy_path,
            moto_port=moto_port,
            environment={
                # The functions reach Secrets Manager through the switch; nothing else does.
                "AWS_ENDPOINT_URL_SECRETS_MANAGER": proxy.url,
                "SEKISHO_SECRET_CACHE_TTL": f"{schedule.secret_cache_ttl:g}",
            },
        ) as stack,
    ):
        lookups, submissions, webhooks = connections
        events = math.ceil(seconds * webhooks * webhooks_per_second * 1.1) + 10
        keys, seeded = _seed_applications(stack, events)
        traffic = Traffic(
            LoadPlan(
                stack.router_url,
                seconds,
                lookups,
                submissions,
                webhooks,
                webhooks_per_second,
                keys,
                _webhook_secret(stack),
            )
        )
        injector = Injector(stack, proxy, read_policy(policy_path), schedule)
        started = time.monotonic()
        finished = threading.Event()

        def report_progress() -> None:
            last = time.monotonic()
            while progress is not None and not finished.wait(progress_every):
                counts = traffic.counts.snapshot()
                # What is on now, and what struck and ended since the last line (a kill).
                active = injector.timeline.active(last, time.monotonic()) or ["no fault"]
                last = time.monotonic()
                progress(
                    f"chaos {time.monotonic() - started:5.0f} s [{', '.join(active)}]: sent "
                    f"{counts['sent']}, 2xx {counts['ok']}, problems {counts['problems']}, "
                    f"5xx or no answer {counts['server_errors']}"
                )

        reporter = threading.Thread(target=report_progress, daemon=True)
        traffic.go()
        injector.start()
        reporter.start()
        results = traffic.results()
        injector.join()
        finished.set()
        reporter.join()
        deadline = time.monotonic() + drain_timeout
        shown = time.monotonic()
        while any(left := _left(stack, results, seeded)) and time.monotonic() < deadline:
            if progress is not None and time.monotonic() - shown >= progress_every:
                shown = time.monotonic()
                progress(
                    f"chaos {shown - started:5.0f} s [draining]: {left[0]} submissions not "
                    f"yet in kintone, {left[1]} webhook events not yet applied"
                )
            time.sleep(0.5)
        drained = time.monotonic() - started - seconds
        broken = admin(stack.kintone.url, "stats")["broken"]
        state = _kintone_state(stack, seeded)
        dead = _dead_letters(stack)
        routed = {route.function for route in stack.routes}

    timeline = injector.timeline
    codes = tally.documented_codes(REPO / "openapi.json")
    classified = tally.classify(results.answers, codes, timeline.killed_mid_request)
    log_text = log.read_text(encoding="utf-8", errors="replace")
    figures = [
        *tally.answer_figures(classified),
        *tally.submission_figures(results, state),
        *tally.webhook_figures(results, state, WEBHOOK_SOURCE),
        *tally.outage_figures(results.answers, timeline, log_text, routed),
        *tally.rotation_figures(results.answers, timeline),
        *tally.fault_figures(timeline, broken),
        *tally.dead_letter_figures(dead),
        Figure("drain after the load", drained, "s", digits=1),
    ]
    rotation_failures = tally.failed_during_rotation(results.answers, timeline)
    details = [
        f"{seconds:g} s of load on {lookups}/{submissions}/{webhooks} connections "
        f"(lookups/submissions/webhooks), {workers} workers per routed function",
        *(
            f"  {name}: {start - started:6.1f} – {end - started:6.1f} s"
            for name, (start, end) in timeline.windows.items()
        ),
        "answers by kind, status and code:",
        *tally.answers_by_code(classified),
        *tally.listed(classified, rotation_failures, timeline),
        *tally.doubled_submissions(results, state),
    ]
    return ChaosReport(figures, details)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="seconds of load")
    parser.add_argument("--workers", type=int, default=2, help="workers per routed function")
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    parser.add_argument(
        "--log", type=Path, default=Path(tempfile.gettempdir()) / "sekisho-chaos.log"
    )
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    args.log.write_bytes(b"")
    # The progress line goes to the terminal the run was started from, past output_to.
    terminal = os.fdopen(os.dup(1), "w", buffering=1)
    with tempfile.TemporaryDirectory(prefix="sekisho-chaos-") as tmp:
        report = run_chaos(
            args.seconds,
            tmp=Path(tmp),
            log=args.log,
            workers=args.workers,
            drain_timeout=args.drain_timeout,
            progress=lambda line: terminal.write(line + "\n"),
        )
    terminal.close()
    args.output.unlink(missing_ok=True)
    record(*report.figures, path=args.output)
    print("\n".join([*report.lines(), f"the stack's own log: {args.log}"]))
    print(f"figures recorded in {args.output}")
    return 1 if report.missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
