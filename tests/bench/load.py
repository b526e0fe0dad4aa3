"""`make bench`: how many lookups and form submissions per second the local stack serves.

Prints figures next to the goals of the local stack (a benchmark, not a test: a figure under
its goal is printed as such; a wrong answer or a lost record fails the run):

- lookups/s: `POST /views/deal-status` with the demo pair (one record answered, 200);
- submissions/s: `POST /forms/seminar-apply`, each with its own Idempotency-Key, each to be
  answered 201 "recorded"; afterwards kintone must hold exactly the receipts answered.

The whole stack runs (`devstack.start`): router, function workers, moto, the kintone
emulator, the queue pumps. The shipped policy's per-IP limits are opened (every request
comes from 127.0.0.1) but the guard still counts in DynamoDB: that is the real path.

The load generator is a bounded asyncio client of its own (a fixed number of keep-alive
connections, each sending its next request when the answer is in), in a process of its own
so it never competes with the router for a GIL. It is about a hundred lines of the standard
library; locust would add gevent, Flask and a web UI to the venv for the same closed loop.
The client costs about 0.3 ms of CPU per request, a few per cent of what the stack spends.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from tests.bench import process_cpu
from tests.bench.figures import Figure, record

REPO = Path(__file__).resolve().parents[2]
VIEW, FORM = "deal-status", "seminar-apply"
GOALS = {"lookups": 250, "submissions": 150}
OPEN = "1000000/hour"


@dataclass
class Phase:
    """What one kind of request got during one measured stretch."""

    answered: int = 0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    receipts: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

    def per_second(self) -> float:
        # A failed request does not count: only right answers make the figure.
        return (self.answered - self.failed) / self.seconds if self.seconds else 0.0

    def quantile_ms(self, q: int) -> float:
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=100)[q - 1] * 1000


def open_policy(path: Path) -> Path:
    """The shipped policy with the per-IP limits and the budgets of the measured routes
    opened (every request comes from 127.0.0.1, and a run sends more than a day's budget);
    the guard still counts both, in DynamoDB."""
    import yaml  # noqa: PLC0415 - the client process never needs it

    policy = yaml.safe_load((REPO / "policy.yaml").read_text(encoding="utf-8"))
    policy["views"][VIEW]["guard"]["per_ip"] = OPEN
    policy["forms"][FORM]["guard"]["per_ip"] = OPEN
    policy["views"][VIEW]["guard"]["budget"] = OPEN
    policy["forms"][FORM]["guard"]["budget"] = OPEN
    path.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    return path


# -- the client (its own process) ---------------------------------------------------------


def _request(host: str, path: str, body: dict, headers: dict[str, str] | None = None) -> bytes:
    payload = json.dumps(body).encode()
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def lookup_request(host: str, _i: int) -> bytes:
    return _request(host, f"/views/{VIEW}", {"match": {"owner_id": "A1", "deal_id": "D000001"}})


def submission_request(host: str, i: int) -> bytes:
    fields = {"name": f"load {i}", "email": f"load{i}@example.com", "seats": 1}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    return _request(host, f"/forms/{FORM}", {"fields": fields}, key)


REQUESTS: dict[str, Callable[[str, int], bytes]] = {
    "lookups": lookup_request,
    "submissions": submission_request,
}


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    """Status, whether the server keeps the connection, and the body."""
    status = int((await reader.readline()).split()[1])
    length, keep = 0, True
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and value.strip().lower() == "close":
            keep = False
    return status, keep, await reader.readexactly(length)


def _check(kind: str, status: int, body: bytes, phase: Phase) -> None:
    phase.statuses[status] += 1
    problem = None
    if kind == "lookups" and status == 200:
        if len(json.loads(body).get("records", [])) != 1:
            problem = "not the one record of the demo pair"
    elif kind == "submissions" and status == 201:
        answer = json.loads(body)
        if answer.get("status") == "recorded":
            phase.receipts.append(answer["receipt"])
        else:
            problem = f"status {answer.get('status')!r}"
    else:
        problem = body[:200].decode(errors="replace")
    if problem is not None:
        # Counted against the figure whatever the status said.
        if 200 <= status < 300:
            phase.statuses[status] -= 1
            phase.statuses[-1] += 1
        if len(phase.errors) < 10:
            phase.errors.append(f"{status}: {problem}")


async def _connection(url: str, kind: str, deadline: float, phase: Phase, serial: list[int]):
    parts = urlsplit(url)
    build = REQUESTS[kind]
    reader = writer = None
    try:
        while time.monotonic() < deadline:
            serial[0] += 1
            payload = build(parts.netloc, serial[0])
            started = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
                writer.write(payload)
                status, keep, body = await _answer(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
                # Status 0: no answer at all, which counts against the figure too.
                phase.answered += 1
                phase.statuses[0] += 1
                if len(phase.errors) < 10:
                    phase.errors.append(f"connection: {type(exc).__name__} {exc}")
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            phase.latencies.append(time.perf_counter() - started)
            phase.answered += 1
            _check(kind, status, body, phase)
            if not keep:
                writer.close()
                reader = writer = None
    finally:
        if writer is not None:
            writer.close()


async def _drive(url: str, kind: str, connections: int, seconds: float) -> Phase:
    phase, serial = Phase(), [0]
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(
        *(_connection(url, kind, deadline, phase, serial) for _ in range(connections))
    )
    phase.seconds = time.monotonic() - started
    return phase


@dataclass(frozen=True)
class Load:
    url: str
    kind: str
    connections: int
    warmup: float
    seconds: float


def _client(conn, load: Load) -> None:
    warm = Phase()
    if load.warmup > 0:
        warm = asyncio.run(_drive(load.url, load.kind, load.connections, load.warmup))
    # Sent before the measured stretch starts, so the stack's CPU can be read between them.
    conn.send(warm)
    measured = asyncio.run(_drive(load.url, load.kind, load.connections, load.seconds))
    conn.send(measured)
    conn.close()


def drive(load: Load, cpu: dict[str, dict[str, float]] | None = None) -> tuple[Phase, Phase]:
    """(warm-up, measured) phases of `load`, from a client process of its own; with `cpu`,
    each part's CPU ms per request of the measured stretch goes into `cpu[load.kind]`."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe(duplex=False)
    client = context.Process(target=_client, args=(theirs, load), daemon=True)
    client.start()
    theirs.close()
    try:
        warm = ours.recv()
        before = process_cpu.snapshot() if cpu is not None else None
        measured = ours.recv()
        if cpu is not None and before is not None:
            after = process_cpu.snapshot()
            cpu[load.kind] = process_cpu.per_request_ms(before, after, measured.answered)
        return warm, measured
    finally:
        client.join(10)
        if client.is_alive():
            client.kill()


# -- the stack (this process) -------------------------------------------------------------


def line(kind: str, phase: Phase) -> str:
    rate, goal = phase.per_second(), GOALS[kind]
    verdict = "ok" if rate >= goal and not phase.failed else "below goal"
    return (
        f"{kind + '/s':<15}{rate:6.0f}   goal ≥ {goal:<4}{verdict:<12}"
        f"p50 {phase.quantile_ms(50):6.1f} ms   p99 {phase.quantile_ms(99):6.1f} ms   "
        f"non-2xx {phase.failed}   ({phase.answered} answered in {phase.seconds:.1f} s)"
    )


@contextlib.contextmanager
def output_to(path: Path) -> Iterator[None]:
    """This process's stdout and stderr, and so every worker's (they inherit both), into
    `path`: the functions log a line or two per request, which would bury the figures."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with path.open("ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)


def main(argv: list[str] | None = None) -> int:
    from devstack import stack as devstack  # noqa: PLC0415 - the client processes never need it
    from devstack.cli import DEFAULT_WORKERS  # noqa: PLC0415
    from tests.bench.burst import receipts_in_kintone  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured, per figure")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before each figure")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections")
    parser.add_argument(
        "--workers", type=int, default=DEFAULT_WORKERS, help="per function (as `make dev`)"
    )
    parser.add_argument(
        "--only", choices=sorted(REQUESTS), action="append", help="measure this kind only"
    )
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="also print each process's CPU ms per request (router, workers, moto, ...)",
    )
    parser.add_argument(
        "--log", type=Path, default=Path(tempfile.gettempdir()) / "sekisho-load.log"
    )
    args = parser.parse_args(argv)

    args.log.write_bytes(b"")
    with tempfile.TemporaryDirectory(prefix="sekisho-load-") as tmp, output_to(args.log):
        policy = open_policy(Path(tmp) / "policy.yaml")
        with devstack.start(repo_root=REPO, workers=args.workers, policy=policy) as stack:
            before = Counter(receipts_in_kintone(stack.kintone.url))
            cpu: dict[str, dict[str, float]] | None = {} if args.cpu else None
            phases = {
                kind: drive(
                    Load(stack.router_url, kind, args.connections, args.warmup, args.seconds),
                    cpu,
                )
                for kind in REQUESTS
                if kind in (args.only or REQUESTS)
            }
            recorded = Counter(receipts_in_kintone(stack.kintone.url)) - before

    print(
        f"local stack, {args.workers} workers per routed function; {args.connections} keep-alive "
        f"connections; {args.seconds:g} s per figure after {args.warmup:g} s of warm-up"
    )
    failed = 0
    for kind, (warm, measured) in phases.items():
        print(line(kind, measured))
        for error in warm.errors + measured.errors:
            print(f"    {error}")
        failed += warm.failed + measured.failed
    warm, measured = phases.get("submissions", (Phase(), Phase()))
    accepted = set(warm.receipts + measured.receipts)
    duplicated = sum(n - 1 for n in recorded.values() if n > 1)
    missing, unexpected = len(accepted - set(recorded)), len(set(recorded) - accepted)
    right = not (duplicated or missing or unexpected)
    print(
        f"records in kintone: {sum(recorded.values())} new for {len(accepted)} answered 201 "
        f"(warm-up included); missing {missing}, duplicated {duplicated}, "
        f"unexpected {unexpected}   {'ok' if right else 'WRONG'}"
    )
    for kind, parts in (cpu or {}).items():
        print(f"CPU ms per {kind[:-1]}: {sum(parts.values()):.2f} in all")
        for part, ms in parts.items():
            print(f"    {part:<28}{ms:7.2f}")
    print(f"the stack's own log: {args.log}")
    record(
        *(
            Figure(f"local stack: {kind}/s", measured.per_second(), "/s", GOALS[kind], "≥", 0)
            for kind, (_, measured) in phases.items()
        ),
        Figure("local stack: non-2xx or wrong answers", failed, "", 0, digits=0),
        Figure(
            "local stack: records missing, doubled or unexpected",
            missing + duplicated + unexpected,
            "",
            0,
            digits=0,
        ),
    )
    return 0 if right and not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
