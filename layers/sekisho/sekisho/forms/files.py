"""Files a browser attaches to a form: decoded strictly, typed by their bytes, named safely.

Each file arrives as ``{"filename", "content_type", "data"}`` with ``data`` in standard
base64. The declared content type must be one the form allows *and* the bytes must be of
that type: a browser (or anyone with curl) can claim ``application/pdf`` for anything,
and a file's bytes are what the person who opens it in kintone gets.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import unicodedata
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from sekisho.policy.constants import CONTENT_TYPE_EXTENSIONS

from .problems import FieldProblem

if TYPE_CHECKING:
    from sekisho.policy import FormField

MAX_FILENAME_LENGTH = 120
_FILE_KEYS = frozenset({"filename", "content_type", "data"})
# Characters no file name needs: path separators, and the colon of a drive letter
# ("C:") or an NTFS alternate data stream ("cv.pdf:payload").
_PATH_CHARACTERS = frozenset("/\\:")
# Control, format (bidi overrides that turn "cv\u202efdp.exe" into "cvexe.pdf"),
# surrogate and line/paragraph separator characters.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


@dataclass(frozen=True)
class Attachment:
    field: str  # kintone field code
    filename: str  # sanitised
    content_type: str  # checked against the file's magic bytes
    data: bytes

    def __repr__(self) -> str:
        # The bytes are an applicant's document: never in a log line or a traceback.
        return (
            f"Attachment(field={self.field!r}, filename={self.filename!r}, "
            f"content_type={self.content_type!r}, size={len(self.data)})"
        )


# ----------------------------------------------------------------------- magic bytes


def _zip_names(data: bytes) -> list[str] | None:
    """The member names of a ZIP archive (its central directory only: nothing is
    decompressed, so a zip bomb costs nothing here), or None if it is not one."""
    if not data.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        return None


def _office(folder: str) -> Callable[[bytes], bool]:
    # docx, xlsx and pptx are all ZIPs; the part folder tells them apart.
    def check(data: bytes) -> bool:
        names = _zip_names(data)
        return (
            names is not None
            and "[Content_Types].xml" in names
            and any(name.startswith(folder) for name in names)
        )

    return check


_BINARY: Mapping[str, Callable[[bytes], bool]] = MappingProxyType(
    {
        "application/pdf": lambda data: data.startswith(b"%PDF-"),
        "image/png": lambda data: data.startswith(b"\x89PNG\r\n\x1a\n"),
        "image/jpeg": lambda data: data.startswith(b"\xff\xd8\xff"),
        "image/gif": lambda data: data[:6] in (b"GIF87a", b"GIF89a"),
        "image/webp": lambda data: data[:4] == b"RIFF" and data[8:12] == b"WEBP",
        "application/zip": lambda data: _zip_names(data) is not None,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _office("word/"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _office("xl/"),
        "application/vnd.openxmlformats-officedocument.presentationml.presentation": _office(
            "ppt/"
        ),
    }
)


def _is_text(data: bytes) -> bool:
    # UTF-8 without NUL, and not a binary format that happens to decode (a PDF made of
    # ASCII only would): a ".txt" must not open as something else.
    if b"\x00" in data or any(matches(data) for matches in _BINARY.values()):
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


MAGIC: Mapping[str, Callable[[bytes], bool]] = MappingProxyType(
    {**_BINARY, "text/plain": _is_text, "text/csv": _is_text}
)


def bytes_match(content_type: str, data: bytes) -> bool:
    """Are ``data`` a file of ``content_type``? False for a type the relay cannot check."""
    matches = MAGIC.get(content_type)
    return matches is not None and matches(data)


# ------------------------------------------------------------------------ file names


def clean_filename(raw: str) -> str:
    """The name to store, or :class:`FieldProblem` ``file_name``.

    A path-like name is refused rather than cut down to its last part: a browser sends
    ``File.name``, which is a bare name, so a path means a hand-made request, and a
    rewritten ``../../etc/passwd`` would be stored as a plausible "passwd". Harmless
    oddities are rewritten instead: Unicode is NFC-normalised, outer spaces and leading
    dots (a hidden file on Unix) are dropped, and a long name is shortened keeping its
    extension.
    """
    name = unicodedata.normalize("NFC", raw).strip()
    if any(c in _PATH_CHARACTERS for c in name) or (name and set(name) == {"."}):
        raise FieldProblem("file_name", "a file name must be a bare name, not a path")
    if any(unicodedata.category(c) in _UNSAFE_CATEGORIES for c in name):
        raise FieldProblem("file_name", "a file name must not contain control characters")
    name = name.lstrip(". ")
    if not name:
        raise FieldProblem("file_name", "a file needs a name")
    if len(name) > MAX_FILENAME_LENGTH:
        stem, extension = os.path.splitext(name)
        if len(extension) < MAX_FILENAME_LENGTH // 4:
            name = stem[: MAX_FILENAME_LENGTH - len(extension)].rstrip(". ") + extension
        else:
            name = name[:MAX_FILENAME_LENGTH]
    return name


# ------------------------------------------------------------------------------ files


def _decode(data: Any, max_bytes: int, which: str) -> bytes:
    if not isinstance(data, str):
        raise FieldProblem("type", f"{which}: data must be a base64 string")
    # Four characters carry three bytes: refuse an oversized file before decoding it.
    if len(data) > -(-max_bytes // 3) * 4:
        raise FieldProblem("file_size", f"{which} is larger than {max_bytes} bytes")
    try:
        # validate=True: no whitespace, no URL-safe alphabet, no data: URL prefix, and
        # padding required, so exactly one byte string has this encoding.
        decoded = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FieldProblem("encoding", f"{which}: data is not standard base64") from exc
    if not decoded:
        raise FieldProblem("file_size", f"{which} is empty")
    if len(decoded) > max_bytes:
        raise FieldProblem("file_size", f"{which} is larger than {max_bytes} bytes")
    return decoded


def _media_type(value: Any, which: str) -> str:
    if not isinstance(value, str):
        raise FieldProblem("type", f"{which}: content_type must be a string")
    # Parameters (charset=...) do not change what the bytes must be.
    return value.split(";", 1)[0].strip().lower()


def parse_file(spec: FormField, item: Any, which: str) -> Attachment:
    """One file object of a file field, checked against the field's limits."""
    if not isinstance(item, dict) or set(item) != _FILE_KEYS:
        raise FieldProblem("type", f"{which} must be {{filename, content_type, data}}")
    if not isinstance(item["filename"], str):
        raise FieldProblem("type", f"{which}: filename must be a string")
    try:
        filename = clean_filename(item["filename"])
    except FieldProblem as problem:
        raise FieldProblem(problem.code, f"{which}: {problem.detail}") from None
    content_type = _media_type(item["content_type"], which)
    allowed = spec.content_types or ()
    if content_type not in allowed:
        raise FieldProblem("file_type", f"{which} must be one of: {', '.join(allowed)}")
    data = _decode(item["data"], spec.max_bytes or 0, which)
    if not bytes_match(content_type, data):
        raise FieldProblem("file_type", f"{which} is not a {content_type} file")
    extension = os.path.splitext(filename)[1].lower()
    extensions = " or ".join(sorted(CONTENT_TYPE_EXTENSIONS[content_type]))
    if extension not in CONTENT_TYPE_EXTENSIONS[content_type]:
        # A PDF named "invoice.html" opens as a web page on the reader's machine.
        raise FieldProblem("file_name", f"{which}: a {content_type} file is named {extensions}")
    return Attachment(spec.code, filename, content_type, data)


def parse_files(spec: FormField, value: Any) -> tuple[Attachment, ...]:
    """Every file of one file field (a non-empty JSON array of file objects)."""
    if not isinstance(value, list):
        raise FieldProblem("type", "must be a list of files")
    if len(value) > spec.file_limit:
        raise FieldProblem("file_count", f"at most {spec.file_limit} file(s)")
    return tuple(
        parse_file(spec, item, f"file {index}") for index, item in enumerate(value, start=1)
    )
