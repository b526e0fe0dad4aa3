"""The policy file of an operator command: which one, and its load errors, printed."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from ..errors import PolicyError
from ..model import Policy
from ..source import POLICY_ENV, policy_file
from .loader import read_policy

DEFAULT_POLICY_FILE = "policy.yaml"
POLICY_HELP = f"the policy file (default: ${POLICY_ENV}, else ./{DEFAULT_POLICY_FILE})"


def policy_path(given: str | None) -> Path:
    """The file named on the command line, else $SEKISHO_POLICY, else ./policy.yaml."""
    return policy_file(given, default=Path(DEFAULT_POLICY_FILE))


def read_policy_or_report(given: str | None, out: TextIO) -> Policy | None:
    """The policy, or None after printing each load error as ``error: <issue>``."""
    try:
        return read_policy(policy_path(given))
    except PolicyError as exc:
        for issue in exc.issues:
            print(f"error: {issue}", file=out)
        return None
