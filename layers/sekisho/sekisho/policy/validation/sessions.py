"""Validation of signed-in visitors' rules: realms, and a form's edit-after-send."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from ..sessions import DEFAULT_CODE_SECONDS, DEFAULT_SESSION_SECONDS, EMAIL_CLAIM
from .base import StrictModel
from .base import no_duplicates as _no_duplicates
from .names import ClaimName, Condition, FieldCode, FormFieldName, SecretName
from .rate import Rate
from .when import WhenPolicy

# Shorter than a minute is unusable on a slow mail; longer than an hour is a bearer that
# outlives the visit it was made for.
_SESSION_SECONDS = Field(DEFAULT_SESSION_SECONDS, ge=60, le=3600)
_CODE_SECONDS = Field(DEFAULT_CODE_SECONDS, ge=60, le=1800)


class RealmGuard(StrictModel):
    per_ip: Rate = Rate(count=30, window_seconds=3600)
    # Codes mailed to one address per window, whoever asks (no mail bombing).
    per_address: Rate = Rate(count=5, window_seconds=3600)
    # Wrong codes per address before the address is locked for the rest of the window.
    failures_per_key: Rate = Rate(count=5, window_seconds=3600)


class RealmPolicy(StrictModel):
    """Who may sign in: people found live in a kintone app by an email field."""

    app: Annotated[int, Field(gt=0)]
    token_secret: SecretName  # a token with record VIEW only
    email_field: FieldCode
    active: Condition | None = None
    claims: dict[ClaimName, FieldCode] = Field(default_factory=dict)
    key_secret: SecretName
    session_seconds: int = _SESSION_SECONDS
    code_seconds: int = _CODE_SECONDS
    guard: RealmGuard = RealmGuard()
    enabled: bool = True
    when: WhenPolicy | None = None

    @field_validator("claims")
    @classmethod
    def _email_is_built_in(cls, value: dict[str, str]) -> dict[str, str]:
        if EMAIL_CLAIM in value:
            raise ValueError("every session claims email (from email_field); do not declare it")
        return value


class EntryOwner(StrictModel):
    field: FieldCode
    claim: ClaimName


class EntryLock(StrictModel):
    field: FieldCode
    value: str = Field(min_length=1, max_length=256)


class EditablePolicy(StrictModel):
    session: Annotated[str, Field(min_length=1)]
    token_secret: SecretName  # a token with record EDIT only
    owner: EntryOwner
    fields: Annotated[tuple[FormFieldName, ...], Field(strict=False, min_length=1)]
    until: EntryLock | None = None

    @field_validator("fields")
    @classmethod
    def _distinct(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _no_duplicates(value)


class CancelPolicy(StrictModel):
    field: FieldCode
    value: str = Field(min_length=1, max_length=256)


def check_edit_rules(editable: EditablePolicy | None, cancel: CancelPolicy | None) -> None:
    """A form's ``cancel`` needs its ``editable`` (who owns an entry, with which token)."""
    if cancel is not None and editable is None:
        raise ValueError("cancel needs editable: it says whose entry it is and the edit token")
