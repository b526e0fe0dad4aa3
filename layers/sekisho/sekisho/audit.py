"""Audit events: one structured line per request, never a raw predicate or secret."""

from __future__ import annotations

import logging
from typing import Any

# A child of the function's Powertools Logger (service "sekisho"): same JSON lines.
logger = logging.getLogger(__name__)


def audit(action: str, **fields: Any) -> None:
    """Emit an audit event. Callers pass fingerprints, never the values they stand for."""
    logger.info(action, extra={"audit": True, "action": action, **fields})
