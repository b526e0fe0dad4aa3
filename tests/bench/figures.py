"""The figures of one `make bench` run, each beside its goal.

Each benchmark records what it measured (`record`); the last step of `make bench`
(`python -m tests.bench.figures`) prints them all in one table, so the figures read side by
side were measured in the same run. `make bench` starts the run with `--reset`.
"""

from __future__ import annotations

import argparse
import json
import operator
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN_FILE = ROOT / "build" / "bench" / "figures.json"

_COMPARE = {"≤": operator.le, "≥": operator.ge}


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str  # "x", "MB", "/s"...
    goal: float | None = None
    sense: str = "≤"  # "≤": at most the goal; "≥": at least
    digits: int = 2

    @property
    def met(self) -> bool | None:
        if self.goal is None:
            return None
        return _COMPARE[self.sense](self.value, self.goal)

    def line(self, width: int) -> str:
        value = f"{self.value:.{self.digits}f} {self.unit}".strip()
        if self.goal is None:
            return f"  {self.name:<{width}}  {value:>14}"
        goal = f"{self.sense} {self.goal:g} {self.unit}".strip()
        return f"  {self.name:<{width}}  {value:>14}   goal {goal:<12} {_verdict(self.met)}"


def _verdict(met: bool | None) -> str:
    return "ok" if met else "MISSED"


def record(*figures: Figure, path: Path = RUN_FILE) -> None:
    """Add figures to this run's file (a figure of the same name is replaced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = [f for f in load(path) if f.name not in {new.name for new in figures}]
    rows = [asdict(f) for f in [*kept, *figures]]
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def load(path: Path = RUN_FILE) -> list[Figure]:
    if not path.is_file():
        return []
    return [Figure(**row) for row in json.loads(path.read_text(encoding="utf-8"))]


def table(figures: list[Figure]) -> list[str]:
    width = max((len(f.name) for f in figures), default=0)
    missed = [f.name for f in figures if f.met is False]
    lines = ["figures of this run, each beside its goal:"]
    lines += [f.line(width) for f in figures]
    lines.append(
        f"{len(missed)} of {sum(f.goal is not None for f in figures)} goals missed"
        + (f": {', '.join(missed)}" if missed else "")
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reset", action="store_true", help="start a new run")
    args = parser.parse_args(argv)
    if args.reset:
        RUN_FILE.unlink(missing_ok=True)
        return 0
    figures = load()
    if not figures:
        print(f"no figures recorded in {RUN_FILE.relative_to(ROOT)}")
        return 1
    print("\n".join(table(figures)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
