"""Which route a request or a queued message is for, while it is handled.

The HTTP edge opens a request's scope and a consumer one per message; the code between
(the kintone client, the partner gate) reads or narrows the route without being told. A
kintone call outside any scope (an operator's command, a rotation's test) writes no
metric. Only names the policy declares reach a scope (see ``sekisho.policy.metric_routes``).
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from . import emf

UNDECLARED = "undeclared"

_route: ContextVar[str | None] = ContextVar("sekisho_metrics_route", default=None)
# A problem's stable code: lowercase words joined by underscores, never anything else.
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def current_route() -> str | None:
    """The route being served, or None outside a request or a message."""
    return _route.get()


def name_route(route: str) -> None:
    """Narrow the current scope's route (a partner, once the gate knows which one)."""
    if _route.get() is not None:
        _route.set(route)


@contextlib.contextmanager
def route_scope(route: str) -> Iterator[None]:
    token = _route.set(route)
    try:
        yield
    finally:
        _route.reset(token)


def kintone_call(started: float) -> None:
    """A kintone call that began at ``started`` (``time.perf_counter``) has ended."""
    route = _route.get()
    if route is not None:
        emf.kintone_latency(route, (time.perf_counter() - started) * 1000)


def kintone_retry() -> None:
    route = _route.get()
    if route is not None:
        emf.kintone_retry(route)


# ------------------------------------------------------------------------ requests


def _problem_code(response: Mapping[str, Any]) -> str:
    headers = response.get("multiValueHeaders") or response.get("headers") or {}
    content_type = headers.get("Content-Type") or ""
    if isinstance(content_type, list):
        content_type = content_type[0] if content_type else ""
    if str(content_type).startswith("application/problem+json"):
        try:
            code = json.loads(response.get("body") or "").get("code")
        except (ValueError, AttributeError):
            code = None
        if isinstance(code, str) and _CODE.match(code):
            return code
    return "unknown"


def answered(response: Mapping[str, Any]) -> None:
    """The HTTP answer of the current request: Requests, and Refusals for a 4xx."""
    route = _route.get() or UNDECLARED
    status = int(response.get("statusCode") or 500)
    if status >= 500:
        emf.request(route, emf.FAILED)
    elif status >= 400:
        emf.request(route, emf.REFUSED)
        emf.refusal(route, _problem_code(response))
    else:
        emf.request(route, emf.OK)


# ------------------------------------------------------------------------ messages


class MessageScope:
    """One SQS message a consumer handles: its age when taken (QueueAge, at once), its
    route while handled, and, once, what became of it (Deliveries, DeadLetters)."""

    def __init__(
        self, queue: str, sent_timestamp: object, *, now: Callable[[], float] = time.time
    ) -> None:
        self._queue = queue
        self._done = False
        self._token = _route.set(UNDECLARED)
        try:
            sent = int(str(sent_timestamp)) / 1000
        except ValueError:
            return  # SQS always says (milliseconds); a hand-made event may not
        emf.queue_age(queue, now() - sent)

    def done(self, outcome: str) -> None:
        """``recorded``, ``retried`` or ``dead_lettered``; only the first call counts."""
        if self._done:
            return
        self._done = True
        emf.delivery(_route.get() or UNDECLARED, outcome)
        if outcome == emf.DEAD_LETTERED:
            emf.dead_letter(self._queue)

    def close(self) -> None:
        _route.reset(self._token)
