"""The burst's browsers: keep-alive connections submitting the form from a process of
their own, each answer counted for the progress line as it comes in."""

from __future__ import annotations

import http.client
import itertools
import json
import multiprocessing
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

FORM_PATH = "/forms/seminar-apply"


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no answer (the connection failed every time)
    receipt: str | None
    at: float  # time.monotonic() when the answer was in


def _submission(i: int) -> bytes:
    return json.dumps(
        {"fields": {"name": f"burst {i}", "email": f"b{i}@example.com", "seats": 1}}
    ).encode()


def _post(connection: http.client.HTTPConnection, path: str, body: bytes, key: str):
    connection.request(
        "POST",
        path,
        body=body,
        headers={"Content-Type": "application/json", "Idempotency-Key": key},
    )
    answer = connection.getresponse()
    return answer.status, answer.read()


def _browser(  # noqa: PLR0917 - a Thread target: one browser's share of the run
    url: str, path: str, n: int, serial: Any, answers: dict[int, Answer], tally: Any
) -> None:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        while (i := next(serial)) < n:
            body, key = _submission(i), str(uuid.uuid4())
            status, receipt = 0, None
            # A browser retries a broken connection with the same Idempotency-Key.
            for _ in range(3):
                try:
                    status, raw = _post(connection, path, body, key)
                except (OSError, http.client.HTTPException):
                    connection.close()
                    continue
                if status in (201, 202):
                    receipt = json.loads(raw).get("receipt")
                break
            answers[i] = Answer(status, receipt, time.monotonic())
            tally.count(status)
    finally:
        connection.close()


class Tally:
    """Answers so far, shared with the parent through shared memory: answered, recorded
    (201) and queued (202), for the progress line."""

    def __init__(self, context: Any) -> None:
        self.answered = context.Value("i", 0)
        self.recorded = context.Value("i", 0)
        self.queued = context.Value("i", 0)

    def count(self, status: int) -> None:
        chosen = [self.answered]
        chosen += [self.recorded] if status == 201 else [self.queued] if status == 202 else []
        for value in chosen:
            with value.get_lock():
                value.value += 1


def _browsers(  # noqa: PLR0917 - a Process target
    conn: Any, url: str, n: int, clients: int, tally: Tally, path: str
) -> None:
    conn.send("ready")  # imported: this process costs the machine nothing more until "go"
    conn.recv()
    answers: dict[int, Answer] = {}
    serial = itertools.count()  # next() on it is atomic under the GIL
    threads = [
        threading.Thread(target=_browser, args=(url, path, n, serial, answers, tally))
        for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    conn.send([answers.get(i, Answer(0, None, time.monotonic())) for i in range(n)])
    conn.close()


class Browsers:
    """`clients` keep-alive connections submitting n forms, from a spawned process. Its
    answer times are time.monotonic(), the system-wide clock this process reads too."""

    def __init__(self, url: str, n: int, clients: int, path: str = FORM_PATH) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, theirs = context.Pipe()
        self.tally = Tally(context)
        # A daemon: a run that fails never waits for browsers that wait for "go".
        self._process = context.Process(
            target=_browsers,
            args=(theirs, url, n, clients, self.tally, path),
            name="burst-browsers",
            daemon=True,
        )
        self._process.start()
        theirs.close()
        # Started (and its imports paid for) before kintone's unit is measured.
        self._conn.recv()

    def go(self) -> None:
        self._conn.send("go")

    def answers(self) -> list[Answer]:
        answers = self._conn.recv()
        self._process.join()
        return answers
