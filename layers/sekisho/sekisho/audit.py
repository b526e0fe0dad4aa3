"""Audit events: one structured line per request, never a raw predicate or secret.

Every line carries the same four fields, so one Logs Insights query finds every read and
write of a record whatever route made it (docs/operations.md, "Finding who read what"):
``route`` named as the metrics name it (``view:<name>``, ``form:<name>``,
``webhook:<source>``, ``session:<realm>``), ``caller`` (who was proved, and how),
``outcome``, and ``record_ids``, the kintone record ids read or written, never a value.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Literal

# A child of the function's Powertools Logger (service "sekisho"): same JSON lines.
logger = logging.getLogger(__name__)

# anonymous: a browser proved by nothing but its address; visitor: a signed-in session;
# partner: a signed request; webhook: a verified sender; operator: a person changing the
# stack's settings (a route switched off), not an outside caller.
Caller = Literal["anonymous", "visitor", "partner", "webhook", "operator"]
CALLERS: tuple[Caller, ...] = ("anonymous", "visitor", "partner", "webhook", "operator")

# What every audit line carries; the template's saved queries read these names.
FIELDS = ("audit", "action", "route", "caller", "outcome", "record_ids")
# What a line adds when it applies: which partner or realm, which submission, from where.
CONTEXT_FIELDS = ("partner", "realm", "receipt", "client_ip")


def audit(
    action: str,
    *,
    route: str,
    caller: Caller,
    outcome: str,
    record_ids: Iterable[object] = (),
    **extra: Any,
) -> None:
    """Emit an audit event. Callers pass fingerprints, never the values they stand for."""
    logger.info(
        action,
        extra={
            **extra,
            "audit": True,
            "action": action,
            "route": route,
            "caller": caller,
            "outcome": outcome,
            # Strings, as kintone sends them: a query matches "42" whatever the route.
            "record_ids": [str(record_id) for record_id in record_ids],
        },
    )
