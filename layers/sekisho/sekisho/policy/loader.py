"""Read policy.yaml once per container: strict YAML, then the pydantic models.

The file is found by argument, else ``SEKISHO_POLICY``, else the copy ``make build``
bundles next to this package in the layer.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sekisho.errors import ConfigurationError

from .models import Policy
from .snapshot import BUNDLED_YAML as BUNDLED_POLICY
from .snapshot import POLICY_ENV


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


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys.

    PyYAML keeps the last of two equal keys without a word; in an authorization file the
    first rule would silently disappear.
    """

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            # Only the keys written in this mapping: a `<<` merge may be overridden, as
            # YAML intends.
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:
                    continue  # unhashable: SafeLoader reports it below
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"found duplicate key {key!r}",
                        key_node.start_mark,
                    )
        return super().construct_mapping(node, deep=deep)


def _pydantic_issue(source: Path, error: Any) -> PolicyIssue:
    location = ".".join(str(part) for part in error["loc"]) or str(source)
    # Our own validators' messages, without pydantic's "Value error, " prefix.
    cause = error.get("ctx", {}).get("error") if error["type"] == "value_error" else None
    return PolicyIssue(location, str(cause) if cause is not None else error["msg"])


def _yaml_issue(source: Path, exc: yaml.YAMLError) -> PolicyIssue:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or "not valid YAML"
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(source)
    return PolicyIssue(where, problem)


def parse_policy(text: str, source: Path | str = "<policy>") -> Policy:
    """Validate policy YAML text; raise :class:`PolicyError` naming every problem."""
    source = Path(source)
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise PolicyError(source, [_yaml_issue(source, exc)]) from exc
    if not isinstance(data, dict):
        raise PolicyError(source, [PolicyIssue(str(source), "the policy must be a YAML mapping")])
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        # Locations and messages only: the input values are never repeated.
        issues = [_pydantic_issue(source, error) for error in exc.errors()]
        raise PolicyError(source, issues) from exc


def read_policy(path: str | Path) -> Policy:
    """Read and validate the policy at ``path`` (uncached)."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise PolicyError(source, [PolicyIssue(str(source), "the file does not exist")]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        issue = PolicyIssue(str(source), f"the file cannot be read ({type(exc).__name__})")
        raise PolicyError(source, [issue]) from exc
    return parse_policy(text, source)


def resolve_policy_path(path: str | Path | None = None) -> Path:
    if path is None:
        path = os.environ.get(POLICY_ENV) or BUNDLED_POLICY
    return Path(path).expanduser().resolve()


@functools.cache
def _cached(path: Path) -> Policy:
    # NOTE: functools.cache keeps only successes, so a fixed file is read again.
    return read_policy(path)


def load_policy(path: str | Path | None = None) -> Policy:
    """The policy for this container, read once per resolved path."""
    return _cached(resolve_policy_path(path))


def clear_policy_cache() -> None:
    _cached.cache_clear()
