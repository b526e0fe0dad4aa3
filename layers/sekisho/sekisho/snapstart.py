"""Lambda SnapStart: an init that does its work eagerly, and the hooks around the snapshot.

With SnapStart (``SEKISHO_SNAPSTART=1``, which template.yaml sets when its ``SnapStart``
parameter is ``on``, or the runtime's ``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``) Lambda
runs the init once, when a version is published, and resumes every new container from a
snapshot of its memory. Work deferred to the first request is then paid by every restored
container again, so :func:`prepare` builds the function's services during the init: the
policy is already restored, and the clients, codecs and services are built into the
snapshot.

What must not be shared by every container restored from one snapshot, and why:

- **secret values** (the kintone tokens, the guard's and the realms' keys): the snapshot
  is encrypted, but a value read before it would be served by every restored container
  with a cache time taken before the snapshot, long after a rotation. Before the
  snapshot the stores forget every value; each restored container reads its own.
- **open connections** (botocore's and the kintone session's pools): a socket of the
  snapshot's is not one the restored container holds. Both hooks close the pools; the
  next call opens its own.
- **the ``random`` module's state**, which jitters retries: one state restored everywhere
  would retry in step. After a restore it is seeded again from the OS. (``secrets`` and
  ``uuid.uuid4`` read the OS each time and need nothing.)

The hooks are registered with the runtime's ``snapshot_restore_py`` (part of the Lambda
Python runtime); where it is missing (an on-demand container, a test), nothing is.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType
from typing import Any

from sekisho import aws
from sekisho.kintone.session import shared_session
from sekisho.secrets.store import forget_cached_values

logger = logging.getLogger(__name__)

ENVIRONMENT_VARIABLE = "SEKISHO_SNAPSTART"


_runtime_hooks: ModuleType | None
try:  # the Lambda Python runtime's own module (3.12+); absent anywhere else
    import snapshot_restore_py as _runtime_hooks  # type: ignore[import-not-found, no-redef, unused-ignore]
except ImportError:
    _runtime_hooks = None


def enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Is this container's init the one a snapshot is taken of?"""
    return (
        environ.get(ENVIRONMENT_VARIABLE) == "1"
        or environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start"
    )


def close_connections() -> None:
    aws.close_connections()
    shared_session().close()


def before_snapshot() -> None:
    """Nothing of a secret and no open socket goes into the snapshot."""
    forgotten = forget_cached_values()
    close_connections()
    logger.info("snapshot: secret values forgotten, connections closed",
                extra={"secrets_forgotten": forgotten})  # fmt: skip


def after_restore() -> None:
    """A restored container: its own randomness, its own secrets, its own connections."""
    random.seed()
    forget_cached_values()
    close_connections()


def prepare(
    *builders: Callable[[], Any], services: Iterable[aws.Service] = (), hooks: Any = None
) -> bool:
    """The end of a function's init: with SnapStart on, each of ``builders`` (the cached
    service factories of :mod:`sekisho.wiring`) is called now, and the container's client
    for each of ``services`` (the AWS services the function's role may call) is built:
    a service creates some of its clients at their first call, which a restored container
    would otherwise pay for in its first request. Then the hooks are registered
    (``hooks``: the runtime's module, found by itself when None). Without SnapStart,
    nothing: the services are built by the first request. True when SnapStart is on."""
    if not enabled():
        return False
    for build in builders:
        build()
    for service in services:
        aws.client(service)
    module = hooks if hooks is not None else _runtime_hooks
    if module is None:
        logger.warning("SnapStart is on but the runtime has no snapshot_restore_py")
        return True
    module.register_before_snapshot(before_snapshot)
    module.register_after_restore(after_restore)
    return True
