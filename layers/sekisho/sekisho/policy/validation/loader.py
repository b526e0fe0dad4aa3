"""Read policy.yaml: strict YAML, then the validation schema, then the runtime policy.

What this returns is the runtime form (:mod:`sekisho.policy.model`) the functions use;
the schema's pydantic objects never leave this package.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import PolicyError, PolicyIssue
from ..model import Policy
from ..source import BUNDLED_YAML, policy_file
from .convert import runtime
from .schema import Policy as PolicySchema


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys.

    PyYAML keeps the last of two equal keys without a word; in an authorization file the
    first rule would silently disappear.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
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
        policy: Policy = runtime(PolicySchema.model_validate(data))
        return policy
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


@functools.cache
def _cached(path: Path) -> Policy:
    # NOTE: functools.cache keeps only successes, so a fixed file is read again.
    return read_policy(path)


def load_policy(path: str | Path | None = None) -> Policy:
    """The policy for this container, read once per resolved path."""
    return _cached(policy_file(path, default=BUNDLED_YAML).expanduser().resolve())


def clear_policy_cache() -> None:
    _cached.cache_clear()
