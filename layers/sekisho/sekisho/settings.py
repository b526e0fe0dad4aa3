"""Deployment settings, read from the environment once per container and validated.

A frozen dataclass checked by hand rather than a pydantic model: every function reads
its settings at cold start, and most never need pydantic otherwise.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlsplit

from sekisho.errors import ConfigurationError
from sekisho.policy.constants import GUARD_HASH_KEY_SECRET
from sekisho.secrets.names import check_prefix

_INTEGER = re.compile(r"[+-]?[0-9]+")
_DIGEST = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Settings:
    kintone_base_url: str | None = None  # overrides the policy's kintone.base_url
    policy_path: str | None = None
    # The SHA-256 of the reviewed policy snapshot the stack was deployed for (the
    # template's PolicyDigest): a container refuses any other policy. Unset: not pinned.
    policy_digest: str | None = None
    guard_table: str | None = None
    guard_hash_key_secret: str = GUARD_HASH_KEY_SECRET
    # The stack's secret name prefix (SEKISHO_SECRET_PREFIX; the template's effective
    # SecretNamePrefix): every declared name above and in the policy is read as
    # <prefix>/<name>. Empty: no prefix. Checked here so a bad one fails at cold start; the
    # secret store reads it through sekisho.secrets.names.
    secret_prefix: str = ""
    allowed_origins: tuple[str, ...] = ()
    max_body_bytes: int = 16 * 1024
    # Every "no record" answer is sent this long after the lookup started, so a
    # locked-out key (answered without calling kintone) cannot be told apart from a miss
    # (a kintone round trip, then the failure counts) by timing: it must exceed kintone's
    # usual round trip. NOT_FOUND_DEADLINE_MS; NOT_FOUND_FLOOR_MS, its earlier name, is
    # still read when the new one is not set.
    not_found_deadline_ms: int = 1000
    # Intake: where a submission waits while kintone is unavailable, and the table that
    # remembers the answer to each Idempotency-Key.
    intake_queue_url: str | None = None
    attachment_bucket: str | None = None
    idempotency_table: str | None = None
    # Every entry of a form (its receipt's state, the seats it holds) and the forms' seat
    # counters, shared by intake, delivery and the session routes.
    entries_table: str | None = None
    # The maxReceiveCount of the queue the function consumes (IntakeQueue's, WebhookQueue's):
    # the receive after which a failing message moves to the dead-letter queue, so its
    # seats are given back on that receive, and it counts as a dead letter.
    deliver_max_receives: int = 300
    # Delivery: the first backoff of a message kintone could not take; it doubles with
    # each receive up to 15 minutes (the local stack and the burst bench shorten it).
    # The shortest wait before a failed delivery is tried again (see intake.delivery).
    deliver_min_backoff_seconds: float = 5
    # Webhook receipt: where verified events wait for their consumer.
    webhook_queue_url: str | None = None
    # The SSM parameter naming the routes an operator switched off (see sekisho.switches).
    route_switches_parameter: str | None = None
    # Webhook actions: where an event that can never be applied is sent, with its reason.
    webhook_dead_letter_queue_url: str | None = None
    # Sign-in: the address codes are mailed from (SES v2, a verified identity), an SES
    # configuration set, and how long after a code request its 202 is sent (the same
    # floor for a known and an unknown address: kintone, the store and SES must answer
    # inside it).
    mail_from_address: str | None = None
    mail_configuration_set: str | None = None
    code_request_floor_ms: int = 1500

    def __post_init__(self) -> None:
        problems = []
        for field in fields(self):
            check = _CHECKS.get(field.name)
            if check is None:
                continue
            try:
                object.__setattr__(self, field.name, check(getattr(self, field.name)))
            except ValueError as exc:
                problems.append(f"{field.name}: {exc}")
        if problems:
            raise ConfigurationError(f"invalid settings: {'; '.join(problems)}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {
            "kintone_base_url": env.get("KINTONE_BASE_URL") or None,
            "policy_path": env.get("SEKISHO_POLICY") or None,
            "policy_digest": env.get("SEKISHO_POLICY_DIGEST") or None,
            "guard_table": env.get("GUARD_TABLE") or None,
            "intake_queue_url": env.get("INTAKE_QUEUE_URL") or None,
            "attachment_bucket": env.get("ATTACHMENT_BUCKET") or None,
            "idempotency_table": env.get("IDEMPOTENCY_TABLE") or None,
            "entries_table": env.get("ENTRIES_TABLE") or None,
            "webhook_queue_url": env.get("WEBHOOK_QUEUE_URL") or None,
            "webhook_dead_letter_queue_url": env.get("WEBHOOK_DEAD_LETTER_QUEUE_URL") or None,
            "route_switches_parameter": env.get("ROUTE_SWITCHES_PARAMETER") or None,
            "mail_from_address": env.get("MAIL_FROM_ADDRESS") or None,
            "mail_configuration_set": env.get("MAIL_CONFIGURATION_SET") or None,
            "secret_prefix": env.get("SEKISHO_SECRET_PREFIX") or "",
            "allowed_origins": tuple(
                o.strip() for o in env.get("ALLOWED_ORIGINS", "").split(",") if o.strip()
            ),
        }
        for key, name in (
            ("guard_hash_key_secret", "GUARD_HASH_KEY_SECRET"),
            ("max_body_bytes", "MAX_BODY_BYTES"),
            ("not_found_deadline_ms", "NOT_FOUND_FLOOR_MS"),
            ("not_found_deadline_ms", "NOT_FOUND_DEADLINE_MS"),
            ("deliver_min_backoff_seconds", "DELIVER_MIN_BACKOFF_SECONDS"),
            ("code_request_floor_ms", "CODE_REQUEST_FLOOR_MS"),
            ("deliver_max_receives", "DELIVER_MAX_RECEIVES"),
        ):
            if env.get(name):
                values[key] = env[name]
        return cls(**values)


# --------------------------------------------------------------------------- checks


def _integer(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError("must be an integer")
        if not low <= value <= high:
            raise ValueError(f"must be from {low} to {high}")
        return value

    return check


def _seconds(value: Any) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError("must be a number") from None
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError("must be a number")
    if not 0 < value <= 900:
        raise ValueError("must be greater than 0 and at most 900")
    return value


def _http_url(message: str) -> Callable[[str | None], str | None]:
    def check(url: str | None) -> str | None:
        if url is not None and urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(message)
        return url

    return check


def _origins(origins: tuple[str, ...]) -> tuple[str, ...]:
    for origin in origins:
        parts = urlsplit(origin)
        if origin == "*" or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"allowed origin {origin!r} must be scheme://host[:port]")
        if parts.path or parts.query or parts.fragment:
            raise ValueError(f"allowed origin {origin!r} must not have a path")
    return tuple(origins)


def _secret_prefix(value: str) -> str:
    if not value:
        return value
    return check_prefix(value)


def _digest(value: str | None) -> str | None:
    if value is not None and not _DIGEST.fullmatch(value):
        raise ValueError("must be the lower-case hex SHA-256 of the policy snapshot")
    return value


_QUEUE_URL = _http_url("a queue URL must be an http(s) URL")
_CHECKS: Mapping[str, Callable[[Any], Any]] = {
    "kintone_base_url": _http_url("KINTONE_BASE_URL must be an http(s) URL"),
    "policy_digest": _digest,
    "secret_prefix": _secret_prefix,
    "allowed_origins": _origins,
    "max_body_bytes": _integer(1, 6 * 1024 * 1024),
    "not_found_deadline_ms": _integer(0, 5000),
    "code_request_floor_ms": _integer(0, 10_000),
    # SQS allows a maxReceiveCount of 1 to 1000.
    "deliver_max_receives": _integer(1, 1000),
    "deliver_min_backoff_seconds": _seconds,
    "intake_queue_url": _QUEUE_URL,
    "webhook_queue_url": _QUEUE_URL,
    "webhook_dead_letter_queue_url": _QUEUE_URL,
}
