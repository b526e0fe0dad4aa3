"""Operator metrics: CloudWatch embedded metric format lines, written by Powertools.

Each metric is written where it happens, one ``single_metric`` line each, rather than
collected by a ``Metrics`` instance and flushed by a decorator: every metric here carries
its own dimension values (a route, an outcome, a problem code), and EMF gives one
document a single set of values, so a flush per invocation would print as many lines and
would lose them when an invocation times out. A line costs about 25 µs (a ``Metrics``
flush about 30, a hand-built document about 10, measured side by side): a request writes
two or three. The template's alarms and dashboard read these names in this namespace,
each with the ``service`` dimension; no dimension ever holds an IP, a receipt, a record
id or an address: only names the policy declares and outcomes the code spells.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit, single_metric

NAMESPACE = "sekisho"
SERVICE = "sekisho"

ROUTE_BUDGET_NEARLY_SPENT = "RouteBudgetNearlySpent"
REQUESTS = "Requests"
REFUSALS = "Refusals"
KINTONE_LATENCY = "KintoneLatency"
KINTONE_RETRIES = "KintoneRetries"
QUEUE_AGE = "QueueAge"
DELIVERIES = "Deliveries"
DEAD_LETTERS = "DeadLetters"
ROTATIONS = "Rotations"

# Requests' outcomes: 2xx/3xx, 4xx (a problem with a code), 5xx.
OK, REFUSED, FAILED = "ok", "refused", "failed"
# Deliveries' outcomes: the message is done with, will be seen again, or goes to the DLQ.
RECORDED, RETRIED, DEAD_LETTERED = "recorded", "retried", "dead_lettered"
# Rotations' outcomes.
ROTATED = "rotated"
# QueueAge's and DeadLetters' queues.
INTAKE_QUEUE, WEBHOOK_QUEUE = "intake", "webhook"


def _put(name: str, unit: MetricUnit, value: float, **dimensions: str) -> None:
    with single_metric(
        name=name,
        unit=unit,
        value=value,
        namespace=NAMESPACE,
        default_dimensions={"service": SERVICE, **dimensions},
    ):
        pass


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


def request(route: str, outcome: str) -> None:
    """One HTTP request answered: ``ok``, ``refused`` (4xx) or ``failed`` (5xx)."""
    _put(REQUESTS, MetricUnit.Count, 1, route=route, outcome=outcome)


def refusal(route: str, code: str) -> None:
    """One 4xx problem answer, by its stable code."""
    _put(REFUSALS, MetricUnit.Count, 1, route=route, outcome=code)


def kintone_latency(route: str, milliseconds: float) -> None:
    """One kintone HTTP call, answered or not, from sending to its answer or failure."""
    _put(KINTONE_LATENCY, MetricUnit.Milliseconds, round(milliseconds, 3), route=route)


def kintone_retry(route: str) -> None:
    """A kintone call tried again: after a transient failure, or with a refreshed token."""
    _put(KINTONE_RETRIES, MetricUnit.Count, 1, route=route)


def queue_age(queue: str, seconds: float) -> None:
    """How long a message waited on its queue before a consumer took it (this receive)."""
    _put(QUEUE_AGE, MetricUnit.Seconds, round(max(0.0, seconds), 3), queue=queue)


def delivery(route: str, outcome: str) -> None:
    """What became of one queued message: ``recorded``, ``retried`` or ``dead_lettered``."""
    _put(DELIVERIES, MetricUnit.Count, 1, route=route, outcome=outcome)


def dead_letter(queue: str) -> None:
    """A consumer gave a message up: it is on, or will be moved to, the dead-letter queue."""
    _put(DEAD_LETTERS, MetricUnit.Count, 1, queue=queue)


def rotation(outcome: str) -> None:
    """A secret rotated (at finishSecret), or a rotation step that failed."""
    _put(ROTATIONS, MetricUnit.Count, 1, outcome=outcome)
