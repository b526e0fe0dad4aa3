"""How the banner spells a command a developer copies: with the interpreter and scripts of
the environment the stack runs in (`.venv/bin/...` under `make dev`), so the line works in a
fresh shell where that environment is not activated."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _here(path: Path) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows): the absolute path serves
        return str(path)
    return str(path) if relative.startswith("..") else relative


def python() -> str:
    """This interpreter, relative to the working directory when it lies below it."""
    return _here(Path(sys.executable))


def devstack() -> str:
    return f"{python()} -m devstack"


def script(name: str) -> str:
    """A console script installed beside this interpreter (`sekisho`)."""
    return _here(Path(sys.executable).with_name(name))
