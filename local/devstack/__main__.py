"""`python -m devstack`: the local stack until Ctrl-C or SIGTERM."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    # Imported here: spawned workers re-import the main module, and must not pay for moto.
    from .cli import run  # noqa: PLC0415

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
