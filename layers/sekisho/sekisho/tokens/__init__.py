"""kintone API tokens: what the policy declares each may do, and the probe that proves it."""

from .declared import PERMISSIONS, DeclaredToken, declared_tokens
from .probe import (
    ALLOWED,
    DENIED,
    INVALID_TOKEN,
    PROBE_RECORD_ID,
    PROBE_VALUE,
    ProbeReport,
    ProbeRow,
    probe_client,
    probe_token,
)

__all__ = [
    "ALLOWED",
    "DENIED",
    "INVALID_TOKEN",
    "PERMISSIONS",
    "PROBE_RECORD_ID",
    "PROBE_VALUE",
    "DeclaredToken",
    "ProbeReport",
    "ProbeRow",
    "declared_tokens",
    "probe_client",
    "probe_token",
]
