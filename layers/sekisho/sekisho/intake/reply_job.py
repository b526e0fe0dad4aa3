"""A reply job: the confirmation mail of an entry already in kintone, queued on IntakeQueue.

The intake puts one after a synchronous write (201): the deliverer then sends the mail
and touches no kintone. It carries only what the mail shows: the receipt, the form, the
recipient, the language and the reply's declared fields as they were written (keyed by
the form's browser names). A queued submission (202) needs none: the deliverer sends its
mail after writing it, from the queued record.

Read by the deliverer as untrusted input, like a queued submission: the kind, the
version, every type, the receipt's shape and the language are checked here; that the
form has a reply, that the values are its declared fields and that the recipient is
header-safe are checked against the policy by :mod:`.reply`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import MalformedMessage
from .message import LANGUAGES, KintoneValue, _receipt, _record, _string

KIND = "reply"
VERSION = 1
_KEYS = frozenset({"kind", "v", "receipt", "form", "to", "language", "values", "accepted_at"})


def is_reply_job(body: str) -> bool:
    """Does a queue message's body claim to be a reply job? (It is parsed in full later.)"""
    try:
        data = json.loads(body)
    except (TypeError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and data.get("kind") == KIND


@dataclass(frozen=True)
class ReplyJob:
    receipt: str
    form: str
    to: str
    language: str
    values: Mapping[str, KintoneValue]  # browser field name -> the value written
    accepted_at: str

    def to_json(self) -> str:
        return json.dumps(
            {
                "kind": KIND,
                "v": VERSION,
                "receipt": self.receipt,
                "form": self.form,
                "to": self.to,
                "language": self.language,
                "values": dict(self.values),
                "accepted_at": self.accepted_at,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> ReplyJob:
        """Parse and check a job; :class:`MalformedMessage` names what is wrong, never a value."""
        try:
            data: Any = json.loads(text)
        except (TypeError, ValueError, RecursionError):
            # NOTE: not chained: the decode error quotes the body, the address included.
            raise MalformedMessage("the reply job is not JSON") from None
        if not isinstance(data, dict) or set(data) != _KEYS or data["kind"] != KIND:
            raise MalformedMessage("the reply job does not have the expected keys")
        if data["v"] != VERSION or isinstance(data["v"], bool):
            raise MalformedMessage("the reply job has an unknown version")
        if data["language"] not in LANGUAGES:
            raise MalformedMessage("the reply job names no known language")
        return cls(
            receipt=_receipt(data["receipt"]),
            form=_string(data["form"], "form"),
            to=_string(data["to"], "to"),
            language=data["language"],
            values=_record(data["values"]),
            accepted_at=_string(data["accepted_at"], "accepted_at"),
        )
