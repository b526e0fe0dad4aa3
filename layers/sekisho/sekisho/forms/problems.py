"""One field's problem, with a stable code a browser can act on.

The codes are the API: a page maps them to its own messages. ``detail`` is for people
and never repeats the submitted value (it may be a secret pasted into the wrong field,
and it ends up in logs).
"""

from __future__ import annotations

from typing import Literal, get_args

ProblemCode = Literal[
    "required",  # a required field is missing or blank
    "unknown",  # the form has no such field (presets and the receipt are not fields)
    "type",  # the JSON type or the shape is wrong (a string for a number, ...)
    "length",  # too few or too many characters, or options chosen
    "range",  # a number below min, above max, or with too many digits
    "pattern",  # the value does not match the field's declared pattern
    "choice",  # not one of the declared options, or one chosen twice
    "email",  # not an email address
    "date",  # not a date (YYYY-MM-DD) or a datetime with an offset
    "encoding",  # control characters in text, or a file's data not strict base64
    "file_size",  # a file is empty, over max_bytes, or the request's files over the cap
    "file_type",  # a content type not allowed, or bytes that are not of that type
    "file_name",  # a missing, path-like or mis-suffixed file name
    "file_count",  # more files than max_files
    "upload",  # a direct upload that is not there (expired, never sent, another field's)
]
CODES: frozenset[str] = frozenset(get_args(ProblemCode))


class FieldProblem(Exception):
    """Why one field's value is refused; raised by the checks, reported per field."""

    def __init__(self, code: ProblemCode, detail: str) -> None:
        super().__init__(detail)
        self.code: ProblemCode = code
        self.detail = detail
