"""The reviewed policy snapshot: validated once at build, restored at every cold start.

``sekisho check --snapshot`` (and ``make build``) validates policy.yaml in full — the
pydantic models, the cross references, the lint — and writes what that produced as
compact JSON, ``policy.snapshot.json``, with its SHA-256 in ``policy.snapshot.sha256``
(``sha256sum -c`` reads it). A function's cold start restores the snapshot into the
runtime classes of :mod:`~sekisho.policy.model` without loading pydantic or YAML, and
refuses it unless its bytes hash to the recorded digest and, when the stack pins one
(``SEKISHO_POLICY_DIGEST``, the template's ``PolicyDigest``), to that digest too: what
runs is what was reviewed (:mod:`~sekisho.policy.reviewed`).

The digest names the normalised policy, not the file it was written in: the full
validation of a YAML file yields the digest its snapshot would have, so a stack that
reads policy.yaml (the local stack) logs the same digest a deployed one does.

Format 1 is the runtime classes' fields in declaration order. A model is an object
with ``"$model"`` naming its class; a compiled pattern is ``{"$pattern", "$flags"}``, a
network ``{"$network"}``, a mapping with integer keys (app ids) ``{"$int_keys"}``; every
array is read back as a tuple, as the models hold them.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SnapshotError
from .model import MODELS, Policy
from .rule import Rule, field_values
from .source import DIGEST_FILE, SNAPSHOT_FILE

FORMAT = 1
_DIGEST = re.compile(r"[0-9a-f]{64}")

_MODEL, _PATTERN, _FLAGS, _NETWORK, _INT_KEYS = (
    "$model",
    "$pattern",
    "$flags",
    "$network",
    "$int_keys",
)
_TAGS = frozenset({_MODEL, _PATTERN, _FLAGS, _NETWORK, _INT_KEYS})


# ----------------------------------------------------------------------------- encode


def _encode(value: Any, where: str) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SnapshotError(f"{where}: {value} cannot be written to a snapshot")
        return value
    if isinstance(value, tuple | list):
        return [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, re.Pattern):
        return {_PATTERN: value.pattern, _FLAGS: value.flags}
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return {_NETWORK: str(value)}
    if isinstance(value, Mapping):
        return _encode_mapping(value, where)
    name = type(value).__name__
    if isinstance(value, Rule) and MODELS.get(name) is type(value):
        out: dict[str, Any] = {_MODEL: name}
        for field, member in field_values(value).items():
            out[field] = _encode(member, f"{where}.{field}" if where else field)
        return out
    # A new kind of value in the models must be taught to the snapshot, not guessed at.
    raise SnapshotError(f"{where or 'policy'}: a {name} cannot be written to a snapshot")


def _encode_mapping(value: Mapping[Any, Any], where: str) -> dict[str, Any]:
    keys = list(value)
    if keys and all(isinstance(k, int) and not isinstance(k, bool) for k in keys):
        return {_INT_KEYS: {str(k): _encode(v, f"{where}.{k}") for k, v in value.items()}}
    out = {}
    for key, member in value.items():
        if not isinstance(key, str) or key in _TAGS:
            raise SnapshotError(f"{where}: the key {key!r} cannot be written to a snapshot")
        out[key] = _encode(member, f"{where}.{key}")
    return out


def snapshot_bytes(policy: Policy) -> bytes:
    """The snapshot of a validated (or restored) policy."""
    document = {"format": FORMAT, "policy": _encode(policy, "")}
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8")


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def policy_digest(policy: Policy) -> str:
    """The digest the snapshot of ``policy`` has (what the init log line names)."""
    return digest_of(snapshot_bytes(policy))


@dataclass(frozen=True)
class WrittenSnapshot:
    path: Path
    digest_path: Path
    digest: str


def write_snapshot(policy: Policy, directory: str | Path) -> WrittenSnapshot:
    """Write ``policy``'s snapshot and its digest into ``directory``."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    data = snapshot_bytes(policy)
    digest = digest_of(data)
    path, digest_path = folder / SNAPSHOT_FILE, folder / DIGEST_FILE
    # The digest goes last: a build stopped half-way leaves a pair that does not match,
    # which a cold start refuses, never a new snapshot under an old digest that matches.
    digest_path.unlink(missing_ok=True)
    path.write_bytes(data)
    digest_path.write_text(f"{digest}  {SNAPSHOT_FILE}\n", encoding="ascii")
    return WrittenSnapshot(path, digest_path, digest)


