"""Per-route kill switches: a route an operator switched off answers 503 ``route_disabled``.

Two switches, either one enough. ``enabled: false`` on a view, form or webhook source in
the policy is the reviewed one (it takes a deploy). The route's name in one SSM parameter
(``ROUTE_SWITCHES_PARAMETER``: ``views/deal-status``, ``forms/seminar-apply``,
``webhooks/demo-stripe``, separated by commas or spaces; ``none`` for none) is the one an
operator flips in an incident, with no deploy: every container re-reads it at most every
``REFRESH_SECONDS``, so a flip takes effect within a minute.

The parameter is read stale-if-error: while SSM cannot be read, a container keeps what it
last read (a route switched off stays off). A container that never managed to read it
serves the policy's switches only, and says so in its log: an unreadable switch must not
take every route down.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sekisho import aws
from sekisho.audit import audit
from sekisho.errors import RouteDisabled

logger = logging.getLogger(__name__)

REFRESH_SECONDS = 30.0
NONE = "none"
_SEPARATORS = re.compile(r"[,\s]+")


def parse_switched_off(value: str) -> frozenset[str]:
    """The routes a parameter value names (``section/name``), ``none`` ignored."""
    names = {item for item in _SEPARATORS.split(value) if item and item != NONE}
    return frozenset(names)


class RouteSwitches:
    def __init__(
        self,
        read: Callable[[], str] | None = None,
        *,
        refresh_seconds: float = REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._refresh = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._off: frozenset[str] | None = None
        self._read_at: float | None = None

    def check(self, section: str, name: str, *, enabled: bool = True) -> None:
        """Raise :class:`RouteDisabled` when ``section/name`` is switched off."""
        if not enabled:
            raise RouteDisabled("switched off in the policy")
        if f"{section}/{name}" in self.switched_off():
            raise RouteDisabled("switched off by the operator")

    def switched_off(self) -> frozenset[str]:
        read = self._read
        if read is None:
            return frozenset()
        with self._lock:
            now = self._clock()
            if self._read_at is None or now - self._read_at >= self._refresh:
                self._read_at = now
                self._reload(read)
            return self._off or frozenset()

    def _reload(self, read: Callable[[], str]) -> None:
        try:
            off = parse_switched_off(read())
        except (ClientError, BotoCoreError) as exc:
            if self._off is None:
                logger.error(
                    "route switches unreadable; only the policy's apply",
                    extra={"error": type(exc).__name__},
                )
            else:
                logger.warning(
                    "route switches unreadable; keeping the last read",
                    extra={"error": type(exc).__name__},
                )
            return
        if off != self._off:
            audit(
                "route.switches",
                route="switches",
                caller="operator",
                outcome="read",
                switched_off=sorted(off),
            )
        self._off = off


def _ssm() -> Any:
    return aws.client("ssm")


def ssm_reader(parameter_name: str) -> Callable[[], str]:
    def read() -> str:
        return str(_ssm().get_parameter(Name=parameter_name)["Parameter"]["Value"])

    return read
