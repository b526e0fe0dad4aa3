"""A form with a direct upload field, and objects in its quarantine: shared by the upload
tests (route, submission, message, deliverer)."""

from __future__ import annotations

import hashlib

from sekisho.intake.upload_objects import InMemoryUploadObjects, meta_name, upload_key
from sekisho.policy.validation import parse_policy

PDF = b"%PDF-1.7\n" + b"0" * 2048 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
UPLOAD_ID = "A" * 21 + "Q"
OTHER_ID = "B" * 22

POLICY = parse_policy(
    """
kintone: {base_url: https://example.cybozu.com}
apps:
  2:
    name: seminar
    fields:
      受付ID: SINGLE_LINE_TEXT
      氏名: SINGLE_LINE_TEXT
      履歴書: FILE
      資料: FILE
      写真: FILE
forms:
  seminar-apply:
    app: 2
    token_secret: sekisho/kintone/seminar-add
    receipt_field: 受付ID
    guard: {per_ip: 3/hour}
    fields:
      name: {code: 氏名, type: text, required: true}
      cv: {code: 履歴書, type: file, max_bytes: 4096, content_types: [application/pdf]}
      materials:
        code: 資料
        type: file
        upload: direct
        max_bytes: 26214400
        content_types: [application/pdf]
      photos:
        code: 写真
        type: file
        upload: direct
        max_bytes: 1048576
        content_types: [image/png, image/jpeg]
        max_files: 2
"""
)
FORM = POLICY.form("seminar-apply")


def put_upload(
    objects: InMemoryUploadObjects,
    data: bytes = PDF,
    *,
    upload_id: str = UPLOAD_ID,
    field: str = "materials",
    name: str = "資料.pdf",
    content_type: str = "application/pdf",
    sha256: str | None = None,
    form: str = "seminar-apply",
) -> str:
    """An object as the browser's presigned POST leaves it; its key."""
    key = upload_key(form, upload_id)
    metadata = {"field": field, "name": meta_name(name)}
    if sha256 is not None:
        metadata["sha256"] = sha256
    objects.store(key, data, content_type, metadata)
    return key


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
