"""`kintone-emulator` / `python -m kintone_emulator`: serve the emulator until stopped."""

from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from .schema import DEFAULT_SEED, Seed
from .server import RunningEmulator, start


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kintone-emulator",
        description="A local kintone with demo apps and API tokens, for development and tests.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=os.environ.get("KINTONE_PORT", "9100"),
        help="port to bind, 0 for any free one (default: $KINTONE_PORT or 9100)",
    )
    parser.add_argument("--seed", type=Path, default=DEFAULT_SEED, help="seed YAML file")
    parser.add_argument(
        "--db",
        default=":memory:",
        help="SQLite file to keep state in across restarts (default: memory only)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow binding an address other than loopback (the demo tokens are public)",
    )
    return parser


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def how_to(running: RunningEmulator, seed: Seed) -> str:
    lines = [
        f"kintone emulator listening on {running.url}",
        "  apps:   " + ", ".join(f"{app.id} {app.name}" for app in seed.apps.values()),
        "  tokens (emulator-only demo values):",
    ]
    lines += [
        f"    {token.token:<24} app {token.app}: {', '.join(sorted(token.permissions))}"
        for token in seed.tokens
    ]
    sample = next((t for t in seed.tokens if "view" in t.permissions), None)
    if sample is not None:
        lines += [
            "  try:",
            f"    curl -sG '{running.url}/k/v1/records.json' \\",
            f"      -H 'X-Cybozu-API-Token: {sample.token}' \\",
            f"      --data-urlencode app={sample.app} \\",
            "      --data-urlencode 'query=order by $id asc limit 3' \\",
            "      --data-urlencode totalCount=true",
        ]
    lines += [
        f"  admin:  curl -s -X POST {running.url}/_emulator/reset   (also maintenance, limits,",
        "          faults, tokens, webhooks, collation; GET stats)",
        "  stop with Ctrl-C",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.allow_remote and not is_loopback(args.host):
        print(
            f"refusing to bind {args.host}: the demo tokens are public; use --allow-remote",
            file=sys.stderr,
        )
        return 2
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    running = start(args.seed, args.host, args.port, args.db)
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(how_to(running, running.emulator.store.seed), flush=True)
        # A timeout keeps the main thread responsive to signals on every platform.
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
