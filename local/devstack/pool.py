"""The dev stack's side of the workers: spawn, invoke with a deadline, replace the broken.

Each worker is a `spawn` process (a fresh interpreter, like a new Lambda container) that
serves one event at a time; a function has up to `size` of them. `warm` of them start with
the pool; the rest start on demand, with a cold start, as Lambda scales out.
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import multiprocessing
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

from . import worker
from .worker import WorkerConfig

log = logging.getLogger(__name__)

# Lambda's limit for a function's init phase.
INIT_TIMEOUT = 10.0
# API Gateway's integration timeout: a request waits this long at most for a free worker.
WAIT_FOR_WORKER = 29.0
_EXIT_TIMEOUT = 5.0


class Outcome(enum.Enum):
    OK = "ok"
    FAILED = "failed"  # the handler raised, returned something unserialisable, or init failed
    CRASHED = "crashed"  # the process died
    TIMED_OUT = "timed_out"


@dataclass(frozen=True)
class Invocation:
    outcome: Outcome
    result: Any = None


class _Worker:
    def __init__(self, context: Any, config: WorkerConfig) -> None:
        self.name = config.logical_id
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=worker.serve, args=(child, config), name=f"devstack-{self.name}", daemon=True
        )
        self._process.start()
        # Only the child holds its end now, so its death reads as EOF here.
        child.close()
        self.ready = False
        self.dead = False
        self.busy = False  # an event sent, its answer not yet read

    def await_ready(self, timeout: float) -> Outcome | None:
        """None once the handler is loaded; otherwise why it could not be."""
        if self.ready:
            return None
        try:
            if not self._conn.poll(timeout):
                log.error("%s did not initialise within %.0f s", self.name, timeout)
                self.kill()
                return Outcome.FAILED
            kind, info = self._conn.recv()
        except (EOFError, OSError):
            return self._crashed()
        if kind != "ready":
            # The worker printed the traceback; the error message may carry anything.
            log.error("%s failed to initialise: %s", self.name, info["errorType"])
            self.kill()
            return Outcome.FAILED
        self.ready = True
        return None

    def invoke(self, event: dict[str, Any], request_id: str, timeout: float) -> Invocation:
        problem = self.await_ready(INIT_TIMEOUT)
        if problem is not None:
            return Invocation(problem)
        deadline_ms = int((time.time() + timeout) * 1000)
        try:
            self.busy = True
            self._conn.send(("invoke", event, request_id, deadline_ms))
            if not self._conn.poll(timeout):
                log.warning("%s timed out after %g s; replacing its worker", self.name, timeout)
                self.kill()
                return Invocation(Outcome.TIMED_OUT)
            kind, payload = self._conn.recv()
        except (EOFError, OSError):
            return Invocation(self._crashed())
        finally:
            self.busy = False
        if kind != "result":
            return Invocation(Outcome.FAILED)
        return Invocation(Outcome.OK, json.loads(payload))

    def _crashed(self) -> Outcome:
        if not self.dead:
            self.kill()
            log.error("%s worker exited (code %s)", self.name, self._process.exitcode)
        return Outcome.CRASHED

    def kill_mid_event(self) -> bool:
        """SIGKILL the process if it is working on an event now; True when it was."""
        if not self.busy or self.dead or not self._process.is_alive():
            return False
        self._process.kill()
        return True

    def stop(self) -> None:
        if self.dead:
            return
        with contextlib.suppress(OSError):  # already gone
            self._conn.send(("stop",))
        self._process.join(_EXIT_TIMEOUT)
        self.kill()

    def kill(self) -> None:
        self.dead = True
        if self._process.is_alive():
            self._process.kill()
        self._process.join(_EXIT_TIMEOUT)
        self._conn.close()


class FunctionPool:
    def __init__(
        self, config: WorkerConfig, timeout: float, size: int = 1, warm: int | None = None
    ) -> None:
        if size < 1:
            raise ValueError("a function needs at least one worker")
        self.config = config
        self.timeout = timeout
        self.size = size
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._closed = False
        self._workers: set[_Worker] = set()
        self._idle: queue.Queue[_Worker] = queue.Queue()
        for _ in range(size if warm is None else max(1, min(warm, size))):
            self._idle.put(self._spawn())

    def _spawn(self) -> _Worker:
        spawned = _Worker(self._context, self.config)
        with self._lock:
            self._workers.add(spawned)
        return spawned

    def _scale_out(self) -> _Worker | None:
        """A new worker when every one is busy and the pool may grow, else None."""
        with self._lock:
            if self._closed or len(self._workers) >= self.size:
                return None
            spawned = _Worker(self._context, self.config)
            self._workers.add(spawned)
        return spawned

    def _replace(self, broken: _Worker) -> _Worker:
        with self._lock:
            self._workers.discard(broken)
        return self._spawn()

    def warm(self) -> None:
        """Wait until every worker has loaded its handler, so the first request is warm."""
        with self._lock:
            workers = list(self._workers)
        for each in workers:
            each.await_ready(INIT_TIMEOUT)

    def invoke(self, event: dict[str, Any], request_id: str) -> Invocation:
        try:
            chosen = self._idle.get_nowait()
        except queue.Empty:
            scaled = self._scale_out()
            try:
                chosen = scaled or self._idle.get(timeout=WAIT_FOR_WORKER)
            except queue.Empty:
                return Invocation(Outcome.TIMED_OUT)
        try:
            if chosen.dead and not self._closed:
                chosen = self._replace(chosen)
            if self._closed:
                return Invocation(Outcome.FAILED)
            return chosen.invoke(event, request_id, self.timeout)
        finally:
            # A worker that crashed or timed out is replaced at once, so the next request
            # meets a warm one; one that failed to initialise is retried on next use.
            if chosen.dead and not self._closed and chosen.ready:
                chosen = self._replace(chosen)
            self._idle.put(chosen)

    def kill_busy_worker(self) -> bool:
        """SIGKILL one worker in the middle of an event, as a container lost mid-request;
        False when none is busy at this moment. The pool replaces it as it does any crash."""
        with self._lock:
            workers = list(self._workers)
        return any(each.kill_mid_event() for each in workers)

    def close(self) -> None:
        self._closed = True
        idle = set()
        while True:
            try:
                idle.add(self._idle.get_nowait())
            except queue.Empty:
                break
        with self._lock:
            workers = list(self._workers)
            self._workers.clear()
        # An idle worker leaves cleanly; a busy one is killed, as Lambda does on shutdown.
        for each in workers:
            if each in idle:
                each.stop()
            else:
                each.kill()
