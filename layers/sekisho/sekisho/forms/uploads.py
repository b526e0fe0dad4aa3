"""Direct uploads of a file field (``upload: direct``): the request for one, and how a
submission names it.

A browser first asks ``POST /forms/{form}/uploads`` for a presigned S3 POST with
``{"field", "name", "size", "content_type", "sha256"?}``: checked here against the field
as strictly as an inline file is (a declared direct field, a size within ``max_bytes``, a
declared content type, a bare name with that type's extension). The submission then
names each upload by its id, ``{"upload": "<id>"}``, or a list of them when the field
takes several files. Whether the object exists and holds what was declared is the
intake's business (:mod:`sekisho.intake.uploads`): it needs S3.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sekisho.errors import ValidationFailed
from sekisho.policy.constants import CONTENT_TYPE_EXTENSIONS

from .files import clean_filename
from .problems import FieldProblem, ProblemCode

if TYPE_CHECKING:
    from sekisho.policy import FormField, FormPolicy

# token_urlsafe(16): 128 random bits in 22 URL-safe characters, the whole of an id.
UPLOAD_ID_BYTES = 16
UPLOAD_ID_PATTERN = r"[A-Za-z0-9_-]{22}"
_UPLOAD_ID = re.compile(UPLOAD_ID_PATTERN)
_SHA256 = re.compile(r"[0-9a-f]{64}")
_REF_KEYS = frozenset({"upload"})
_REQUEST_KEYS = ("field", "name", "size", "content_type")
_OPTIONAL_KEYS = ("sha256",)


def is_upload_id(value: Any) -> bool:
    return isinstance(value, str) and _UPLOAD_ID.fullmatch(value) is not None


@dataclass(frozen=True)
class UploadRef:
    """An upload a submission names for one of its direct file fields."""

    field: str  # kintone field code
    upload_id: str
    name: str = ""  # the browser field name (set by parse_submission)


@dataclass(frozen=True)
class UploadRequest:
    """A checked request for a presigned POST."""

    name: str  # the browser field name
    field: FormField
    filename: str  # sanitised, with the content type's extension
    size: int
    content_type: str
    sha256: str | None  # hex, when the browser sent one


def _ref(spec: FormField, item: Any, which: str) -> UploadRef:
    if not isinstance(item, dict) or set(item) != _REF_KEYS:
        raise FieldProblem("type", f'{which} must be {{"upload": "<id>"}}')
    if not is_upload_id(item["upload"]):
        raise FieldProblem("upload", f"{which} names no upload of this form")
    return UploadRef(spec.code, item["upload"])


def parse_upload_refs(spec: FormField, value: Any) -> tuple[UploadRef, ...]:
    """The uploads a direct file field names: one object, or a list when it takes several.

    Base64 data is refused here: a direct field's bytes never travel in the JSON body.
    """
    if spec.file_limit == 1:
        items = [value]
        if isinstance(value, list):
            raise FieldProblem("type", 'must be {"upload": "<id>"} (one file)')
    elif not isinstance(value, list):
        raise FieldProblem("type", 'must be a list of {"upload": "<id>"}')
    else:
        items = value
    if len(items) > spec.file_limit:
        raise FieldProblem("file_count", f"at most {spec.file_limit} file(s)")
    refs = tuple(_ref(spec, item, f"file {index}") for index, item in enumerate(items, start=1))
    if len({ref.upload_id for ref in refs}) != len(refs):
        raise FieldProblem("upload", "names the same upload twice")
    return refs


# ------------------------------------------------------------------- upload request


def _problem(pointer: str, code: ProblemCode, detail: str) -> dict[str, str]:
    return {"pointer": pointer, "code": code, "detail": detail}


def _refuse(pointer: str, code: ProblemCode, detail: str) -> ValidationFailed:
    return ValidationFailed("the upload is not valid", errors=[_problem(pointer, code, detail)])


def _direct_field(form: FormPolicy, value: Any) -> tuple[str, FormField]:
    if not isinstance(value, str):
        raise _refuse("/field", "type", "must be a string")
    field = form.fields.get(value)
    if field is None or field.type != "file" or field.upload != "direct":
        # One answer for "no such field" and "not a direct one": a probe learns nothing
        # the contract does not already say.
        raise _refuse("/field", "unknown", "the form has no direct upload field of this name")
    return value, field


def parse_upload_request(form: FormPolicy, body: Mapping[str, Any]) -> UploadRequest:
    """``{"field", "name", "size", "content_type", "sha256"?}`` checked against the form;
    :class:`~sekisho.errors.ValidationFailed` (400) with one error per refused member."""
    errors = [
        _problem(f"/{key}", "unknown", "the body has no such member")
        for key in body
        if key not in _REQUEST_KEYS and key not in _OPTIONAL_KEYS
    ]
    errors += [
        _problem(f"/{key}", "required", "this member is required")
        for key in _REQUEST_KEYS
        if key not in body
    ]
    if errors:
        raise ValidationFailed("the upload is not valid", errors=errors)
    name, field = _direct_field(form, body["field"])
    size = body["size"]
    max_bytes = field.max_bytes or 0
    if not isinstance(size, int) or isinstance(size, bool):
        raise _refuse("/size", "type", "must be an integer number of bytes")
    if not 1 <= size <= max_bytes:
        raise _refuse("/size", "file_size", f"must be 1 to {max_bytes} bytes")
    content_type = body["content_type"]
    allowed = field.content_types or ()
    if not isinstance(content_type, str):
        raise _refuse("/content_type", "type", "must be a string")
    content_type = content_type.split(";", 1)[0].strip().lower()
    if content_type not in allowed:
        raise _refuse("/content_type", "file_type", f"must be one of: {', '.join(allowed)}")
    if not isinstance(body["name"], str):
        raise _refuse("/name", "type", "must be a string")
    try:
        filename = clean_filename(body["name"])
    except FieldProblem as problem:
        raise _refuse("/name", problem.code, problem.detail) from None
    extensions = CONTENT_TYPE_EXTENSIONS[content_type]
    if os.path.splitext(filename)[1].lower() not in extensions:
        # A PDF named "invoice.html" opens as a web page on the reader's machine.
        named = " or ".join(sorted(extensions))
        raise _refuse("/name", "file_name", f"a {content_type} file is named {named}")
    sha256 = body.get("sha256")
    if sha256 is not None and (not isinstance(sha256, str) or not _SHA256.fullmatch(sha256)):
        raise _refuse("/sha256", "encoding", "must be 64 lower-case hexadecimal digits")
    return UploadRequest(name, field, filename, size, content_type, sha256)
