"""A policy that cannot be used: where and what, one issue per problem."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sekisho.errors import ConfigurationError


@dataclass(frozen=True)
class PolicyIssue:
    """One problem in a policy file: where and what.

    ``location`` is a dotted path into the policy (``views.deal-status.limit``), or the
    file itself (``policy.yaml``, ``policy.yaml:3:5``) when the problem is not in a rule.
    """

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class PolicyError(ConfigurationError):
    """The policy file is missing or invalid; ``issues`` says where, one per problem."""

    def __init__(self, source: Path, issues: list[PolicyIssue]) -> None:
        self.source = source
        self.issues = tuple(issues)
        summary = "; ".join(str(issue) for issue in self.issues)
        super().__init__(f"policy {source} is invalid: {summary}")


class SnapshotError(ConfigurationError):
    """A snapshot cannot be written, or is not the reviewed one: the function refuses it."""
