"""The policy a container runs with: the reviewed snapshot, after its digest checks.

A deployed function finds the snapshot ``make build`` bundled into the layer and never
loads pydantic or YAML. Any other file (the local stack's policy.yaml, a test's) is
validated in full first and digested the same way, so both log the digest a reviewer
approved.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .errors import SnapshotError
from .model import Policy
from .snapshot import check_pin, check_pinned, policy_digest, read_snapshot
from .source import policy_file


@dataclass(frozen=True)
class ReviewedPolicy:
    """The policy a container runs with, the digest it has and how it was read."""

    policy: Policy
    digest: str
    source: Path
    kind: Literal["snapshot", "validated"]


def load_reviewed(path: str | Path | None = None, *, pinned: str | None = None) -> ReviewedPolicy:
    """The container's policy: a ``.json`` snapshot restored after its digest checks, any
    other file validated in full and digested the same way."""
    source = policy_file(path).expanduser().resolve()
    if source.suffix == ".json":
        policy, digest = read_snapshot(source, pinned=pinned)
        return ReviewedPolicy(policy, digest, source, "snapshot")
    policy = _validated(source)
    digest = policy_digest(policy)
    check_pin(digest, check_pinned(pinned), source)
    return ReviewedPolicy(policy, digest, source, "validated")


def _validated(source: Path) -> Policy:
    try:
        # Deferred, the layer's one function-level import (docs/development.md): pydantic
        # and PyYAML, for a policy that is not a reviewed snapshot; the layer ships neither.
        from .validation.loader import load_policy  # noqa: PLC0415
    except ImportError as exc:
        raise SnapshotError(
            f"{source} is not a reviewed snapshot, and this layer cannot validate a policy "
            f"({exc.name or 'pydantic'} is not installed): `make build` bundles the snapshot "
            "(sekisho check --snapshot)"
        ) from None
    return load_policy(source)
