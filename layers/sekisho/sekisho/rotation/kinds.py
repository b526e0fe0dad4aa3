"""What each kind of secret does in the four steps.

The secret's JSON says its ``kind``:

- ``hmac``: a key sekisho generates and alone holds (the guard's hash key, ``key``; a
  kintone webhook URL token, ``secret``). createSecret makes a fresh one.
- ``partner-key``: a partner system's shared HMAC key (``secret``: the base64url of 32
  random bytes), generated like ``hmac``; the partner is handed each new one and signs
  with the previous one no longer than its grace period.
- ``kintone-token``: kintone has no API to create tokens, so an operator creates one in
  kintone and stages it (``sekisho token stage``); createSecret copies the staged value,
  testSecret proves it has exactly the permissions the policy declares.
- ``webhook-key``: a key a webhook sender issues (Box has two); staged like a kintone
  token, checked for shape only. ``captcha`` (a CAPTCHA provider's siteverify secret) is
  handled the same way.

Every new value carries ``rotated_at`` (epoch seconds): webhook verifiers accept the
previous version for a grace period counted from it. Versions are immutable, so it is
written when the value is created, a step or two before it becomes current.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sekisho.secrets.errors import SecretMalformed
from sekisho.secrets.partner_key import FIELD as PARTNER_KEY_FIELD
from sekisho.secrets.partner_key import new_partner_key, partner_key_bytes

from .errors import (
    NothingStaged,
    PendingValueIsCurrent,
    SecretKindUnknown,
    SecretShapeInvalid,
    StagedValueIsCurrent,
)
from .versions import STAGED, SecretMetadata, SecretVersions, Value

HMAC = "hmac"
PARTNER_KEY = "partner-key"
KINTONE_TOKEN = "kintone-token"  # noqa: S105 - a kind, not a value
WEBHOOK_KEY = "webhook-key"
CAPTCHA = "captcha"

# The guard refuses a hash key shorter than 32 characters; 48 random bytes give 64
# URL-safe characters (384 bits), as docs/operations.md promises.
KEY_BYTES = 48
MIN_KEY_CHARS = 32


@dataclass(frozen=True)
class StepContext:
    """One step of one rotation: the secret as the event names it, what DescribeSecret
    said about it, and the version being rotated in."""

    secret_id: str
    metadata: SecretMetadata
    token: str
    versions: SecretVersions
    now: float

    @property
    def name(self) -> str:
        return self.metadata.name


class Kind(Protocol):
    name: str

    def create(self, ctx: StepContext, current: Value) -> Value:
        """The value of the new version."""
        ...

    def test(self, ctx: StepContext, current: Value, pending: Value) -> tuple[str, ...]:
        """Raise unless ``pending`` may become current; lines saying what was checked."""
        ...

    def finish(self, ctx: StepContext, pending: Value) -> None:
        """Tidy up before the new version becomes current."""
        ...


# A check of a staged value against the world outside Secrets Manager: (secret name,
# pending value) -> lines saying what was proved; raises when the value must not be used.
ValueCheck = Callable[[str, Value], tuple[str, ...]]


def kind_of(value: Value, name: str, kinds: Mapping[str, Kind]) -> Kind:
    kind = value.get("kind")
    if not isinstance(kind, str) or kind not in kinds:
        raise SecretKindUnknown(
            f"secret {name!r} has kind {kind!r}; rotation knows {sorted(kinds)}"
            if isinstance(kind, str)
            else f"secret {name!r} says no kind; rotation knows {sorted(kinds)}"
        )
    return kinds[kind]


def _key_fields(current: Value, fields: tuple[str, ...], name: str) -> tuple[str, ...]:
    present = tuple(f for f in fields if f in current)
    if not present:
        raise SecretShapeInvalid(f"secret {name!r} has none of the key fields {list(fields)}")
    return present


def _check_keys(
    candidate: Value,
    kind: str,
    keys: tuple[str, ...],
    name: str,
    where: str,
    *,
    all_required: bool = True,
) -> None:
    """Every key field a string; all of them non-empty, or (``all_required`` false: Box
    keeps a primary and a secondary key and may use one) at least one."""
    if candidate.get("kind") != kind:
        raise SecretShapeInvalid(f"secret {name!r} ({where}) is not of kind {kind!r}")
    filled = 0
    for key in keys:
        value = candidate.get(key)
        if not isinstance(value, str) or (all_required and not value):
            raise SecretShapeInvalid(f"secret {name!r} ({where}) has no non-empty {key!r}")
        filled += bool(value)
    if not filled:
        raise SecretShapeInvalid(f"secret {name!r} ({where}) has no non-empty key")


def _same_keys(one: Value, other: Value, keys: tuple[str, ...]) -> bool:
    return all(one.get(k) == other.get(k) for k in keys)


class GeneratedKey:
    """``hmac``: sekisho makes the key, so nothing outside Secrets Manager changes.

    Keys come from :func:`secrets.token_urlsafe` rather than GetRandomPassword: the same
    CSPRNG quality with no extra API call or IAM action (GetRandomPassword cannot be
    limited to a resource), identical under moto, and the key never crosses the network
    before it is stored.
    """

    name = HMAC
    fields = ("key", "secret")

    def __init__(self, generate: Callable[[], str] | None = None) -> None:
        self._generate = generate or (lambda: secrets.token_urlsafe(KEY_BYTES))

    def create(self, ctx: StepContext, current: Value) -> Value:
        value = dict(current)
        for key in _key_fields(current, self.fields, ctx.name):
            value[key] = self._generate()
        value["rotated_at"] = int(ctx.now)
        return value

    def test(self, ctx: StepContext, current: Value, pending: Value) -> tuple[str, ...]:
        keys = _key_fields(current, self.fields, ctx.name)
        _check_keys(pending, self.name, keys, ctx.name, "AWSPENDING")
        lines = []
        for key in keys:
            if len(pending[key]) < MIN_KEY_CHARS:
                raise SecretShapeInvalid(
                    f"secret {ctx.name!r} (AWSPENDING): {key!r} is shorter than "
                    f"{MIN_KEY_CHARS} characters"
                )
            if pending[key] == current.get(key):
                raise PendingValueIsCurrent(
                    f"secret {ctx.name!r}: the new {key!r} is the current one"
                )
            lines.append(f"{key}: a new key of {len(pending[key])} characters")
        return tuple(lines)

    def finish(self, ctx: StepContext, pending: Value) -> None:
        return None


class PartnerKey:
    """``partner-key``: generated like ``hmac``, but the key is bytes a partner's system
    holds too, so testSecret reads it exactly as the verifier will
    (:func:`sekisho.secrets.partner_key.partner_key_bytes`): a value the verifier would
    refuse never becomes current. Handing the new key to the partner is the operator's
    part, outside sekisho, within the partner's grace period (the template's renewal
    alarm says so)."""

    name = PARTNER_KEY

    def __init__(self, generate: Callable[[], str] | None = None) -> None:
        self._generate = generate or new_partner_key

    def create(self, ctx: StepContext, current: Value) -> Value:
        return {
            **current,
            "kind": PARTNER_KEY,
            PARTNER_KEY_FIELD: self._generate(),
            "rotated_at": int(ctx.now),
        }

    def test(self, ctx: StepContext, current: Value, pending: Value) -> tuple[str, ...]:
        try:
            key = partner_key_bytes(pending, name=ctx.name)
        except SecretMalformed as exc:
            raise SecretShapeInvalid(f"{exc.detail} (AWSPENDING)") from None
        if pending.get(PARTNER_KEY_FIELD) == current.get(PARTNER_KEY_FIELD):
            raise PendingValueIsCurrent(f"secret {ctx.name!r}: the new key is the current one")
        return (f"{PARTNER_KEY_FIELD}: a new key of {len(key)} bytes",)

    def finish(self, ctx: StepContext, pending: Value) -> None:
        return None


class StagedKey:
    """A value an operator stages under SEKISHO_STAGED: kintone tokens, sender-issued keys.

    finishSecret removes the staged label, so the next scheduled rotation fails loudly
    (:class:`NothingStaged`) unless someone staged a newer value in the meantime.
    """

    def __init__(
        self, name: str, fields: tuple[str, ...], *, check: ValueCheck | None = None
    ) -> None:
        self.name = name
        self.fields = fields
        self._check = check
        # A sender with two keys (Box) may use one of them: the other may stay empty.
        self._all_required = len(fields) == 1
        # What the operator's reminder asks for.
        self.staged_noun = "token" if name == "kintone-token" else "key"

    def create(self, ctx: StepContext, current: Value) -> Value:
        keys = _key_fields(current, self.fields, ctx.name)
        staged = ctx.versions.read(ctx.secret_id, STAGED)
        if staged is None:
            raise NothingStaged(
                f"no {self.staged_noun} staged for {ctx.name}: stage one with "
                f"`sekisho token stage {ctx.name}`"
            )
        _check_keys(staged, self.name, keys, ctx.name, STAGED, all_required=self._all_required)
        if _same_keys(staged, current, keys):
            raise StagedValueIsCurrent(
                f"the value staged for {ctx.name} is the current one: stage the new one"
            )
        return {**staged, "rotated_at": int(ctx.now)}

    def test(self, ctx: StepContext, current: Value, pending: Value) -> tuple[str, ...]:
        keys = _key_fields(current, self.fields, ctx.name)
        _check_keys(
            pending, self.name, keys, ctx.name, "AWSPENDING", all_required=self._all_required
        )
        if _same_keys(pending, current, keys):
            raise PendingValueIsCurrent(f"secret {ctx.name!r}: the new value is the current one")
        lines = tuple(f"{key}: present" for key in keys)
        if self._check is not None:
            lines += self._check(ctx.name, pending)
        return lines

    def finish(self, ctx: StepContext, pending: Value) -> None:
        staged_version = ctx.metadata.version_with(STAGED)
        if staged_version is None or staged_version == ctx.token:
            return
        staged = ctx.versions.read(ctx.secret_id, STAGED, staged_version)
        keys = tuple(f for f in self.fields if f in pending)
        # An operator may have staged a newer value while this rotation ran (after a
        # failed test, say): that one waits for the next rotation, so its label stays.
        if staged is not None and not _same_keys(staged, pending, keys):
            return
        ctx.versions.move_stage(ctx.secret_id, STAGED, from_version=staged_version)


def default_kinds(token_check: ValueCheck) -> dict[str, Kind]:
    """Every kind this function rotates; ``token_check`` proves a kintone token's
    permissions (:class:`sekisho.rotation.least_privilege.LeastPrivilegeCheck`)."""
    kinds: list[Any] = [
        GeneratedKey(),
        PartnerKey(),
        StagedKey(KINTONE_TOKEN, ("token",), check=token_check),
        StagedKey(WEBHOOK_KEY, ("secret", "primary", "secondary")),
        StagedKey(CAPTCHA, ("secret",)),
    ]
    return {kind.name: kind for kind in kinds}
