"""Which policy file a container or a command reads: the one resolver.

The file named (a command's argument), else ``SEKISHO_POLICY``, else a default: for a
function the reviewed snapshot ``make build`` bundles next to this package (else the
bundled policy.yaml), for an operator command ./policy.yaml.
"""

from __future__ import annotations

import os
from pathlib import Path

import sekisho

POLICY_ENV = "SEKISHO_POLICY"
SNAPSHOT_FILE = "policy.snapshot.json"
DIGEST_FILE = "policy.snapshot.sha256"
PACKAGE_DIR = Path(sekisho.__file__).parent
# What `make build` bundles next to this package in the layer (both gitignored).
BUNDLED_SNAPSHOT = PACKAGE_DIR / SNAPSHOT_FILE
BUNDLED_YAML = PACKAGE_DIR / "policy.yaml"


def policy_file(given: str | Path | None = None, *, default: Path | None = None) -> Path:
    """The file named, else ``$SEKISHO_POLICY``, else ``default`` (else :func:`bundled`).

    As given: a command prints the name its operator typed; a container resolves it.
    """
    chosen = given or os.environ.get(POLICY_ENV) or default
    return Path(chosen) if chosen else bundled()


def bundled() -> Path:
    """The layer's reviewed snapshot when ``make build`` bundled one, else its policy.yaml."""
    return BUNDLED_SNAPSHOT if BUNDLED_SNAPSHOT.is_file() else BUNDLED_YAML
