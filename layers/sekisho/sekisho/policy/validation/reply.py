"""Validation of a form's confirmation mail (``reply:``)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator

from ..reply import DEFAULT_SUBJECTS, LANGUAGES
from .base import StrictModel, no_duplicates
from .names import FormFieldName

# A subject longer than this is cut by most mail readers; RFC 5322 advises 78 per line.
MAX_SUBJECT_LENGTH = 200
# What a header value never holds (sekisho.mail.headers refuses the same at send time).
_UNSAFE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _subject_text(value: str) -> str:
    if any(unicodedata.category(c) in _UNSAFE for c in value):
        raise ValueError(
            "a subject must not contain CR, LF or any other control or format character: "
            "in a mail header it would start a header of its own"
        )
    if not value.strip() or value != value.strip():
        raise ValueError("a subject must be non-empty and without outer spaces")
    return value


Language = Literal["ja", "en"]


def _default_subjects() -> dict[Language, str]:
    return {"ja": DEFAULT_SUBJECTS["ja"], "en": DEFAULT_SUBJECTS["en"]}


Subject = Annotated[str, Field(max_length=MAX_SUBJECT_LENGTH), AfterValidator(_subject_text)]


class ReplyPolicy(StrictModel):
    to: FormFieldName
    fields: Annotated[tuple[FormFieldName, ...], Field(strict=False)] = ()
    language: Language = "ja"
    subject: dict[Language, Subject] = Field(default_factory=_default_subjects)

    @field_validator("fields")
    @classmethod
    def _distinct(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return no_duplicates(value)

    @field_validator("subject")
    @classmethod
    def _every_language(cls, value: dict[str, str]) -> dict[str, str]:
        missing = [language for language in LANGUAGES if language not in value]
        if missing:
            # A visitor whose browser asks for the missing language would get a mail whose
            # subject is in another language than its text.
            raise ValueError(f"a subject is needed in every language: {', '.join(missing)}")
        return {language: value[language] for language in LANGUAGES}


def check_reply(reply: ReplyPolicy | None, fields: Mapping[str, Any]) -> None:
    """``reply.to`` is an email field of the form (``fields``: its FormField models); the
    mail shows only its other fields, never a file."""
    if reply is None:
        return
    target = fields.get(reply.to)
    if target is None:
        raise ValueError(f"reply.to: {reply.to} is not a field of the form")
    if target.type != "email":
        raise ValueError(f"reply.to: {reply.to} is a {target.type} field, not an email field")
    for name in reply.fields:
        field = fields.get(name)
        if field is None:
            raise ValueError(f"reply.fields: {name} is not a field of the form")
        if field.type == "file":
            raise ValueError(f"reply.fields: {name} is a file: a mail carries no file")
