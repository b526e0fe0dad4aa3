"""The local dev stack (`make dev`): the SAM bundle on one machine, no AWS account, no Docker.

`start()` runs moto's server, the kintone emulator and a router that serves template.yaml's
routes through per-function worker processes; `python -m devstack` does it from a terminal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .stack import RunningStack, start

__all__ = ["RunningStack", "start"]


def __getattr__(name: str) -> Any:
    # Lazy: every worker process imports devstack.worker, and must not pay for moto.
    if name in __all__:
        from . import stack  # noqa: PLC0415

        return getattr(stack, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
