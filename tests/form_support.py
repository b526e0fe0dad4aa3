"""A form of every field type, and files for it: shared by the intake and contract tests."""

import base64

from sekisho.policy.validation import schema, validate

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"

FORM = validate(
    schema.FormPolicy,
    {
        "app": 2,
        "token_secret": "sekisho/kintone/seminar-add",
        "receipt_field": "受付ID",
        "honeypot": "website",
        "fields": {
            "name": {"code": "氏名", "type": "text", "required": True, "max_length": 10},
            "note": {"code": "備考", "type": "textarea", "min_length": 2, "max_length": 20},
            "email": {"code": "メール", "type": "email"},
            "seats": {"code": "人数", "type": "number", "min": 1, "max": 5, "decimals": 0},
            "ratio": {"code": "比率", "type": "number"},
            "day": {"code": "参加日", "type": "date"},
            "start": {"code": "到着", "type": "datetime"},
            "venue": {"code": "会場", "type": "choice", "options": ["東京", "大阪"]},
            "topics": {
                "code": "興味",
                "type": "multi_choice",
                "options": ["AI", "Web", "DB"],
                "max_items": 2,
            },
            "member": {"code": "会員番号", "type": "text", "pattern": "[A-Z]{3}-[0-9]{3}"},
            "cv": {
                "code": "履歴書",
                "type": "file",
                "max_bytes": 4_000_000,
                "content_types": ["application/pdf"],
                "max_files": 2,
            },
            "photo": {
                "code": "写真",
                "type": "file",
                "max_bytes": 4_000_000,
                "content_types": ["image/png"],
            },
        },
        "set": {"受付経路": "web", "タグ": ["web", "2025"]},
    },
)


def pdf(data: bytes = PDF, filename: str = "cv.pdf") -> dict:
    return {
        "filename": filename,
        "content_type": "application/pdf",
        "data": base64.b64encode(data).decode(),
    }
