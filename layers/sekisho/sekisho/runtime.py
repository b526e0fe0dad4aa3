"""What every container reads once at cold start: its settings and its policy.

A bad deployment fails at init with a clear message. The policy comes from the reviewed
snapshot the layer bundles (or, for a YAML file such as the local stack's, from the full
validation), and its digest is logged once, so an operator can match what runs with what
was reviewed. Each function's own parts are built by its module of :mod:`sekisho.wiring`.
"""

from __future__ import annotations

import functools
import logging

from sekisho.errors import ConfigurationError
from sekisho.policy.model import Policy
from sekisho.policy.reviewed import load_reviewed
from sekisho.settings import Settings

# A child of the function's Powertools Logger (service "sekisho"): same JSON lines.
logger = logging.getLogger(__name__)


@functools.cache
def settings() -> Settings:
    return Settings.from_env()


@functools.cache
def policy() -> Policy:
    current = settings()
    reviewed = load_reviewed(current.policy_path, pinned=current.policy_digest)
    # The one init line an operator compares with the stack's PolicyDigest output.
    logger.info(
        "policy loaded",
        extra={
            "policy_digest": reviewed.digest,
            "policy_kind": reviewed.kind,
            "policy_file": reviewed.source.name,
        },
    )
    return reviewed.policy


def kintone_base_url() -> str:
    return settings().kintone_base_url or str(policy().kintone.base_url)


def required(*names: str) -> tuple[str, ...]:
    """The settings ``names`` (``guard_table``...), each set; else the one error naming
    every missing one by its environment variable (``GUARD_TABLE``)."""
    values = tuple(getattr(settings(), name) for name in names)
    missing = [name.upper() for name, value in zip(names, values, strict=True) if not value]
    if missing:
        raise ConfigurationError(f"{', '.join(missing)} not set")
    return values
