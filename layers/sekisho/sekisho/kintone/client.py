"""A small kintone REST client: typed errors, bounded retries, a circuit breaker.

One client serves one API token source (one route's token); every client in a container
shares one ``requests.Session`` and one breaker per kintone domain.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests

from sekisho import metrics

from .breaker import CircuitBreaker
from .errors import (
    KintoneCircuitOpen,
    KintoneConnectionError,
    KintoneError,
    KintoneInvalidToken,
    KintoneTimeout,
    KintoneTransientError,
    error_from_response,
)
from .retry import RetryPolicy
from .session import shared_session

logger = logging.getLogger(__name__)

# kintone answers 414/400 past roughly 8 KB of URL; stay well below and switch to
# POST with X-HTTP-Method-Override: GET, which kintone documents for long queries.
MAX_GET_URL = 6000

Record = dict[str, Any]


@dataclass(frozen=True)
class Timeouts:
    connect: float = 3.05
    read: float = 10.0

    def as_tuple(self) -> tuple[float, float]:
        return (self.connect, self.read)


@dataclass(frozen=True)
class RecordsPage:
    records: list[Record]
    total_count: int | None = None


@dataclass(frozen=True)
class DownloadedFile:
    content: bytes
    content_type: str


@dataclass(frozen=True)
class AddedRecord:
    id: str
    revision: str


@dataclass
class TokenSource:
    """Where a client gets its API token, and what it does when kintone says GAIA_IA02.

    ``refresh`` forces a re-read of the token (the secret store's job) and returns True
    when a different token is now available; the client then retries exactly once.
    """

    current: Callable[[], str]
    refresh: Callable[[], bool] = field(default=lambda: False)

    @classmethod
    def fixed(cls, token: str) -> TokenSource:
        return cls(current=lambda: token)


_breakers: dict[str, CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(base_url: str, *, reset_after: float | None = None) -> CircuitBreaker:
    """The breaker shared by every client of one kintone domain in this container
    (`reset_after`, when given, is the new breaker's; an existing one is kept as it is)."""
    host = urlsplit(base_url).netloc
    with _breakers_lock:
        if host not in _breakers:
            _breakers[host] = (
                CircuitBreaker() if reset_after is None else CircuitBreaker(reset_after=reset_after)
            )
        return _breakers[host]


class KintoneClient:
    def __init__(
        self,
        base_url: str,
        token: TokenSource,
        *,
        session: requests.Session | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ValueError("kintone base URL must be an absolute http(s) URL")
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._session = session or shared_session()
        self._timeouts = timeouts or Timeouts()
        self._retry = retry or RetryPolicy()
        self._breaker = breaker or breaker_for(base_url)
        self._sleep = sleep
        self._clock = clock

    # -- public API ----------------------------------------------------------------

    def get_records(
        self,
        app: int,
        query: str = "",
        fields: Iterable[str] | None = None,
        *,
        total_count: bool = False,
    ) -> RecordsPage:
        """GET /k/v1/records.json. ``fields`` limits what kintone returns (projection)."""
        field_list = list(fields) if fields is not None else None
        params: list[tuple[str, str]] = [("app", str(app)), ("query", query)]
        params += [(f"fields[{i}]", code) for i, code in enumerate(field_list or ())]
        if total_count:
            params.append(("totalCount", "true"))
        url = self._url("/k/v1/records.json")
        if len(url) + len(urlencode(params)) + 1 <= MAX_GET_URL:
            body = self._call("GET", "/k/v1/records.json", params=params)
        else:
            payload: dict[str, Any] = {"app": app, "query": query, "totalCount": total_count}
            if field_list is not None:
                payload["fields"] = field_list
            body = self._call(
                "POST",
                "/k/v1/records.json",
                json=payload,
                headers={"X-HTTP-Method-Override": "GET"},
            )
        records = body.get("records")
        if not isinstance(records, list):
            raise KintoneError("records.json answered without a records list")
        count = body.get("totalCount")
        return RecordsPage(records=records, total_count=int(count) if count is not None else None)

    def get_record(self, app: int, record_id: int | str) -> Record:
        body = self._call("GET", "/k/v1/record.json", params={"app": app, "id": record_id})
        record = body.get("record")
        if not isinstance(record, dict):
            raise KintoneError("record.json answered without a record")
        return record

    def add_record(self, app: int, record: Mapping[str, Any]) -> AddedRecord:
        """POST /k/v1/record.json with ``{code: value}``.

        kintone silently ignores unknown field codes, so callers must send only declared
        ones. A retried add after a timeout may find its first attempt recorded: records
        the relay adds carry a unique receipt field, so that shows up as
        :class:`~sekisho.kintone.errors.KintoneUniqueViolation` on that field.
        """
        payload = {"app": app, "record": {code: {"value": v} for code, v in record.items()}}
        body = self._call("POST", "/k/v1/record.json", json=payload)
        try:
            return AddedRecord(id=str(body["id"]), revision=str(body["revision"]))
        except KeyError as exc:
            raise KintoneError("record.json answered without id and revision") from exc

    def upload_file(self, filename: str, content: bytes, content_type: str) -> str:
        """POST /k/v1/file.json; the returned key is temporary until attached to a record."""
        body = self._call(
            "POST", "/k/v1/file.json", files={"file": (filename, content, content_type)}
        )
        key = body.get("fileKey")
        if not isinstance(key, str):
            raise KintoneError("file.json answered without a fileKey")
        return key

    def download_file(self, file_key: str) -> DownloadedFile:
        """GET /k/v1/file.json: an attached file's bytes (needs record view)."""
        response = self._call("GET", "/k/v1/file.json", params={"fileKey": file_key}, raw=True)
        content_type = response.headers.get("Content-Type", "application/octet-stream")
        return DownloadedFile(response.content, content_type.split(";")[0].strip().lower())

    def update_record(
        self,
        app: int,
        record_id: int,
        record: Mapping[str, Any],
        *,
        revision: int | str | None = None,
    ) -> str:
        """PUT /k/v1/record.json with ``{code: value}``; returns the new revision.

        Needs edit permission. With ``revision`` kintone refuses (GAIA_CO02,
        :class:`~sekisho.kintone.errors.KintoneRevisionConflict`) when the record has
        changed since that revision was read.
        """
        payload: dict[str, Any] = {
            "app": app,
            "id": record_id,
            "record": {code: {"value": v} for code, v in record.items()},
        }
        if revision is not None:
            payload["revision"] = str(revision)
        body = self._call("PUT", "/k/v1/record.json", json=payload)
        new_revision = body.get("revision")
        if new_revision is None:
            raise KintoneError("record.json answered without a revision")
        return str(new_revision)

    def delete_records(
        self, app: int, ids: Sequence[int], *, revisions: Sequence[int] | None = None
    ) -> None:
        """DELETE /k/v1/records.json; all or nothing, at most 100 ids.

        Needs delete permission. ``revisions`` (one per id) makes kintone refuse with
        GAIA_CO02 if any record has changed since it was read.
        """
        payload: dict[str, Any] = {"app": app, "ids": list(ids)}
        if revisions is not None:
            payload["revisions"] = list(revisions)
        self._call("DELETE", "/k/v1/records.json", json=payload)

    def get_form_fields(self, app: int) -> dict[str, dict[str, Any]]:
        """The live form's fields (needs record view, record add or app management)."""
        return self._form_fields("/k/v1/app/form/fields.json", app)

    def get_preview_form_fields(self, app: int) -> dict[str, dict[str, Any]]:
        """The pre-live (preview) form's fields: a read that needs app management."""
        return self._form_fields("/k/v1/preview/app/form/fields.json", app)

    def _form_fields(self, path: str, app: int) -> dict[str, dict[str, Any]]:
        body = self._call("GET", path, params={"app": app})
        properties = body.get("properties")
        if not isinstance(properties, dict):
            raise KintoneError("form/fields.json answered without properties")
        return properties

    # -- transport -----------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return self._with_retries(method, path, **kwargs)
        except KintoneInvalidToken:
            # A rotated token: re-read the secret once and try once more, so a warm
            # container follows a rotation at once instead of after the cache TTL.
            if not self._token.refresh():
                raise
            logger.info("kintone token refreshed after GAIA_IA02", extra={"path": path})
            metrics.kintone_retry()
            return self._with_retries(method, path, **kwargs)

    def _with_retries(self, method: str, path: str, **kwargs: Any) -> Any:
        deadline = self._clock() + self._retry.budget
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._attempt(method, path, **kwargs)
            except KintoneTransientError as exc:
                if isinstance(exc, KintoneCircuitOpen) or attempt >= self._retry.max_attempts:
                    raise
                wait = self._retry.delay(attempt)
                if self._clock() + wait >= deadline:
                    raise
                logger.warning(
                    "kintone transient failure, retrying",
                    extra={"path": path, "attempt": attempt, "wait_s": round(wait, 3)}
                    | exc.log_fields(),
                )
                metrics.kintone_retry()
                self._sleep(wait)

    def _attempt(self, method: str, path: str, *, raw: bool = False, **kwargs: Any) -> Any:
        """kintone's JSON answer, or (``raw``) the response itself (a file's bytes)."""
        if not self._breaker.allow():
            raise KintoneCircuitOpen("kintone circuit is open")
        headers = {"X-Cybozu-API-Token": self._token.current(), **kwargs.pop("headers", {})}
        # The wall time of the call itself, not self._clock (tests stop that one).
        started = time.perf_counter()
        try:
            response = self._session.request(
                method,
                self._url(path),
                headers=headers,
                timeout=self._timeouts.as_tuple(),
                **kwargs,
            )
        except requests.Timeout as exc:
            self._breaker.record_failure()
            raise KintoneTimeout(f"kintone {method} {path} timed out") from exc
        except requests.ConnectionError as exc:
            self._breaker.record_failure()
            raise KintoneConnectionError(f"kintone {method} {path}: connection failed") from exc
        finally:
            metrics.kintone_call(started)
        if response.ok:
            self._breaker.record_success()
            return response if raw else self._json(response)
        error = error_from_response(response)
        if isinstance(error, KintoneTransientError):
            self._breaker.record_failure()
        else:
            # kintone answered: it is up, whatever it thought of the request.
            self._breaker.record_success()
        raise error

    @staticmethod
    def _json(response: requests.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError as exc:
            raise KintoneError(
                "kintone answered 2xx without JSON", http_status=response.status_code
            ) from exc
        if not isinstance(body, dict):
            raise KintoneError("kintone answered 2xx with non-object JSON")
        return body
