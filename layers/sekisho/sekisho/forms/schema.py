"""The JSON Schema of each form field type: what a browser should send, for the contract.

Each field of a form's contract model (:func:`sekisho.forms.submission_schema`, a pydantic
model wrapping the very checks intake applies; a property test holds the two to the same
answers) carries its schema here, so ``openapi.json`` follows the checks. The checks stay
the authority: they normalise first (Unicode NFC, trimming; a blank optional value counts
as absent), which JSON Schema cannot say, so the schema describes the canonical value a
client sends and the relay also accepts the same value with spaces around it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .files import MAX_FILENAME_LENGTH
from .uploads import UPLOAD_ID_PATTERN

if TYPE_CHECKING:
    from sekisho.policy import FormField

# The shape a NUMBER given as text must have (as in sekisho.forms.fields).
NUMBER_TEXT_PATTERN = "^-?[0-9]+(\\.[0-9]+)?$"


def field_schema(field: FormField) -> dict[str, Any]:
    """The JSON Schema of one form field's value (null allowed when it is optional)."""
    schema = _BUILDERS[field.type](field)
    if field.required:
        return schema
    return {"anyOf": [*schema.get("anyOf", [schema]), {"type": "null"}]}


def anchored(pattern: str) -> str:
    """A policy pattern (applied with re.fullmatch) as JSON Schema's unanchored pattern."""
    return f"^(?:{pattern})$"


def _anchored(field: FormField) -> dict[str, str]:
    return {} if field.pattern is None else {"pattern": anchored(field.pattern.pattern)}


def _text(field: FormField) -> dict[str, Any]:
    return {
        "type": "string",
        "minLength": field.min_length or 1,
        "maxLength": field.length_limit,
        **_anchored(field),
    }


def _email(field: FormField) -> dict[str, Any]:
    limit = field.length_limit
    return {"type": "string", "format": "email", "maxLength": limit, **_anchored(field)}


def _number(field: FormField) -> dict[str, Any]:
    bounds = {
        key: value
        for key, value in (("minimum", field.min), ("maximum", field.max))
        if value is not None
    }
    number = {"type": "integer" if field.decimals == 0 else "number", **bounds}
    text = {
        "type": "string",
        "pattern": NUMBER_TEXT_PATTERN,
        "description": "the same number written with the digits 0-9",
    }
    return {"anyOf": [number, text]}


def _date(field: FormField) -> dict[str, Any]:
    return {"type": "string", "format": "date"}


def _datetime(field: FormField) -> dict[str, Any]:
    return {
        "type": "string",
        "format": "date-time",
        "description": "with an offset; stored in kintone as UTC",
    }


def _choice(field: FormField) -> dict[str, Any]:
    return {"type": "string", "enum": list(field.options or ())}


def _multi_choice(field: FormField) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "array",
        "items": {"type": "string", "enum": list(field.options or ())},
        "uniqueItems": True,
    }
    if field.max_items is not None:
        schema["maxItems"] = field.max_items
    return schema


def _upload_refs(field: FormField) -> dict[str, Any]:
    ref = {
        "type": "object",
        "additionalProperties": False,
        "required": ["upload"],
        "properties": {
            "upload": {
                "type": "string",
                "pattern": anchored(UPLOAD_ID_PATTERN),
                "description": (
                    f"the id POST /forms/{{form}}/uploads answered; its object must hold a "
                    f"file of a declared type, at most {field.max_bytes} bytes"
                ),
            }
        },
    }
    if field.file_limit == 1:
        return ref
    return {"type": "array", "minItems": 1, "maxItems": field.file_limit, "items": ref}


def _file(field: FormField) -> dict[str, Any]:
    if field.upload == "direct":
        return _upload_refs(field)
    max_bytes = field.max_bytes or 0
    return {
        "type": "array",
        "minItems": 1,
        "maxItems": field.file_limit,
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["filename", "content_type", "data"],
            "properties": {
                "filename": {"type": "string", "minLength": 1, "maxLength": MAX_FILENAME_LENGTH},
                "content_type": {"type": "string", "enum": list(field.content_types or ())},
                "data": {
                    "type": "string",
                    "contentEncoding": "base64",
                    "maxLength": 4 * math.ceil(max_bytes / 3),
                    "description": (
                        f"the file's bytes, base64; at most {max_bytes} bytes, and the bytes "
                        "must be of the declared content type"
                    ),
                },
            },
        },
    }


_BUILDERS = {
    "text": _text,
    "textarea": _text,
    "email": _email,
    "number": _number,
    "date": _date,
    "datetime": _datetime,
    "choice": _choice,
    "multi_choice": _multi_choice,
    "file": _file,
}
