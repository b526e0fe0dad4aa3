"""`make chaos`'s traffic: lookups, form submissions and signed webhooks, each kind on a
fixed number of keep-alive connections, from a process of its own (so the clients never
compete with the router, the emulator or the pumps for a GIL).

Each client behaves as its real counterpart does when an answer is lost or says "later":
a browser resubmits a form with the same Idempotency-Key (web/form.js: after a network
error, 409, 429 or a 5xx), a webhook sender redelivers the same event until it gets a 2xx
(as Stripe does), a lookup is not retried (the visitor presses again, a new request).
Every answer is kept: its kind, when it came, its status and its problem's code.
"""

from __future__ import annotations

import http.client
import itertools
import json
import multiprocessing
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tests.action_support import checkout_completed
from webhook_senders import sign

VIEW_PATH = "/views/deal-status"
FORM_PATH = "/forms/seminar-apply"
WEBHOOK_SOURCE = "demo-stripe"
WEBHOOK_PATH = f"/webhooks/{WEBHOOK_SOURCE}"
LOOKUP = {"match": {"owner_id": "A1", "deal_id": "D000001"}}
# An answer that says "not now" to a browser or a sender: try the same request again.
_AGAIN = frozenset({0, 409, 429, 500, 502, 503, 504})
# Every tenth webhook event is delivered twice, as senders do after a lost answer.
REDELIVER_EVERY = 10


@dataclass(frozen=True)
class Answer:
    kind: str  # "lookup", "submission", "webhook"
    sent: float  # time.monotonic() (the system-wide clock the parent reads too)
    at: float  # when the answer came
    status: int  # 0: the connection failed
    code: str | None  # the problem's stable code, if the answer was a problem+json
    subject: str | None = None  # the submission's name, the event's id


@dataclass(frozen=True)
class Submission:
    name: str  # unique per submission: what finds its records in kintone
    receipt: str | None  # None: never accepted
    attempts: int


@dataclass(frozen=True)
class Event:
    application: str  # the seminar application the event pays
    event_id: str
    accepted: bool  # a 2xx came back for (at least) one delivery


@dataclass(frozen=True)
class LoadPlan:
    url: str
    seconds: float
    lookups: int = 4
    submissions: int = 4
    webhooks: int = 2
    webhooks_per_second: float = 4.0  # per connection: the applications are seeded first
    applications: tuple[str, ...] = ()
    webhook_secret: dict[str, Any] = field(default_factory=dict, repr=False)
    retry_for: float = 90.0  # a client gives up resending after this long
    retry_pause: float = 0.5


@dataclass
class Results:
    answers: list[Answer] = field(default_factory=list)
    submissions: list[Submission] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


class Counts:
    """Answers so far, in shared memory, for the parent's progress line."""

    NAMES = ("sent", "ok", "problems", "server_errors", "failed")

    def __init__(self, context: Any) -> None:
        self.values = {name: context.Value("i", 0) for name in self.NAMES}

    def add(self, status: int, code: str | None) -> None:
        chosen = ["sent"]
        if 200 <= status < 300:
            chosen.append("ok")
        elif status == 0:
            chosen.append("failed")
        elif code is not None:
            chosen.append("problems")
        if status >= 500 or status == 0:
            chosen.append("server_errors")
        for name in chosen:
            with self.values[name].get_lock():
                self.values[name].value += 1

    def snapshot(self) -> dict[str, int]:
        return {name: value.value for name, value in self.values.items()}


class _Connection:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._address = (parts.hostname, parts.port)
        self._http: http.client.HTTPConnection | None = None

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str | None, Any]:
        """Status, the problem's code, and the JSON answer (status 0: no answer)."""
        if self._http is None:
            self._http = http.client.HTTPConnection(*self._address, timeout=60)
        try:
            self._http.request("POST", path, body=body, headers=headers)
            answer = self._http.getresponse()
            raw = answer.read()
        except (OSError, http.client.HTTPException):
            self.close()
            return 0, None, None
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = None
        problem = "problem+json" in (answer.getheader("Content-Type") or "")
        code = data.get("code") if problem and isinstance(data, dict) else None
        return answer.status, code, data

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None


