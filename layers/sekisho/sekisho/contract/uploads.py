"""The contract of ``POST /forms/{form}/uploads``: one path per form with a direct upload
field (``upload: direct``), its body from those fields' limits."""

from __future__ import annotations

from typing import Any

from sekisho.errors import (
    ConfigurationError,
    PayloadTooLarge,
    RateLimited,
    RouteDisabled,
    SekishoError,
    UnsupportedMediaType,
    UpstreamError,
    UpstreamUnavailable,
    ValidationFailed,
)
from sekisho.forms.files import MAX_FILENAME_LENGTH
from sekisho.forms.schema import anchored
from sekisho.forms.uploads import UPLOAD_ID_PATTERN
from sekisho.intake.upload_objects import UPLOAD_EXPIRES_SECONDS
from sekisho.policy import FormPolicy, Policy

from .parts import identifier, json_answer, json_body, problems

UPLOAD_ERRORS: tuple[type[SekishoError], ...] = (
    ValidationFailed,
    UnsupportedMediaType,
    RateLimited,
    PayloadTooLarge,
    RouteDisabled,
    UpstreamUnavailable,
    UpstreamError,
    ConfigurationError,
)


def upload_paths(policy: Policy) -> dict[str, Any]:
    return {
        f"/forms/{name}/uploads": {"post": _operation(name, form)}
        for name, form in sorted(policy.forms.items())
        if any(f.upload == "direct" for f in form.fields.values())
    }


def _operation(name: str, form: FormPolicy) -> dict[str, Any]:
    direct = {n: f for n, f in form.fields.items() if f.upload == "direct"}
    types = sorted({t for f in direct.values() for t in f.content_types or ()})
    request = {
        "type": "object",
        "additionalProperties": False,
        "required": ["field", "name", "size", "content_type"],
        "properties": {
            "field": {"type": "string", "enum": sorted(direct)},
            "name": {"type": "string", "minLength": 1, "maxLength": MAX_FILENAME_LENGTH},
            "size": {
                "type": "integer",
                "minimum": 1,
                "maximum": max(f.max_bytes or 0 for f in direct.values()),
                "description": "the file's exact size in bytes, at most the field's max_bytes",
            },
            "content_type": {"type": "string", "enum": types},
            "sha256": {
                "type": "string",
                "pattern": "^[0-9a-f]{64}$",
                "description": "the file's SHA-256 (hex); the deliverer checks the bytes by it",
            },
        },
    }
    grant = {
        "type": "object",
        "additionalProperties": False,
        "required": ["upload", "url", "fields", "expires_at"],
        "properties": {
            "upload": {
                "type": "string",
                "pattern": anchored(UPLOAD_ID_PATTERN),
                "description": 'what the submission names: {"<field>": {"upload": "<id>"}}',
            },
            "url": {"type": "string", "description": "where the browser POSTs the file (S3)"},
            "fields": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "form fields to send, as they are, before the file part",
            },
            "expires_at": {
                "type": "string",
                "description": f"when the POST stops working ({UPLOAD_EXPIRES_SECONDS} s)",
            },
        },
    }
    return {
        "operationId": f"upload_{identifier(name)}",
        "summary": f"Upload a file for {name}",
        "description": (
            "A presigned S3 POST for one file of a direct upload field: multipart/form-data "
            "with every member of `fields`, then the file as `file`. The object's first "
            "bytes are checked when a submission names it, every byte before kintone."
        ),
        "tags": ["forms"],
        "requestBody": json_body(request),
        "responses": {"201": json_answer("an upload granted", grant)} | problems(UPLOAD_ERRORS),
    }
