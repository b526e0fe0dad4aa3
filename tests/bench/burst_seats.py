"""`make burst-seats`: N concurrent submissions (default 10,000) for a form of 100 seats
while kintone refuses 5 % with 429 and is in maintenance for 60 s. Prints progress while
it runs and the figures beside their goals at the end; asserts nothing.

The local stack runs as for `make burst` (router, intake workers, moto, IntakeQueue pumped
into DeliverFunction), with the shipped policy's seminar-apply given a capacity of 100
seats for the form as a whole (the browsers send no session, one seat each). Maintenance
starts a moment after the burst, so the seats taken are mostly held by queued entries and
reach kintone after it is back.

The figures, exactly: accepted are the 201s and 202s, refused the 409s (capacity_full);
kintone's records are read back by receipt through kintone's API; oversold is records past
the seats; lost is an accepted receipt kintone does not hold; the counter is the entries
table's, compared with what kintone's records hold (`sekisho seats reconcile`'s count).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import TextIO

import boto3
import yaml

from devstack import stack as devstack
from sekisho.entries.ledger import EntryLedger
from sekisho.entries.reconcile import compare
from sekisho.policy.validation.loader import read_policy
from tests.bench.burst import (
    ArrivalClock,
    Browsers,
    admin,
    kintone_client,
    receipts_in_kintone,
)
from tests.bench.load import open_policy, output_to

REPO = Path(__file__).resolve().parents[2]
FORM = "seminar-apply"
SEATS = 100
DELIVER_FUNCTION = "DeliverFunction"


def seats_policy(path: Path) -> Path:
    open_policy(path)
    policy = yaml.safe_load(path.read_text(encoding="utf-8"))
    form = policy["forms"][FORM]
    form["capacity"] = {
        "seats": SEATS,
        "count": "seats",
        "token_secret": form["capacity"]["token_secret"],
    }
    path.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    return path


def _ok(passed: bool) -> str:
    return "ok" if passed else "MISSED"


def run(n: int, *, window: float, clients: int, workers: int, tmp: Path, out: TextIO) -> list[str]:
    began = time.monotonic()
    policy_path = seats_policy(tmp / "seats.yaml")
    with devstack.start(repo_root=REPO, workers=workers, policy=policy_path) as stack:
        url = stack.kintone.url
        browsers = Browsers(stack.router_url, n, clients)
        admin(url, "reset", {})
        # The seed's demo application holds seats no entry of the table does: without it,
        # the counter and kintone start equal (at 0) and the 100 seats are the burst's.
        # (The clock reads them first: it reads ids in a row from where it last stopped.)
        store = stack.kintone.emulator.store
        clock = ArrivalClock(store)
        clock.scan()
        seeded = clock.held()
        store.delete_records(2, [int(r["$id"]["value"]) for r in store.records(2)])
        admin(url, "faults", {"rate_429": 0.05, "seed": 7})
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=stack.moto_url,
            region_name="ap-northeast-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        ledger = EntryLedger("EntriesTable", dynamodb)
        state = {"maintenance": "before", "done": False}

        def maintenance() -> None:
            time.sleep(0.2)
            admin(url, "maintenance", {"enabled": True})
            state["maintenance"] = "on"
            time.sleep(window)
            admin(url, "maintenance", {"enabled": False})
            state["maintenance"] = "over"

        def progress() -> None:
            while not state["done"]:
                clock.scan()
                taken = ledger.taken(FORM, ["form"])["form"]
                print(
                    f"  {time.monotonic() - began:6.1f} s  maintenance {state['maintenance']:6s}"
                    f"  seats taken {taken:4d}  in kintone {len(clock.held() - seeded):4d}",
                    file=out,
                    flush=True,
                )
                time.sleep(5)

        threads = [threading.Thread(target=f, daemon=True) for f in (maintenance, progress)]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        browsers.go()
        answers = browsers.answers()
        submit_seconds = time.monotonic() - started
        accepted = {a.receipt for a in answers if a.receipt}
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            clock.scan()
            if state["maintenance"] == "over" and accepted <= clock.held():
                break
            time.sleep(0.5)
        state["done"] = True
        admin(url, "faults", {})
        found = [r for r in receipts_in_kintone(url) if r not in seeded]
        counts = Counter(found)
        statuses = Counter(a.status for a in answers)
        form = read_policy(policy_path).form(FORM)
        reader = kintone_client(url, "seminar-view-token")
        [counter] = compare(FORM, form, reader, ledger)
    records = len(set(found))
    refused = statuses.get(409, 0)
    other = {s: c for s, c in statuses.items() if s not in (201, 202, 409)}
    lost = len(accepted - set(found))
    doubled = sum(c - 1 for c in counts.values() if c > 1)
    oversold = max(0, records - SEATS)
    total = time.monotonic() - began
    return [
        f"kintone: 5 % 429s, maintenance {window:.0f} s from 0.2 s; {workers} intake workers, "
        f"{clients} client connections; the form has {SEATS} seats",
        f"submitted {n} in {submit_seconds:.1f} s ({n / submit_seconds:.1f}/s)",
        f"accepted    {len(accepted):6d}  goal {SEATS}  {_ok(len(accepted) == SEATS)}"
        f"  ({statuses.get(201, 0)} recorded at once, {statuses.get(202, 0)} queued)",
        f"refused     {refused:6d}  goal {n - SEATS} (409 capacity_full)  "
        f"{_ok(refused == n - SEATS)}",
        f"other       {sum(other.values()):6d}  goal 0  {_ok(not other)}  {dict(other) or ''}",
        f"in kintone  {records:6d}  goal {SEATS}  {_ok(records == SEATS)}",
        f"oversold    {oversold:6d}  goal 0  {_ok(oversold == 0)}",
        f"lost        {lost:6d}  goal 0  {_ok(lost == 0)}",
        f"doubled     {doubled:6d}  goal 0  {_ok(doubled == 0)}",
        f"counter     {counter.counted:6d}  kintone holds {counter.kintone}  goal equal  "
        f"{_ok(counter.counted == counter.kintone)}",
        f"whole run {total:.0f} s",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--window", type=float, default=60.0, help="maintenance seconds")
    parser.add_argument("--workers", type=int, default=4, help="intake worker processes")
    parser.add_argument("--clients", type=int, default=8, help="client connections")
    parser.add_argument(
        "--log", type=Path, default=Path(tempfile.gettempdir()) / "sekisho-burst-seats.log"
    )
    args = parser.parse_args(argv)
    args.log.write_bytes(b"")
    print(f"== burst-seats: {args.n} submissions for {SEATS} seats ==", flush=True)
    # The workers' log lines go to the file; the progress lines to this terminal.
    with (
        os.fdopen(os.dup(1), "w") as terminal,
        tempfile.TemporaryDirectory() as tmp,
        output_to(args.log),
    ):
        lines = run(
            args.n,
            window=args.window,
            clients=args.clients,
            workers=args.workers,
            tmp=Path(tmp),
            out=terminal,
        )
    print("\n".join([*lines, f"the stack's own log: {args.log}"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
