"""What a function can import in Lambda, and a guard that refuses the rest in a worker.

In Lambda a function sees its own code, its layers and the runtime's boto3; this machine's
development tree (pydantic, PyYAML, moto, pytest...) is not there, and only PartnerFunction
has the signatures layer (cryptography). A worker that could import more would hide a
function that only works here, so each worker refuses every top-level module of a
distribution none of its layers ships, as Lambda would: with ModuleNotFoundError.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.metadata
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

# What the python3.12 runtime ships besides the standard library.
RUNTIME_DISTRIBUTIONS = ("boto3",)
# This project's own distribution (the layer's code comes from the layer directory).
_PROJECT = "sekisho"
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(requirements: Path) -> list[str]:
    """The distributions a requirements file names (versions, markers and comments aside)."""
    names = []
    for raw in requirements.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        match = _NAME.match(line)
        if match and not line.startswith("-"):
            names.append(canonical(match.group(1)))
    return names


def _dependencies(dist: importlib.metadata.Distribution) -> list[str]:
    from packaging.requirements import Requirement  # noqa: PLC0415 - the stack's, not a worker's

    names = []
    for spec in dist.requires or []:
        requirement = Requirement(spec)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            names.append(canonical(requirement.name))
    return names


def closure(names: Iterable[str]) -> set[str]:
    """The distributions `names` need, installed here, themselves included."""
    seen: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        seen.add(name)
        pending.extend(_dependencies(dist))
    return seen


def top_level_modules(dist: importlib.metadata.Distribution) -> set[str]:
    listed = dist.read_text("top_level.txt")
    if listed:
        return {line.strip() for line in listed.splitlines() if line.strip()}
    modules = set()
    for file in dist.files or []:
        first = file.parts[0]
        if first.endswith((".dist-info", ".egg-info", ".pth")) or first in ("..", "__pycache__"):
            continue
        if len(file.parts) > 1 or first.endswith((".py", ".so", ".pyd")):
            modules.add(first.split(".", 1)[0])
    return modules


@functools.cache
def unshipped_modules(*layer_requirements: Path) -> frozenset[str]:
    """Top-level modules installed here that neither the function's layers (each one's
    requirements file) nor the runtime provide (once per process and set of layers:
    reading every distribution's metadata takes a fifth of a second, and what is installed
    does not change while a stack or a test run goes on)."""
    named = [name for path in layer_requirements for name in requirement_names(path)]
    shipped = closure([*named, *RUNTIME_DISTRIBUTIONS])
    shipped.add(_PROJECT)
    provided: set[str] = set()
    refused: set[str] = set()
    for dist in importlib.metadata.distributions():
        modules = top_level_modules(dist)
        name = canonical(dist.metadata["Name"] or "")
        (provided if name in shipped else refused).update(modules)
    # A module two distributions install is kept when a shipped one provides it.
    return frozenset(refused - provided - set(sys.stdlib_module_names))


def layer_requirements(layer_dirs: Iterable[Path]) -> tuple[Path, ...]:
    """Each layer directory's requirements file (what sam build installs into it)."""
    return tuple(layer / "requirements.txt" for layer in layer_dirs)


class NotInTheLayer(importlib.abc.MetaPathFinder):
    """Refuses the modules Lambda would not have, naming where they would have to come from."""

    def __init__(self, refused: Iterable[str]) -> None:
        self.refused = frozenset(refused)

    def find_spec(self, fullname: str, path: Sequence[str] | None = None, target: object = None):
        if fullname.partition(".")[0] in self.refused:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: the function's layers do not ship it "
                "(layers/*/requirements.txt)",
                name=fullname,
            )
        # None: not refused, the next finder is asked.
        return None  # noqa: PLR1711, RET501


def refuse_unshipped(refused: Iterable[str]) -> None:
    """Install the guard in this process, before the handler is loaded.

    What is already imported would stay importable, so it is forgotten first: a spawned
    worker re-imports the main module of a script that started the stack (a benchmark's
    PyYAML, say), which the handler must not find there.
    """
    guard = NotInTheLayer(refused)
    for name in [n for n in sys.modules if n.partition(".")[0] in guard.refused]:
        del sys.modules[name]
    sys.meta_path.insert(0, guard)
