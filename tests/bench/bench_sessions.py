"""Signed-in visitors on the local stack: how long a sign-in takes, and what a list costs.

A person with twelve applications asks for codes and signs in again and again; each page
of their list (five applications, three pages) is fetched while the kintone emulator
counts the requests it serves. Figures: the sign-in's p50 (the code traded for a session,
two round trips inside: the code store and kintone), the code request's answer time
against its floor (the same for a known and an unknown address), and kintone requests
per list page (goal 1: one query per page, the seek by $id included).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

from tests.bench.figures import Figure, record
from tests.bench.load import output_to

REPO = Path(__file__).resolve().parents[2]
FLOOR_MS = 300
APPLICATIONS = 12


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.9 * (len(ordered) - 1))] * 1000


def main(argv: list[str] | None = None) -> int:
    import devstack.stack as devstack  # noqa: PLC0415 - the stack is this command's own
    from devstack.mailbox import wait_for_code  # noqa: PLC0415
    from tests.session_support import open_guard_policy  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sign-ins", type=int, default=20)
    parser.add_argument("--pages", type=int, default=10, help="whole lists fetched")
    parser.add_argument(
        "--log", type=Path, default=Path(tempfile.gettempdir()) / "sekisho-sessions.log"
    )
    args = parser.parse_args(argv)

    # The workers log a line or more per request into the stack's stdout (the log file);
    # progress goes to the terminal through a copy of it taken first.
    progress = os.fdopen(os.dup(1), "w", buffering=1)
    args.log.write_bytes(b"")
    with (
        tempfile.TemporaryDirectory(prefix="sekisho-bench-sessions-") as tmp,
        output_to(args.log),
    ):
        policy = open_guard_policy(Path(tmp))
        parameters = {"CodeRequestFloorMs": str(FLOOR_MS)}
        with devstack.start(repo_root=REPO, policy=policy, parameters=parameters) as stack:
            http = requests.Session()
            http.trust_env = False
            base, email = stack.router_url, "bench-visitor@example.com"
            for i in range(APPLICATIONS):
                answer = http.post(
                    f"{base}/forms/seminar-apply",
                    json={"fields": {"name": f"測定 {i}", "email": email, "seats": 1}},
                    timeout=30,
                )
                answer.raise_for_status()
            print(f"{APPLICATIONS} applications of one person; floor {FLOOR_MS} ms", file=progress)

            known, unknown, sign_ins, token = [], [], [], ""
            for i in range(args.sign_ins):
                seen = len(stack_messages(stack))
                started = time.perf_counter()
                http.post(f"{base}/sessions/applicants/code", json={"email": email}, timeout=30)
                known.append(time.perf_counter() - started)
                started = time.perf_counter()
                http.post(
                    f"{base}/sessions/applicants/code",
                    json={"email": f"nobody-{i}@example.com"},
                    timeout=30,
                )
                unknown.append(time.perf_counter() - started)
                code = wait_for_code(stack.moto_url, email, after=seen)
                started = time.perf_counter()
                answer = http.post(
                    f"{base}/sessions/applicants",
                    json={"email": email, "code": code},
                    timeout=30,
                )
                sign_ins.append(time.perf_counter() - started)
                answer.raise_for_status()
                token = answer.json()["token"]
                print(f"\r  sign-ins {i + 1}/{args.sign_ins}", end="", file=progress)
            print(file=progress)

            per_page, page_times, listed = [], [], 0
            headers = {"Authorization": f"Bearer {token}"}
            for _ in range(args.pages):
                cursor = None
                while True:
                    before = kintone_requests(http, stack.kintone.url)
                    started = time.perf_counter()
                    answer = http.post(
                        f"{base}/views/my-applications",
                        json={} if cursor is None else {"cursor": cursor},
                        headers=headers,
                        timeout=30,
                    )
                    page_times.append(time.perf_counter() - started)
                    answer.raise_for_status()
                    per_page.append(kintone_requests(http, stack.kintone.url) - before)
                    page = answer.json()
                    listed += len(page["records"])
                    cursor = page["next"]
                    if cursor is None:
                        break

    sign_p50, sign_p90 = _ms(sign_ins)
    known_p50, _ = _ms(known)
    unknown_p50, _ = _ms(unknown)
    page_p50, _ = _ms(page_times)
    early = sum(1 for t in known + unknown if t * 1000 < FLOOR_MS)
    progress.close()
    print(f"the stack's own log: {args.log}")
    print(f"sign-in (code -> session): p50 {sign_p50:.1f} ms, p90 {sign_p90:.1f} ms")
    print(
        f"code request: known p50 {known_p50:.1f} ms, unknown p50 {unknown_p50:.1f} ms, "
        f"floor {FLOOR_MS} ms, answered before the floor: {early}"
    )
    print(
        f"list: {len(per_page)} pages ({listed} records), page p50 {page_p50:.1f} ms, "
        f"kintone requests per page: max {max(per_page)}, mean {statistics.mean(per_page):.2f}"
    )
    record(
        Figure("sessions: sign-in p50", sign_p50, "ms", digits=1),
        Figure("sessions: list page p50", page_p50, "ms", digits=1),
        Figure("sessions: kintone requests per list page (max)", max(per_page), "", 1, digits=0),
        Figure("sessions: code answers before the floor", early, "", 0, digits=0),
        Figure("sessions: code request p50 (known address)", known_p50, "ms", digits=1),
        Figure(
            "sessions: code request known/unknown p50 ratio",
            known_p50 / unknown_p50,
            "x",
            digits=2,
        ),
    )
    return 0


def stack_messages(stack) -> list:
    from devstack.mailbox import sent_messages  # noqa: PLC0415

    return sent_messages(stack.moto_url)


def kintone_requests(http: requests.Session, kintone_url: str) -> int:
    return int(http.get(f"{kintone_url}/_emulator/stats", timeout=10).json()["requests"])


if __name__ == "__main__":
    sys.exit(main())
