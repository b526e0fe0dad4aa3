"""`make chaos`'s faults and when each one strikes, as fractions of the run.

For the 2-minute run (`T` = 120 s):

- kintone loses the answer of 5 % of its requests for the whole run: 2.5 % reset at
  once, 2.5 % held past every client's read timeout and then reset (the write is done
  either way: the harshest case for a relay that must not write twice);
- kintone is in maintenance (503 text/plain) from 10 s to 70 s (T/2);
- Secrets Manager is unreachable for the functions from 30 s to 90 s (T/2): its
  endpoint refuses connections and resets the ones open; the functions' secret caches
  last T/6 (20 s) in this run, so every warm one expires inside the outage;
- at 95 s, with kintone and Secrets Manager back, every secret the stack generates is
  rotated (the four steps, as `make rotate` runs them): the guard's hash key, the session
  key, kintone's webhook URL token, the partner key;
- at 105 s, one IntakeFunction worker is killed (SIGKILL) in the middle of a submission.

The rotation driver talks to moto directly, never through the outage. A run of another
length keeps the same fractions.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devstack.aws import moto_client
from devstack.demo_secrets import (
    HMAC,
    HmacSource,
    PartnerKeySource,
    WebhookSource,
    load_secrets_file,
    rotation_kind,
)
from devstack.fault_proxy import FaultProxy
from devstack.provision import LOCAL_SECRET_PREFIX
from devstack.rotation_driver import ensure_rotation_enabled, rotate
from devstack.stack import RunningStack
from sekisho.errors import SekishoError
from sekisho.rotation.versions import SecretVersions
from sekisho.rotation.wiring import build_rotator
from sekisho.secrets.names import prefixed
from tests.bench.burst import admin

KILLED_FUNCTION = "IntakeFunction"
RESET_RATE = 0.025
TIMEOUT_RATE = 0.025
# Past every read timeout of the relay's kintone clients (lookups' and writes' 10 s).
STALL_MS = 11_000


@dataclass(frozen=True)
class Schedule:
    seconds: float

    def at(self, fraction: float) -> float:
        return self.seconds * fraction

    @property
    def maintenance(self) -> tuple[float, float]:
        return self.at(1 / 12), self.at(7 / 12)

    @property
    def secrets_down(self) -> tuple[float, float]:
        return self.at(3 / 12), self.at(9 / 12)

    @property
    def rotation(self) -> float:
        return self.at(9.5 / 12)

    @property
    def kill(self) -> float:
        return self.at(10.5 / 12)

    @property
    def secret_cache_ttl(self) -> float:
        """Short enough that every warm cache expires inside the outage."""
        start, end = self.secrets_down
        return max(1.0, (end - start) / 3)


@dataclass
class Timeline:
    """When each fault was on, in time.monotonic(); what the rotation and the kill did."""

    windows: dict[str, tuple[float, float]] = field(default_factory=dict)
    rotated: list[str] = field(default_factory=list)
    rotation_failures: list[str] = field(default_factory=list)
    killed_mid_request: int = 0
    errors: list[str] = field(default_factory=list)

    def active(self, since: float, now: float) -> list[str]:
        """The faults that were on at some moment between `since` and `now`."""
        return [
            name
            for name, (start, end) in list(self.windows.items())
            if start <= now and end >= since
        ]

    def opened(self, name: str) -> float:
        self.windows[name] = (time.monotonic(), float("inf"))
        return self.windows[name][0]

    def closed(self, name: str) -> None:
        self.windows[name] = (self.windows[name][0], time.monotonic())


def generated_secrets() -> list[str]:
    """Every secret the local stack generates (createSecret makes the next value): the
    staged kinds (kintone tokens, sender-issued webhook keys) need an operator."""
    spec = load_secrets_file()
    return sorted(
        name
        for name, source in spec.secrets.items()
        if isinstance(source, HmacSource | PartnerKeySource)
        or (isinstance(source, WebhookSource) and rotation_kind(source.scheme) == HMAC)
    )


def rotate_generated(stack: RunningStack, policy: Any, timeline: Timeline) -> None:
    versions = SecretVersions(
        prefixed(moto_client(stack.moto_url, "secretsmanager"), LOCAL_SECRET_PREFIX)
    )
    rotator = build_rotator(policy, stack.kintone.url, versions)
    timeline.opened("rotation")
    for name in generated_secrets():
        try:
            ensure_rotation_enabled(versions, name)
            for _ in rotate(rotator, name):
                pass
        except SekishoError as exc:
            timeline.rotation_failures.append(f"{name}: {exc.code}")
        else:
            timeline.rotated.append(name)
    timeline.closed("rotation")


def kill_one_worker(stack: RunningStack, timeline: Timeline, within: float = 10.0) -> None:
    """SIGKILL a worker of KILLED_FUNCTION while it is working on a request."""
    pool = stack.pools[KILLED_FUNCTION]
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if pool.kill_busy_worker():
            timeline.killed_mid_request += 1
            timeline.windows["kill"] = (time.monotonic(), time.monotonic())
            return
        time.sleep(0.001)
    timeline.errors.append(f"no {KILLED_FUNCTION} worker was busy within {within:g} s")


class Injector:
    """Runs the schedule on a thread of its own, from `start()`."""

    def __init__(
        self, stack: RunningStack, proxy: FaultProxy, policy: Any, schedule: Schedule
    ) -> None:
        self._stack, self._proxy, self._policy = stack, proxy, policy
        self.schedule = schedule
        self.timeline = Timeline()
        self._thread = threading.Thread(target=self._run, name="chaos-faults", daemon=True)
        self._began = 0.0

    def start(self) -> None:
        self._began = time.monotonic()
        self._connection_faults(on=True)
        self.timeline.opened("kintone resets and timeouts")
        self._thread.start()

    def join(self) -> None:
        self._thread.join()

    def _connection_faults(self, *, on: bool) -> None:
        rates = {"rate_reset": RESET_RATE, "rate_timeout": TIMEOUT_RATE} if on else {}
        admin(self._stack.kintone.url, "faults", {**rates, "stall_ms": STALL_MS, "seed": 23})

    def _steps(self) -> list[tuple[float, str, Callable[[], None]]]:
        s, url, t = self.schedule, self._stack.kintone.url, self.timeline

        def maintenance(enabled: bool) -> Callable[[], None]:
            def switch() -> None:
                admin(url, "maintenance", {"enabled": enabled})
                t.opened("kintone maintenance") if enabled else t.closed("kintone maintenance")

            return switch

        def secrets(down: bool) -> Callable[[], None]:
            def switch() -> None:
                if down:
                    self._proxy.down()
                    t.opened("Secrets Manager unreachable")
                else:
                    self._proxy.up()
                    t.closed("Secrets Manager unreachable")

            return switch

        def end_connection_faults() -> None:
            self._connection_faults(on=False)
            t.closed("kintone resets and timeouts")

        return sorted(
            [
                (s.secrets_down[0], "secrets down", secrets(True)),
                (s.secrets_down[1], "secrets up", secrets(False)),
                (s.maintenance[0], "maintenance on", maintenance(True)),
                (s.maintenance[1], "maintenance off", maintenance(False)),
                (s.rotation, "rotation", lambda: rotate_generated(self._stack, self._policy, t)),
                (s.kill, "kill", lambda: kill_one_worker(self._stack, t)),
                (s.seconds, "connection faults off", end_connection_faults),
            ],
            key=lambda step: step[0],
        )

    def _run(self) -> None:
        for at, name, step in self._steps():
            time.sleep(max(0.0, self._began + at - time.monotonic()))
            try:
                step()
            except Exception as exc:  # a fault that fails to strike is a result too
                self.timeline.errors.append(f"{name}: {type(exc).__name__}: {exc}")
        # Whatever happened, nothing is left broken for the drain.
        if self._proxy.is_down:
            self._proxy.up()
