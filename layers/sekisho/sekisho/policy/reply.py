"""A form's confirmation mail as the relay runs it: one mail per entry, once its record
exists, to the address the visitor typed in the form's email field."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

from .rule import Rule, fresh

LANGUAGES: tuple[str, ...] = ("ja", "en")
DEFAULT_SUBJECTS: Mapping[str, str] = MappingProxyType(
    {"ja": "お申し込みを受け付けました", "en": "We have received your application"}
)


class ReplyPolicy(Rule):
    """``reply:`` on a form: who gets the mail, what it shows, in which language."""

    to: str  # a browser field of type email
    # Browser fields the mail shows after the receipt (never a file): nothing else of the
    # entry is put in a mail.
    fields: tuple[str, ...] = ()
    # The language of a submission whose browser asks for neither (Accept-Language).
    language: Literal["ja", "en"] = "ja"
    subject: dict[str, str] = fresh(lambda: dict(DEFAULT_SUBJECTS))

    def subject_in(self, language: str) -> str:
        return self.subject.get(language) or DEFAULT_SUBJECTS[language]


REPLY_RULES: tuple[type[Rule], ...] = (ReplyPolicy,)
