"""One webhook delivery as received, and what a verifier proves about it.

A verifier sees the exact bytes the sender signed: the body is decoded from base64 when
API Gateway says so, otherwise the body string is encoded as UTF-8 (never parsed and
re-serialised first). Header names are case-insensitive; a header that arrives more than
once is kept as every value, so a verifier can refuse the ambiguity.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import MalformedDelivery

MAX_DEDUPE_KEY_LENGTH = 256


@dataclass(frozen=True)
class Delivery:
    body: bytes = field(repr=False)
    # Lower-cased name -> every value received, in order.
    headers: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    # The query string (only kintone senders put their token there).
    query: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    source_ip: str = ""

    @classmethod
    def build(
        cls,
        body: bytes,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        query: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        source_ip: str = "",
    ) -> Delivery:
        """From plain pairs (tests, local tools): names are lower-cased, repeats kept."""
        return cls(body, _multi(headers, lower=True), _multi(query, lower=False), source_ip)

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Delivery:
        """From an API Gateway REST (proxy) event; ``multiValue*`` win when present."""
        raw = event.get("body") or ""
        if event.get("isBase64Encoded"):
            try:
                body = base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                raise MalformedDelivery("the body is not valid base64") from None
        else:
            try:
                body = raw.encode("utf-8")
            except UnicodeEncodeError:
                raise MalformedDelivery("the body is not valid UTF-8") from None
        headers = _pairs(event.get("multiValueHeaders"), event.get("headers"))
        query = _pairs(
            event.get("multiValueQueryStringParameters"), event.get("queryStringParameters")
        )
        source_ip = str(
            ((event.get("requestContext") or {}).get("identity") or {}).get("sourceIp") or ""
        )
        return cls.build(body, headers, query, source_ip)

    def header(self, name: str) -> str | None:
        """The one value of header ``name``; None when absent; a repeated header is
        malformed (which copy would the sender have meant?)."""
        return _single(self.headers.get(name.lower()), f"header {name}")

    def query_value(self, name: str) -> str | None:
        return _single(self.query.get(name), f"query parameter {name}")

    def text(self) -> str:
        """The body as text; a body that is not UTF-8 is malformed."""
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedDelivery("the body is not valid UTF-8") from None

    def json_object(self) -> dict[str, Any]:
        """The body as one JSON object (only called after the signature matched)."""
        try:
            value = json.loads(self.text())
        except (ValueError, RecursionError):
            raise MalformedDelivery("the body is not valid JSON") from None
        if not isinstance(value, dict):
            raise MalformedDelivery("the body is not a JSON object")
        return value


@dataclass(frozen=True)
class Verified:
    """What a verifier proved: the event's dedupe key (stable across the sender's
    retries) and, when the scheme says it, the event's type."""

    dedupe_key: str
    event_type: str | None = None


def dedupe_key(value: object, what: str) -> str:
    """``value`` as a dedupe key: a non-empty string of printable characters, not too long."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if (
        not isinstance(value, str)
        or not value
        or len(value) > MAX_DEDUPE_KEY_LENGTH
        or not value.isprintable()
    ):
        raise MalformedDelivery(f"{what} is missing or not usable as an event id")
    return value


def _multi(
    pairs: Mapping[str, str] | Iterable[tuple[str, str]], *, lower: bool
) -> dict[str, tuple[str, ...]]:
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    out: dict[str, list[str]] = {}
    for name, value in items:
        out.setdefault(name.lower() if lower else name, []).append(value)
    return {name: tuple(values) for name, values in out.items()}


def _pairs(
    multi: Mapping[str, list[str]] | None, single: Mapping[str, str] | None
) -> list[tuple[str, str]]:
    if multi:
        return [(name, value) for name, values in multi.items() for value in values or ()]
    return list((single or {}).items())


def _single(values: tuple[str, ...] | None, what: str) -> str | None:
    if not values:
        return None
    if len(values) > 1:
        raise MalformedDelivery(f"the {what} was sent more than once")
    return values[0]


def json_field(body: Mapping[str, Any], *path: str) -> Any:
    """``body[path[0]][path[1]]...``, or None where a step is missing or not an object."""
    value: Any = body
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value
