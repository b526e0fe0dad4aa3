"""`make metrics`: what the local stack's functions would have sent CloudWatch so far.

Reads the EMF lines the workers kept (`emf_log.py`) and adds them up as CloudWatch would
per metric and dimension set: how many values (count), their sum and their maximum.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import emf_log

STATE_DIR = Path("build") / "devstack"
# Every metric of the relay carries it; the table leaves it out.
SERVICE_DIMENSION = "service"
Dimensions = tuple[tuple[str, str], ...]


@dataclass
class Series:
    """One metric with one set of dimension values, as CloudWatch keeps it."""

    namespace: str
    name: str
    unit: str
    dimensions: Dimensions
    values: list[float] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.values)

    @property
    def total(self) -> float:
        return sum(self.values)

    @property
    def maximum(self) -> float:
        return max(self.values, default=0.0)


def _values(raw: Any) -> list[float]:
    items = raw if isinstance(raw, list) else [raw]
    return [float(v) for v in items if isinstance(v, int | float) and not isinstance(v, bool)]


def _metrics_of(line: str) -> Iterator[tuple[str, str, str, Dimensions, list[float]]]:
    """(namespace, name, unit, dimension values, values) of each metric one line declares;
    nothing for a line that is not an EMF document (CloudWatch keeps it as a log line)."""
    try:
        document = json.loads(line)
        directives = document["_aws"]["CloudWatchMetrics"]
    except (ValueError, KeyError, TypeError):
        return
    if not isinstance(directives, list):
        return
    for directive in directives:
        if not isinstance(directive, dict):
            continue
        namespace = str(directive.get("Namespace", ""))
        for keys in directive.get("Dimensions") or [[]]:
            dimensions = tuple((str(k), str(document.get(k, ""))) for k in keys)
            for metric in directive.get("Metrics") or []:
                if isinstance(metric, dict):
                    name = str(metric.get("Name", ""))
                    unit = str(metric.get("Unit", "None"))
                    yield namespace, name, unit, dimensions, _values(document.get(name))


def summarise(lines: Iterable[str]) -> list[Series]:
    """Each metric by its dimension values, in name then dimension order."""
    found: dict[tuple[str, str, Dimensions], Series] = {}
    for line in lines:
        for namespace, name, unit, dimensions, values in _metrics_of(line):
            key = (namespace, name, dimensions)
            if key not in found:
                found[key] = Series(namespace, name, unit, dimensions)
            found[key].values += values
    return sorted(found.values(), key=lambda s: (s.namespace, s.name, s.dimensions))


def _number(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def table(series: list[Series]) -> str:
    """A plain table: metric, dimensions (service aside), unit, count, sum, max."""
    rows = [("metric", "dimensions", "unit", "count", "sum", "max")]
    for s in series:
        shown = " ".join(f"{k}={v}" for k, v in s.dimensions if k != SERVICE_DIMENSION)
        rows.append(
            (s.name, shown or "-", s.unit, str(s.count), _number(s.total), _number(s.maximum))
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    right = {3, 4, 5}
    return "\n".join(
        "  ".join(
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    )


def show_metrics(args: argparse.Namespace) -> int:
    path = args.state_dir / emf_log.FILE_NAME
    try:
        series = summarise(emf_log.lines(path))
    except OSError:
        print(f"no metrics at {path}: is make dev running?", file=sys.stderr)
        return 1
    if not series:
        print("no metrics yet: send a request (make dev prints what to try)")
        return 0
    namespaces = sorted({s.namespace for s in series})
    print(f"namespace {', '.join(namespaces)}, since the stack started ({path}):")
    print(table(series))
    return 0


def add_metrics_command(commands: argparse._SubParsersAction) -> None:
    metrics = commands.add_parser(
        "metrics",
        help="add up the metrics a running stack's functions have written (EMF)",
        description=(
            "Every embedded-metric-format line the functions printed since the stack "
            "started, added up per metric and dimension values: how many values, their sum "
            "and their maximum, as CloudWatch would keep them."
        ),
    )
    metrics.add_argument(
        "--host", default="127.0.0.1", help="the stack's address (default: %(default)s)"
    )
    metrics.add_argument(
        "--state-dir",
        type=Path,
        default=STATE_DIR,
        help="the stack's state directory, as make dev was given it (default: %(default)s)",
    )
    metrics.set_defaults(handler=show_metrics)
