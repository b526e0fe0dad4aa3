"""The reviewed policy snapshot: validated once at build, restored at every cold start.

``sekisho check --snapshot`` (and ``make build``) validates policy.yaml in full — the
pydantic models, the cross references, the lint — and writes what that produced as
compact JSON, ``policy.snapshot.json``, with its SHA-256 in ``policy.snapshot.sha256``
(``sha256sum -c`` reads it). A function's cold start restores the snapshot into frozen
objects without loading pydantic or YAML, and refuses it unless its bytes hash to the
recorded digest and, when the stack pins one (``SEKISHO_POLICY_DIGEST``, the template's
``PolicyDigest``), to that digest too: what runs is what was reviewed.

The digest names the normalised policy, not the file it was written in: the full
validation of a YAML file yields the digest its snapshot would have, so a stack that
reads policy.yaml (the local stack) logs the same digest a deployed one does.

Format 1 is the validated models' fields in declaration order. A model is an object
with ``"$model"`` naming its class; a compiled pattern is ``{"$pattern", "$flags"}``, a
network ``{"$network"}``, a mapping with integer keys (app ids) ``{"$int_keys"}``; every
array is read back as a tuple, as the models hold them.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import sekisho
from sekisho.errors import ConfigurationError

from .behaviour import (
    ActionBehaviour,
    AppBehaviour,
    FormBehaviour,
    FormFieldBehaviour,
    MatchRuleBehaviour,
    PolicyBehaviour,
    RateBehaviour,
    ViewBehaviour,
    WebhookBehaviour,
)

FORMAT = 1
SNAPSHOT_FILE = "policy.snapshot.json"
DIGEST_FILE = "policy.snapshot.sha256"
PACKAGE_DIR = Path(sekisho.__file__).parent
# What `make build` bundles next to this package in the layer (both gitignored).
BUNDLED_SNAPSHOT = PACKAGE_DIR / SNAPSHOT_FILE
BUNDLED_YAML = PACKAGE_DIR / "policy.yaml"
POLICY_ENV = "SEKISHO_POLICY"
_DIGEST = re.compile(r"[0-9a-f]{64}")

_MODEL, _PATTERN, _FLAGS, _NETWORK, _INT_KEYS = (
    "$model",
    "$pattern",
    "$flags",
    "$network",
    "$int_keys",
)
_TAGS = frozenset({_MODEL, _PATTERN, _FLAGS, _NETWORK, _INT_KEYS})


class SnapshotError(ConfigurationError):
    """A snapshot cannot be written, or is not the reviewed one: the function refuses it."""


# ------------------------------------------------------------------------ frozen models


class Frozen:
    """A policy model restored from a snapshot: its validated fields, read-only.

    Fields are attributes in declaration order; names starting with ``_`` are derived at
    restore time (a view's field types) and are not part of the snapshot.
    """

    __slots__ = ("__dict__",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        vars(self).update(values)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    __hash__ = None  # type: ignore[assignment]  # as the models: they hold dicts

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in _fields(self).items())
        return f"{type(self).__name__}({shown})"

    def _restored(self) -> None:
        """Called once the whole policy is restored (bottom-up, so children are whole)."""


class _Policy(PolicyBehaviour, Frozen):
    __slots__ = ()

    def _restored(self) -> None:
        # What the Policy model's validator sets on each view: its app's field types.
        for view in self.views.values():
            object.__setattr__(view, "_field_types", self.apps[view.app].field_types)


def _frozen(name: str, *behaviour: type) -> type[Frozen]:
    return type(name, (*behaviour, Frozen), {"__slots__": (), "__module__": __name__})


# Every model a policy is made of, by class name; a snapshot naming any other is refused.
FROZEN: Mapping[str, type[Frozen]] = {
    "Policy": type("Policy", (_Policy,), {"__slots__": (), "__module__": __name__}),
    "KintoneSettings": _frozen("KintoneSettings"),
    "AppPolicy": _frozen("AppPolicy", AppBehaviour),
    "MatchRule": _frozen("MatchRule", MatchRuleBehaviour),
    "GuardPolicy": _frozen("GuardPolicy"),
    "Rate": _frozen("Rate", RateBehaviour),
    "ViewPolicy": _frozen("ViewPolicy", ViewBehaviour),
    "WebhookRefetch": _frozen("WebhookRefetch"),
    "WebhookPolicy": _frozen("WebhookPolicy", WebhookBehaviour),
    "ActionPolicy": _frozen("ActionPolicy", ActionBehaviour),
    "ActionKey": _frozen("ActionKey"),
    "FieldSource": _frozen("FieldSource"),
    "FormPolicy": _frozen("FormPolicy", FormBehaviour),
    "FormField": _frozen("FormField", FormFieldBehaviour),
    "CaptchaPolicy": _frozen("CaptchaPolicy"),
    "FormGuardPolicy": _frozen("FormGuardPolicy"),
}


# ----------------------------------------------------------------------------- encode


def _fields(model: Any) -> dict[str, Any]:
    """A model's fields in declaration order: a pydantic model's or a frozen one's."""
    declared = getattr(type(model), "model_fields", None)
    if declared is not None:
        return {name: getattr(model, name) for name in declared}
    return {k: v for k, v in vars(model).items() if not k.startswith("_")}


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
    if name in FROZEN and (isinstance(value, Frozen) or hasattr(type(value), "model_fields")):
        out: dict[str, Any] = {_MODEL: name}
        for field, member in _fields(value).items():
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


def snapshot_bytes(policy: Any) -> bytes:
    """The snapshot of a validated policy (a pydantic ``Policy`` or a restored one)."""
    document = {"format": FORMAT, "policy": _encode(policy, "")}
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8")


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def policy_digest(policy: Any) -> str:
    """The digest the snapshot of ``policy`` has (what the init log line names)."""
    return digest_of(snapshot_bytes(policy))


@dataclass(frozen=True)
class WrittenSnapshot:
    path: Path
    digest_path: Path
    digest: str


def write_snapshot(policy: Any, directory: str | Path) -> WrittenSnapshot:
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
        cls = FROZEN.get(name) if isinstance(name, str) else None
        if cls is None:
            raise SnapshotError(f"the snapshot names a model {name!r} that the policy has not")
        return cls(values)
    if _PATTERN in values:
        return re.compile(values[_PATTERN], values.get(_FLAGS, 0))
    if _NETWORK in values:
        return ipaddress.ip_network(values[_NETWORK])
    if _INT_KEYS in values:
        return {int(key): value for key, value in values[_INT_KEYS].items()}
    return values


def _restore(model: Any) -> None:
    """Run each restored model's ``_restored`` hook, children before parents."""
    # Exact types, not the Mapping ABC: a restored policy holds only dicts and tuples, and
    # ABC checks would be most of a cold start's restore time.
    if isinstance(model, Frozen):
        for value in vars(model).values():
            _restore(value)
        model._restored()
    elif type(model) is dict:
        for value in model.values():
            _restore(value)
    elif type(model) is tuple:
        for value in model:
            _restore(value)


def restore(data: bytes) -> Any:
    """The frozen policy a snapshot's bytes hold (their digest is checked by the caller)."""
    try:
        document = json.loads(data.decode("utf-8"), object_pairs_hook=_object)
    except (UnicodeDecodeError, ValueError, TypeError, re.error) as exc:
        raise SnapshotError(f"the policy snapshot is not readable ({type(exc).__name__})") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SnapshotError(f"the policy snapshot is not format {FORMAT}")
    policy = document.get("policy")
    if type(policy) is not FROZEN["Policy"]:
        raise SnapshotError("the policy snapshot holds no policy")
    _restore(policy)
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


def read_snapshot(path: str | Path, *, pinned: str | None = None) -> tuple[Any, str]:
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
    _check_pin(digest, check_pinned(pinned), source)
    return restore(data), digest


def _check_pin(digest: str, pinned: str | None, source: Path) -> None:
    if pinned is not None and digest != pinned:
        raise SnapshotError(
            f"policy {source} has digest {digest}, but the stack was deployed for {pinned} "
            "(PolicyDigest): refusing a policy other than the reviewed one"
        )


# -------------------------------------------------------------------------- cold start


@dataclass(frozen=True)
class ReviewedPolicy:
    """The policy a container runs with, the digest it has and how it was read."""

    policy: Any
    digest: str
    source: Path
    kind: Literal["snapshot", "validated"]


def resolve_source(path: str | Path | None = None) -> Path:
    """The file named, else ``SEKISHO_POLICY``, else the layer's snapshot when ``make
    build`` bundled one, else the layer's policy.yaml."""
    if path is None:
        path = os.environ.get(POLICY_ENV) or None
    if path is None:
        path = BUNDLED_SNAPSHOT if BUNDLED_SNAPSHOT.is_file() else BUNDLED_YAML
    return Path(path).expanduser().resolve()


def load_reviewed(path: str | Path | None = None, *, pinned: str | None = None) -> ReviewedPolicy:
    """The container's policy: a ``.json`` snapshot restored after its digest checks, any
    other file validated in full (pydantic, loaded only then) and digested the same way."""
    source = resolve_source(path)
    if source.suffix == ".json":
        policy, digest = read_snapshot(source, pinned=pinned)
        return ReviewedPolicy(policy, digest, source, "snapshot")
    try:
        from .loader import load_policy  # noqa: PLC0415 - pydantic and YAML, only for a YAML file
    except ImportError as exc:
        # The layer ships neither: a deployed function starts from the reviewed snapshot.
        raise SnapshotError(
            f"{source} is not a reviewed snapshot, and this layer cannot validate a policy "
            f"({exc.name or 'pydantic'} is not installed): `make build` bundles the snapshot "
            "(sekisho check --snapshot)"
        ) from None
    policy = load_policy(source)
    digest = policy_digest(policy)
    _check_pin(digest, check_pinned(pinned), source)
    return ReviewedPolicy(policy, digest, source, "validated")
