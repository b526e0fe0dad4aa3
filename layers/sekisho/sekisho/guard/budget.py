"""A route's kintone budget, spent once per kintone request a stranger's call makes.

kintone allows about 10,000 requests per app per day for everything the customer runs;
a route anyone can call must not be able to spend it all. The budget is one counter per
route and window in the shared table, so every container of every function sees the same
count; at 80 % an operator metric is written (the template alarms on it). A container
reserves a few units at a time (:func:`~sekisho.guard.guard.lease_size`), so the one key
every caller of a route shares is written once per lease, not once per request.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sekisho import metrics
from sekisho.errors import RouteBudgetExhausted

if TYPE_CHECKING:
    from .guard import Guard, Rate

logger = logging.getLogger(__name__)


def spend_or_refuse(guard: Guard, scope: str, budget: Rate) -> None:
    """Count one kintone request for ``scope``; :class:`RouteBudgetExhausted` when none
    is left in this window."""
    spent = guard.spend_budget(scope, budget)
    if spent.exhausted:
        raise RouteBudgetExhausted(spent.resets_in)
    if spent.crossed_warning and spent.reserved is not None:
        logger.warning(
            "route budget nearly spent",
            extra={"route": scope, "spent": spent.reserved, "limit": spent.limit},
        )
        metrics.route_budget_nearly_spent(scope, spent=spent.reserved, limit=spent.limit)
