"""Outgoing webhooks: kintone-format notifications POSTed after a record add or update.

Delivery happens on one background thread so a slow receiver never delays the kintone
answer. Like kintone, nothing is signed and a failed delivery is not retried.

A receiver authenticates kintone by a secret in the URL's query, so the emulator never logs
a URL's query (nor a requests error, whose text repeats the URL).
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from .schema import AppDef

log = logging.getLogger(__name__)

EVENTS = ("ADD_RECORD", "UPDATE_RECORD")
TIMEOUT_SECONDS = 3


@dataclass
class Registration:
    app: int
    url: str
    events: tuple[str, ...]
    delivered: int = 0
    failed: int = 0
    # Set up by whoever started the emulator (the dev stack), not by a test: a reset
    # returns to that state rather than dropping it.
    keep_on_reset: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "url": self.url,
            "events": list(self.events),
            "delivered": self.delivered,
            "failed": self.failed,
        }


def without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def failure_reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code}"
    return type(exc).__name__


def record_title(app: AppDef, record: dict[str, Any]) -> str:
    # kintone's title field is an app setting; the first text field stands in for it.
    for code, spec in app.fields.items():
        if spec.type == "SINGLE_LINE_TEXT":
            return str(record[code]["value"])
    return ""


def payload(event: str, app: AppDef, record: dict[str, Any], base_url: str) -> dict[str, Any]:
    record_id = record["$id"]["value"]
    return {
        "id": str(uuid.uuid4()),
        "type": event,
        "app": {"id": str(app.id), "name": app.name},
        "record": record,
        "recordTitle": record_title(app, record),
        "url": f"{base_url}/k/{app.id}/show#record={record_id}",
    }


class Webhooks:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._registrations: list[Registration] = []
        # Bumped by reset(), so notifications queued before it are dropped.
        self._generation = 0
        self._queue: queue.Queue[tuple[int, Registration, dict[str, Any]] | None] = queue.Queue()
        self._session = requests.Session()
        # Receivers are local; a proxy from the environment must not intercept them.
        self._session.trust_env = False
        self._worker = threading.Thread(target=self._deliver_all, name="webhooks", daemon=True)
        self._worker.start()

    def register(
        self, app: int, url: str, events: tuple[str, ...], *, keep_on_reset: bool = False
    ) -> Registration:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("url must be an absolute http(s) URL")
        unknown = set(events) - set(EVENTS)
        if not events or unknown:
            raise ValueError(f"events must be a non-empty subset of {list(EVENTS)}")
        registration = Registration(
            app, url, tuple(dict.fromkeys(events)), keep_on_reset=keep_on_reset
        )
        with self._lock:
            self._registrations.append(registration)
        return registration

    def registrations(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.as_dict() for r in self._registrations]

    def notify(self, event: str, app: AppDef, record: dict[str, Any], base_url: str) -> None:
        with self._lock:
            targets = [r for r in self._registrations if r.app == app.id and event in r.events]
            generation = self._generation
        for registration in targets:
            # One id per notification, as kintone does, even for the same event.
            message = payload(event, app, record, base_url)
            self._queue.put((generation, registration, message))

    def reset(self) -> None:
        with self._lock:
            self._registrations = [r for r in self._registrations if r.keep_on_reset]
            for registration in self._registrations:
                registration.delivered = registration.failed = 0
            self._generation += 1

    def close(self) -> None:
        self._queue.put(None)
        self._worker.join(timeout=TIMEOUT_SECONDS + 1)
        self._session.close()

    def _deliver_all(self) -> None:
        while (item := self._queue.get()) is not None:
            generation, registration, message = item
            with self._lock:
                current = generation == self._generation
            if current:
                self._deliver(registration, message)

    def _deliver(self, registration: Registration, message: dict[str, Any]) -> None:
        try:
            answer = self._session.post(registration.url, json=message, timeout=TIMEOUT_SECONDS)
            answer.raise_for_status()
        except requests.RequestException as exc:
            registration.failed += 1
            log.warning(
                "webhook %s to %s failed: %s",
                message["type"],
                without_query(registration.url),
                failure_reason(exc),
            )
        else:
            registration.delivered += 1
