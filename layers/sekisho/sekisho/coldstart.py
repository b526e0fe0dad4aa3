"""A container's init with the cyclic garbage collector paused, then frozen.

Importing this module pauses the collector: each function's ``app.py`` imports it first
(ruff's isort keeps it in a section of its own, ahead of the third-party imports), so
what the init loads (boto3, Powertools, the policy) is not scanned over and over while it
is being built: most of those objects live as long as the container, and an init
allocates far more of them than the collector's thresholds expect. The first-response
bench measured the collector at about a sixth of the init's CPU time.

:func:`ready`, the init's last line, moves everything alive into the permanent generation
(``gc.freeze``: never scanned again, and never touched, so it stays shared in a SnapStart
snapshot's memory) and turns the collector back on for what requests allocate.
"""

from __future__ import annotations

import gc

gc.disable()


def ready() -> None:
    """The init is done: freeze what it built and collect from here on."""
    gc.freeze()
    gc.enable()