# ----------------------------------------------------------------------------- decode


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _object(pairs: list[tuple[str, Any]]) -> Any:
    """json's object hook: each object, innermost first, becomes what it was written from."""
    values = {key: _tuples(value) for key, value in pairs}
    if _MODEL in values:
        name = values.pop(_MODEL)
        cls = MODELS.get(name) if isinstance(name, str) else None
        if cls is None:
            raise SnapshotError(f"the snapshot names a model {name!r} that the policy has not")
        try:
            return cls(**values)
        except TypeError:
            # A field the model has not, or one it needs missing: not this policy's format.
            raise SnapshotError(f"the snapshot's {name} does not have {name}'s fields") from None
    if _PATTERN in values:
        return re.compile(values[_PATTERN], values.get(_FLAGS, 0))
    if _NETWORK in values:
        return ipaddress.ip_network(values[_NETWORK])
    if _INT_KEYS in values:
        return {int(key): value for key, value in values[_INT_KEYS].items()}
    return values


def restore(data: bytes) -> Policy:
    """The frozen policy a snapshot's bytes hold (their digest is checked by the caller)."""
    try:
        document = json.loads(data.decode("utf-8"), object_pairs_hook=_object)
    except (UnicodeDecodeError, ValueError, TypeError, re.error) as exc:
        raise SnapshotError(f"the policy snapshot is not readable ({type(exc).__name__})") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SnapshotError(f"the policy snapshot is not format {FORMAT}")
    policy = document.get("policy")
    if type(policy) is not Policy:
        raise SnapshotError("the policy snapshot holds no policy")
    return policy


def recorded_digest(path: Path) -> str:
    """The digest written next to a snapshot (``sha256sum`` format)."""
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise SnapshotError(
            f"{path} does not exist: a snapshot without its digest is refused"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"{path} cannot be read ({type(exc).__name__})") from exc
    digest = text.split()[0] if text.split() else ""
    if not _DIGEST.fullmatch(digest):
        raise SnapshotError(f"{path} holds no SHA-256 digest")
    return digest


def check_pinned(pinned: str | None) -> str | None:
    """``SEKISHO_POLICY_DIGEST`` as a digest, or None when the stack pins none."""
    if not pinned:
        return None
    if not _DIGEST.fullmatch(pinned):
        raise SnapshotError("SEKISHO_POLICY_DIGEST must be a lower-case SHA-256 hex digest")
    return pinned


def read_snapshot(path: str | Path, *, pinned: str | None = None) -> tuple[Policy, str]:
    """The frozen policy at ``path`` and its digest, after both digest checks."""
    source = Path(path)
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        raise SnapshotError(f"policy snapshot {source} does not exist") from None
    except OSError as exc:
        raise SnapshotError(
            f"policy snapshot {source} cannot be read ({type(exc).__name__})"
        ) from exc
    digest = digest_of(data)
    if digest != recorded_digest(source.with_name(DIGEST_FILE)):
        raise SnapshotError(
            f"policy snapshot {source} does not match its digest {DIGEST_FILE}: refusing a "
            "snapshot that was changed after review"
        )
    check_pin(digest, check_pinned(pinned), source)
    return restore(data), digest


def check_pin(digest: str, pinned: str | None, source: Path) -> None:
    if pinned is not None and digest != pinned:
        raise SnapshotError(
            f"policy {source} has digest {digest}, but the stack was deployed for {pinned} "
            "(PolicyDigest): refusing a policy other than the reviewed one"
        )
