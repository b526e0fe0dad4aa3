"""Intake forms: a browser's submission checked against the policy, files included."""

from sekisho.policy.constants import MAX_REQUEST_FILE_BYTES

from .files import Attachment, bytes_match, clean_filename
from .problems import CODES, FieldProblem
from .submission import Submission, parse_submission

__all__ = [
    "CODES",
    "MAX_REQUEST_FILE_BYTES",
    "Attachment",
    "FieldProblem",
    "Submission",
    "bytes_match",
    "clean_filename",
    "parse_submission",
]
