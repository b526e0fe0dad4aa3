"""Operator metrics: CloudWatch embedded metric format lines, written by Powertools.

Each metric here is rare (a threshold crossed), so it is flushed where it happens with
Powertools' ``single_metric`` rather than by a decorator on every handler. The template's
alarms read these names in this namespace, with the one ``service`` dimension.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit, single_metric

NAMESPACE = "sekisho"
SERVICE = "sekisho"
ROUTE_BUDGET_NEARLY_SPENT = "RouteBudgetNearlySpent"


def route_budget_nearly_spent(route: str, *, spent: int, limit: int) -> None:
    """A route has spent 80 % of its kintone budget for this window."""
    with single_metric(
        name=ROUTE_BUDGET_NEARLY_SPENT,
        unit=MetricUnit.Count,
        value=1,
        namespace=NAMESPACE,
        default_dimensions={"service": SERVICE},
    ) as metric:
        # Metadata, not dimensions: one alarm covers every route.
        metric.add_metadata(key="route", value=route)
        metric.add_metadata(key="spent", value=spent)
        metric.add_metadata(key="limit", value=limit)
