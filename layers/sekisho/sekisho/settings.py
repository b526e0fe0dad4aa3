"""Deployment settings, read from the environment once per container and validated."""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sekisho.errors import ConfigurationError


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kintone_base_url: str | None = None  # overrides the policy's kintone.base_url
    policy_path: str | None = None
    guard_table: str | None = None
    guard_hash_key_secret: str = "sekisho/guard/hash-key"  # noqa: S105 - a name, not a value
    allowed_origins: tuple[str, ...] = ()
    max_body_bytes: int = Field(default=16 * 1024, ge=1, le=6 * 1024 * 1024)
    # Every "no record" answer takes at least this long, so a locked-out key (answered
    # without calling kintone) cannot be told apart from a miss by timing.
    not_found_floor_ms: int = Field(default=250, ge=0, le=5000)
    # Intake: where a submission waits while kintone is unavailable, and the table that
    # remembers the answer to each Idempotency-Key.
    intake_queue_url: str | None = None
    attachment_bucket: str | None = None
    idempotency_table: str | None = None
    # Delivery: the first backoff of a message kintone could not take; it doubles with
    # each receive up to 15 minutes (the local stack and the burst bench shorten it).
    # The shortest wait before a failed delivery is tried again (see intake.delivery).
    deliver_min_backoff_seconds: float = Field(default=5, gt=0, le=900)
    # Webhook receipt: where verified events wait for their consumer.
    webhook_queue_url: str | None = None
    # The SSM parameter naming the routes an operator switched off (see sekisho.switches).
    route_switches_parameter: str | None = None
    # Webhook actions: where an event that can never be applied is sent, with its reason.
    webhook_dead_letter_queue_url: str | None = None

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        for origin in origins:
            parts = urlsplit(origin)
            if origin == "*" or parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"allowed origin {origin!r} must be scheme://host[:port]")
            if parts.path or parts.query or parts.fragment:
                raise ValueError(f"allowed origin {origin!r} must not have a path")
        return origins

    @field_validator("intake_queue_url", "webhook_queue_url", "webhook_dead_letter_queue_url")
    @classmethod
    def _queue_url(cls, url: str | None) -> str | None:
        if url is not None and urlsplit(url).scheme not in ("http", "https"):
            raise ValueError("a queue URL must be an http(s) URL")
        return url

    @field_validator("kintone_base_url")
    @classmethod
    def _base_url(cls, url: str | None) -> str | None:
        if url is not None and urlsplit(url).scheme not in ("http", "https"):
            raise ValueError("KINTONE_BASE_URL must be an http(s) URL")
        return url

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, object] = {
            "kintone_base_url": env.get("KINTONE_BASE_URL") or None,
            "policy_path": env.get("SEKISHO_POLICY") or None,
            "guard_table": env.get("GUARD_TABLE") or None,
            "intake_queue_url": env.get("INTAKE_QUEUE_URL") or None,
            "attachment_bucket": env.get("ATTACHMENT_BUCKET") or None,
            "idempotency_table": env.get("IDEMPOTENCY_TABLE") or None,
            "webhook_queue_url": env.get("WEBHOOK_QUEUE_URL") or None,
            "webhook_dead_letter_queue_url": env.get("WEBHOOK_DEAD_LETTER_QUEUE_URL") or None,
            "route_switches_parameter": env.get("ROUTE_SWITCHES_PARAMETER") or None,
            "allowed_origins": tuple(
                o.strip() for o in env.get("ALLOWED_ORIGINS", "").split(",") if o.strip()
            ),
        }
        for key, name in (
            ("guard_hash_key_secret", "GUARD_HASH_KEY_SECRET"),
            ("max_body_bytes", "MAX_BODY_BYTES"),
            ("not_found_floor_ms", "NOT_FOUND_FLOOR_MS"),
            ("deliver_min_backoff_seconds", "DELIVER_MIN_BACKOFF_SECONDS"),
        ):
            if env.get(name):
                values[key] = env[name]
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            )
            raise ConfigurationError(f"invalid settings: {problems}") from exc