class _Run:
    def __init__(self, plan: LoadPlan, counts: Counts) -> None:
        self.plan = plan
        self.counts = counts
        self.results = Results()
        self._lock = threading.Lock()
        self.stop_at = time.monotonic() + plan.seconds
        self._serial = itertools.count()  # next() on it is atomic under the GIL
        self._events = itertools.count()

    def note(
        self, kind: str, sent: float, status: int, code: str | None, subject: str | None = None
    ) -> None:
        answer = Answer(kind, sent, time.monotonic(), status, code, subject)
        with self._lock:
            self.results.answers.append(answer)
        self.counts.add(status, code)

    def again(self, status: int, code: str | None, since: float) -> bool:
        if status not in _AGAIN or time.monotonic() - since > self.plan.retry_for:
            return False
        # A 409 other than "in progress" (capacity_full) is final, as form.js has it.
        return not (status == 409 and code != "request_in_progress")

    def lookups(self) -> None:
        connection, body = _Connection(self.plan.url), json.dumps(LOOKUP).encode()
        headers = {"Content-Type": "application/json"}
        while time.monotonic() < self.stop_at:
            sent = time.monotonic()
            status, code, _ = connection.post(VIEW_PATH, body, headers)
            self.note("lookup", sent, status, code)
        connection.close()

    def submissions(self) -> None:
        connection = _Connection(self.plan.url)
        while time.monotonic() < self.stop_at:
            i = next(self._serial)
            name = f"chaos {i}"
            fields = {"name": name, "email": f"chaos{i}@example.com", "seats": 1}
            body = json.dumps({"fields": fields}).encode()
            headers = {"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())}
            since, attempts, receipt = time.monotonic(), 0, None
            while True:
                attempts += 1
                sent = time.monotonic()
                status, code, data = connection.post(FORM_PATH, body, headers)
                self.note("submission", sent, status, code, name)
                if status in (201, 202) and isinstance(data, dict):
                    receipt = data.get("receipt")
                if receipt is not None or not self.again(status, code, since):
                    break
                time.sleep(self.plan.retry_pause)
            with self._lock:
                self.results.submissions.append(Submission(name, receipt, attempts))
        connection.close()

    def webhooks(self) -> None:
        connection = _Connection(self.plan.url)
        gap = 1 / self.plan.webhooks_per_second
        while time.monotonic() < self.stop_at:
            i = next(self._events)
            if i >= len(self.plan.applications):
                return
            started = time.monotonic()
            application = self.plan.applications[i]
            event_id = f"evt_{application}"
            event = checkout_completed(event_id, application, payment_status="paid")
            body = json.dumps(event, ensure_ascii=False).encode()
            accepted = False
            for _ in range(2 if i % REDELIVER_EVERY == 0 else 1):
                accepted = self._deliver(connection, body, event_id) or accepted
            with self._lock:
                self.results.events.append(Event(application, event_id, accepted))
            time.sleep(max(0.0, gap - (time.monotonic() - started)))
        connection.close()

    def _deliver(self, connection: _Connection, body: bytes, event_id: str) -> bool:
        since = time.monotonic()
        while True:
            # Signed afresh for each delivery, as a sender does (the timestamp is part of it).
            signed = sign("stripe", body, self.plan.webhook_secret, now=int(time.time()))
            headers = {"Content-Type": "application/json", **signed.headers}
            sent = time.monotonic()
            status, code, _ = connection.post(WEBHOOK_PATH, body, headers)
            self.note("webhook", sent, status, code, event_id)
            if 200 <= status < 300:
                return True
            if not self.again(status, code, since):
                return False
            time.sleep(self.plan.retry_pause)


def _client(conn: Any, plan: LoadPlan, counts: Counts) -> None:
    conn.send("ready")
    conn.recv()
    run = _Run(plan, counts)
    threads = [
        threading.Thread(target=target, name=f"chaos-{target.__name__}")
        for target, n in (
            (run.lookups, plan.lookups),
            (run.submissions, plan.submissions),
            (run.webhooks, plan.webhooks),
        )
        for _ in range(n)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    conn.send(run.results)
    conn.close()


class Traffic:
    """The load of `plan`, from a spawned process; `go()` starts it, `results()` waits."""

    def __init__(self, plan: LoadPlan) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, theirs = context.Pipe()
        self.counts = Counts(context)
        self._process = context.Process(
            target=_client, args=(theirs, plan, self.counts), name="chaos-load", daemon=True
        )
        self._process.start()
        theirs.close()
        self._conn.recv()  # imported and waiting: starting costs nothing more

    def go(self) -> None:
        self._conn.send("go")

    def results(self) -> Results:
        results = self._conn.recv()
        self._process.join()
        return results
