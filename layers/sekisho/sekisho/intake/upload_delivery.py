"""The deliverer's side of a direct upload: every byte checked before kintone sees one.

The intake checked the object's head and first bytes; the browser could still have
written the key again while its presigned POST was valid. So the deliverer reads each
upload whole before the first kintone call — its size, its magic and, when the browser
declared one, its SHA-256 — holding a chunk at a time, and reads it again only for its
kintone upload, with the ETag it checked (S3's IfMatch): one file in memory at a time,
and never other bytes than the ones checked. A mismatch is :class:`UploadRefused`, a
permanent failure.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from sekisho import aws
from sekisho.forms.files import bytes_match

from .errors import AttachmentsUnavailable, UploadRefused
from .message import QueuedAttachment
from .upload_objects import UploadObjects


@dataclass(frozen=True)
class VerifiedUpload:
    """A checked upload as the writer takes a file; its bytes are read when uploaded."""

    field: str
    filename: str
    content_type: str
    _objects: UploadObjects = dataclasses.field(repr=False)
    _key: str = dataclasses.field(repr=False)
    _etag: str = dataclasses.field(repr=False)
    _sha256: str = dataclasses.field(repr=False)

    @property
    def data(self) -> bytes:
        try:
            data = self._objects.read(self._key, self._etag)
        except (ClientError, BotoCoreError) as exc:
            raise AttachmentsUnavailable(
                f"the upload could not be read ({aws.error_code(exc)})"
            ) from exc
        if data is None or hashlib.sha256(data).hexdigest() != self._sha256:
            raise UploadRefused("changed", f"upload {self._key} changed after it was checked")
        return data


def verify_uploads(
    objects: UploadObjects, attachments: Iterable[QueuedAttachment]
) -> list[VerifiedUpload]:
    """Every upload of a message checked whole; :class:`UploadRefused` for the first that
    is not what the browser declared."""
    verified = []
    for item in attachments:
        try:
            found = objects.digest(item.s3_key)
        except (ClientError, BotoCoreError) as exc:
            raise AttachmentsUnavailable(
                f"the upload could not be read ({aws.error_code(exc)})"
            ) from exc
        if found is None:
            raise UploadRefused("gone", f"upload {item.s3_key} is gone")
        if found.size != item.size:
            raise UploadRefused("size", f"upload {item.s3_key} is not {item.size} bytes")
        if not bytes_match(item.content_type, found.head):
            raise UploadRefused("type", f"upload {item.s3_key} is not a {item.content_type} file")
        if item.sha256 is not None and found.sha256 != item.sha256:
            raise UploadRefused("sha256", f"upload {item.s3_key} differs from its SHA-256")
        verified.append(
            VerifiedUpload(
                item.field,
                item.filename,
                item.content_type,
                objects,
                item.s3_key,
                found.etag,
                found.sha256,
            )
        )
    return verified
