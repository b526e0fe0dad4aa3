"""Validation of a policy file: strict YAML, the schema, the cross references, the lint.

Used by ``sekisho check``, ``make build`` (which writes the reviewed snapshot), ``sekisho
openapi``, the local stack and the tests; never by a function's import path (the layer
ships neither pydantic nor PyYAML). What it produces is the runtime policy of
:mod:`sekisho.policy.model`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ..model import Policy
from . import schema
from .convert import runtime
from .lint import Finding, lint_policy
from .loader import clear_policy_cache, load_policy, parse_policy, read_policy

__all__ = [
    "Finding",
    "clear_policy_cache",
    "lint_policy",
    "load_policy",
    "parse_policy",
    "read_policy",
    "runtime",
    "schema",
    "validate",
    "validate_policy",
]


def validate(rule: type[BaseModel], data: Any) -> Any:
    """``data`` validated as ``rule`` (a class of :mod:`.schema`), returned in its runtime
    form; raises pydantic's ValidationError."""
    return runtime(rule.model_validate(data))


def validate_policy(data: Any) -> Policy:
    """A whole policy (a mapping, as YAML gives it) validated, in its runtime form."""
    result: Policy = validate(schema.Policy, data)
    return result
