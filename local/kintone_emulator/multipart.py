"""multipart/form-data uploads, read with the standard `email` package (cgi is gone)."""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser


@dataclass(frozen=True)
class UploadedPart:
    filename: str
    content_type: str
    data: bytes


def form_part(content_type: str | None, body: bytes, name: str) -> UploadedPart | None:
    """The part called `name` of a multipart/form-data body, or None if there is none."""
    if not content_type or not content_type.lower().startswith("multipart/form-data"):
        return None
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        return None
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") != name:
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            return None
        # Without its own Content-Type a part is text/plain to `email`; kintone sees bytes.
        declared = part.get("Content-Type")
        return UploadedPart(
            filename=part.get_filename() or "blob",
            content_type=part.get_content_type() if declared else "application/octet-stream",
            data=data,
        )
    return None
