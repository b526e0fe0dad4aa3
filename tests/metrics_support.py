"""The metrics a piece of code printed, read back from its stdout as CloudWatch reads them."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sekisho import metrics

# Every dimension the contract allows, and what its values may look like: names the
# policy declares, outcomes the code spells, problem codes. Never an IP, a receipt, an id.
DIMENSION_VALUES = {
    "service": re.compile(r"^sekisho$"),
    "route": re.compile(r"^(undeclared|(view|form|webhook|session|partner):[a-z][a-z0-9-]*)$"),
    "outcome": re.compile(r"^[a-z][a-z0-9_]*$"),
    "queue": re.compile(r"^(intake|webhook)$"),
}


@dataclass(frozen=True)
class Emitted:
    name: str
    unit: str
    dimensions: dict[str, str]
    values: list[float]


def emitted(text: str) -> list[Emitted]:
    """Each metric of each EMF line in ``text``, in order; other lines are skipped."""
    found = []
    for line in text.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        document: dict[str, Any] = json.loads(line)
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == metrics.NAMESPACE
        (keys,) = directive["Dimensions"]
        for metric in directive["Metrics"]:
            raw = document[metric["Name"]]
            found.append(
                Emitted(
                    metric["Name"],
                    metric["Unit"],
                    {key: document[key] for key in keys},
                    raw if isinstance(raw, list) else [raw],
                )
            )
    return found


def named(text: str, name: str) -> list[Emitted]:
    return [metric for metric in emitted(text) if metric.name == name]


def dimensions(text: str, name: str) -> list[dict[str, str]]:
    """The dimension values of each ``name`` metric, ``service`` checked and left out."""
    out = []
    for metric in named(text, name):
        values = dict(metric.dimensions)
        assert values.pop("service") == metrics.SERVICE
        out.append(values)
    return out
