"""The queued form of an accepted submission: what IntakeQueue carries to the deliverer.

Attachments travel through the attachment bucket, not the message: a 2 MB file as base64
does not fit an SQS message. The message names each object and its SHA-256, so the
deliverer writes exactly the bytes the browser sent or nothing. A direct upload's object
is already in the bucket (``uploads/<form>/<id>``): the message names it by its id.

The deliverer reads every message as untrusted input: the version, every type, the
receipt's shape and that each object key lies under the receipt's own prefix are checked,
so a forged or damaged message can neither reach other objects nor slip a value through.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sekisho.forms.uploads import is_upload_id

from .errors import MalformedMessage
from .receipts import is_canonical
from .upload_objects import upload_key

VERSION = 1
ATTACHMENT_PREFIX = "attachments/"
_MESSAGE_KEYS = frozenset({"v", "receipt", "form", "record", "attachments", "accepted_at"})
# The language of the form's confirmation mail (reply:), when the form has one.
_LANGUAGE_KEY = "language"
LANGUAGES = ("ja", "en")
_ATTACHMENT_KEYS = frozenset({"field", "filename", "content_type", "size", "sha256", "s3_key"})
# A direct upload's object, named by its id: its SHA-256 is the browser's (or null).
_UPLOAD_KEYS = _ATTACHMENT_KEYS | {"upload"}

KintoneValue = str | list[str]


def attachment_key(receipt: str, index: int) -> str:
    return f"{ATTACHMENT_PREFIX}{receipt}/{index}"


def delivered_marker_key(receipt: str) -> str:
    """An object written once the record is in kintone, so a later duplicate delivery
    knows without reading kintone (the add-only token cannot) that the attachments it
    no longer finds were delivered, not lost."""
    return f"{ATTACHMENT_PREFIX}{receipt}/delivered"


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class QueuedAttachment:
    field: str  # kintone field code
    filename: str
    content_type: str
    size: int
    sha256: str | None  # hex; None only for an upload whose browser declared none
    s3_key: str
    # A direct upload's id: the object is uploads/<form>/<id>, checked by the deliverer.
    upload: str | None = None


@dataclass(frozen=True)
class QueuedSubmission:
    receipt: str
    form: str
    record: Mapping[str, KintoneValue]
    attachments: tuple[QueuedAttachment, ...]
    accepted_at: str
    language: str | None = None

    def to_json(self) -> str:
        language = {} if self.language is None else {_LANGUAGE_KEY: self.language}
        return json.dumps(
            language
            | {
                "v": VERSION,
                "receipt": self.receipt,
                "form": self.form,
                "record": dict(self.record),
                "attachments": [
                    {
                        "field": a.field,
                        "filename": a.filename,
                        "content_type": a.content_type,
                        "size": a.size,
                        "sha256": a.sha256,
                        "s3_key": a.s3_key,
                    }
                    | ({} if a.upload is None else {"upload": a.upload})
                    for a in self.attachments
                ],
                "accepted_at": self.accepted_at,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> QueuedSubmission:
        """Parse and check a message body; :class:`MalformedMessage` says what is wrong
        without repeating any value."""
        try:
            data = json.loads(text)
        except (TypeError, ValueError, RecursionError):
            # NOTE: not chained: the decode error holds the whole body, record values included.
            raise MalformedMessage("the message body is not JSON") from None
        if not isinstance(data, dict) or set(data) - {_LANGUAGE_KEY} != _MESSAGE_KEYS:
            raise MalformedMessage("the message does not have the expected keys")
        language = data.get(_LANGUAGE_KEY)
        if language is not None and language not in LANGUAGES:
            raise MalformedMessage("the message names no known language")
        if data["v"] != VERSION or isinstance(data["v"], bool):
            raise MalformedMessage("the message has an unknown version")
        receipt = _receipt(data["receipt"])
        form = _string(data["form"], "form")
        accepted_at = _string(data["accepted_at"], "accepted_at")
        if not isinstance(data["attachments"], list):
            raise MalformedMessage("attachments must be a list")
        attachments = tuple(
            _attachment(item, receipt, form, index)
            for index, item in enumerate(data["attachments"])
        )
        return cls(receipt, form, _record(data["record"]), attachments, accepted_at, language)


def _string(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise MalformedMessage(f"{what} must be a non-empty string")
    return value


def _receipt(value: Any) -> str:
    text = _string(value, "receipt")
    # Exactly as intake writes it: a short receipt, or a UUID queued before short ones.
    # Another spelling of the same receipt would be another value in kintone's unique
    # field, and another object prefix in the bucket.
    if not is_canonical(text):
        raise MalformedMessage("receipt must be a receipt in canonical form")
    return text


def _record(value: Any) -> dict[str, KintoneValue]:
    if not isinstance(value, dict):
        raise MalformedMessage("record must be an object")
    for code, cell in value.items():
        if isinstance(cell, str):
            continue
        if isinstance(cell, list) and all(isinstance(item, str) for item in cell):
            continue
        raise MalformedMessage(f"record field {code!r} must be a string or a list of strings")
    return value


def _sha256(value: Any, index: int) -> str:
    digest = _string(value, "sha256")
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise MalformedMessage(f"attachment {index} has no usable sha256")
    return digest


def _attachment(item: Any, receipt: str, form: str, index: int) -> QueuedAttachment:
    is_upload = isinstance(item, dict) and "upload" in item
    if not isinstance(item, dict) or set(item) != (_UPLOAD_KEYS if is_upload else _ATTACHMENT_KEYS):
        raise MalformedMessage(f"attachment {index} does not have the expected keys")
    size = item["size"]
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise MalformedMessage(f"attachment {index} has no usable size")
    upload = item.get("upload")
    if is_upload:
        digest = None if item["sha256"] is None else _sha256(item["sha256"], index)
        # Only the form's own quarantine, by the exact key of an id's shape: a forged
        # message cannot make the deliverer read or delete another object.
        if (
            not isinstance(upload, str)
            or not is_upload_id(upload)
            or item["s3_key"] != upload_key(form, upload)
        ):
            raise MalformedMessage(f"attachment {index} names an object outside its form's uploads")
    else:
        digest = _sha256(item["sha256"], index)
        # Only the receipt's own objects: a forged message cannot make the deliverer read
        # or delete anything else in the bucket.
        if item["s3_key"] != attachment_key(receipt, index):
            raise MalformedMessage(f"attachment {index} names an object outside its receipt")
    return QueuedAttachment(
        field=_string(item["field"], "field"),
        filename=_string(item["filename"], "filename"),
        content_type=_string(item["content_type"], "content_type"),
        size=size,
        sha256=digest,
        s3_key=item["s3_key"],
        upload=upload,
    )
