"""Staging: an operator hands over the next kintone token or sender key.

The value arrives on standard input (never on the command line, where it would be in the
shell history and in every process listing), is checked, and is stored as a new version of
the secret under the SEKISHO_STAGED label, built from the current version: same kind,
same other fields, one key replaced. The next rotation picks it up.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import StageInputInvalid, StagingRefused
from .kinds import CAPTCHA, HMAC, KINTONE_TOKEN, PARTNER_KEY, WEBHOOK_KEY
from .versions import CURRENT, STAGED, SecretVersions, Value

MAX_VALUE_CHARS = 4096
# The fields an operator may stage, per kind (hmac and partner keys are generated, never
# staged).
STAGEABLE: dict[str, tuple[str, ...]] = {
    KINTONE_TOKEN: ("token",),
    WEBHOOK_KEY: ("secret", "primary", "secondary"),
    CAPTCHA: ("secret",),
}


@dataclass(frozen=True)
class Staged:
    secret: str
    field: str
    version_id: str


def clean_input(raw: str) -> str:
    """The value an operator piped in: one line, its trailing newline removed.

    Refuses what is surely a mistake rather than a key: nothing, several lines, spaces
    or control characters anywhere (a key with a trailing space would fail much later, in
    kintone, with a less helpful message).
    """
    value = raw.removesuffix("\r\n") if raw.endswith("\r\n") else raw.removesuffix("\n")
    if not value:
        raise StageInputInvalid("nothing was read from standard input: pipe the value in")
    if len(value) > MAX_VALUE_CHARS:
        raise StageInputInvalid(f"the value is longer than {MAX_VALUE_CHARS} characters")
    if "\n" in value or "\r" in value:
        raise StageInputInvalid("the value must be a single line")
    if any(c.isspace() or not c.isprintable() for c in value):
        raise StageInputInvalid("the value must not contain spaces or control characters")
    return value


def _is_kintone_token(value: str) -> bool:
    """kintone's API tokens are ASCII letters and digits (``str.isalnum`` alone would
    also take ``トークン1``)."""
    return value.isascii() and value.isalnum()


def _field_for(kind: str, current: Value, requested: str | None, name: str) -> str:
    if kind in (HMAC, PARTNER_KEY):
        raise StagingRefused(
            f"{name} holds a key sekisho generates: rotate it with `make rotate SECRET={name}`"
            f" on the local stack or `aws secretsmanager rotate-secret --secret-id {name}` on AWS"
        )
    fields = STAGEABLE.get(kind)
    if fields is None:
        raise StagingRefused(f"{name} has kind {kind!r}, which takes no staged value")
    present = tuple(f for f in fields if f in current)
    if requested is not None:
        if requested not in present:
            raise StagingRefused(f"{name} has no field {requested!r}; it has {list(present)}")
        return requested
    if len(present) != 1:
        raise StagingRefused(f"{name} has the fields {list(present)}: choose one with --field")
    return present[0]


def stage(versions: SecretVersions, name: str, value: str, *, field: str | None = None) -> Staged:
    """Store ``value`` in ``field`` of a copy of the current version, labelled STAGED."""
    current = versions.read(name, CURRENT)
    if current is None:
        raise StagingRefused(f"{name} has no current version to stage a value for")
    kind = current.get("kind")
    chosen = _field_for(kind if isinstance(kind, str) else "", current, field, name)
    if kind == KINTONE_TOKEN and not _is_kintone_token(value):
        # Anything else is a paste mistake that would surface much later: kintone reads a
        # comma as a list of tokens, and a non-ASCII character cannot even be sent in the
        # X-Cybozu-API-Token header.
        raise StageInputInvalid("a kintone API token is ASCII letters and digits only")
    if current.get(chosen) == value:
        raise StageInputInvalid(f"that is the current {chosen} of {name}: stage the new one")
    staged = {k: v for k, v in current.items() if k != "rotated_at"}
    staged[chosen] = value
    version_id = versions.put(name, staged, stages=[STAGED])
    return Staged(name, chosen, version_id)
