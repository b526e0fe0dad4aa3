"""A signed-in visitor's files: a session view's FILE fields, handed out as short-lived
relay links, and streamed (with ``Range``) only for the session they were made for.

A link is ``<view>/files/<ticket>`` (relative to the view's own URL, so it works under any
stage prefix): the ticket is a JWT (:mod:`.tokens`, purpose ``file``) naming the session,
the view, the record, the field and the file's place in it, with the file's name and size,
for at most five minutes and never past the session. A download re-reads the record with
the view's predicates filled from the session's claims: a file of a record the session can
no longer see, or one that changed since, is the uniform 404.

kintone's fileKey never leaves the relay. The answer is ``attachment`` (never shown in the
page), ``nosniff``, and typed as stored only when the type is one sekisho can vouch for by
a file's bytes; anything else is ``application/octet-stream``.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sekisho.audit import audit
from sekisho.errors import NotFound, SekishoError
from sekisho.kintone.query import Predicate, compile_query
from sekisho.policy.constants import CONTENT_TYPE_EXTENSIONS

from .caller import Credentials
from .records import claim_predicates, matches
from .route import SessionRoute
from .tokens import Session, TokenRefused

if TYPE_CHECKING:
    from sekisho.policy.routes import ViewPolicy

TICKET_SECONDS = 300
# What one answer may carry: Lambda's 6 MB response, less base64's third and the envelope.
MAX_ANSWER_BYTES = 4 * 1024 * 1024
_RANGE = re.compile(r"bytes=(\d{0,19})-(\d{0,19})")
FALLBACK_TYPE = "application/octet-stream"
# The types a file is sent as: those sekisho checks by a file's bytes, but no text type (API
# Gateway treats these as binary, and a text type there would turn JSON-like bodies into
# base64); a text or unknown file is sent as application/octet-stream. template.yaml's
# BinaryMediaTypes lists exactly these.
SERVED_TYPES = frozenset(
    {t for t in CONTENT_TYPE_EXTENSIONS if not t.startswith("text/")} | {FALLBACK_TYPE}
)


class RangeNotSatisfiable(
    SekishoError, code="range_not_satisfiable", status=416, title="The range is not in the file"
):
    def __init__(self, size: int) -> None:
        super().__init__(f"the file has {size} bytes")
        self.headers = {"Content-Range": f"bytes */{size}"}


class FileTooLarge(
    SekishoError, code="file_too_large", status=413, title="Ask for the file in ranges"
):
    def __init__(self) -> None:
        super().__init__(f"ask with Range for at most {MAX_ANSWER_BYTES} bytes at a time")
        self.headers = {"Accept-Ranges": "bytes"}


@dataclass(frozen=True)
class FileAnswer:
    status: int
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)


def file_cells(value: Any) -> list[dict[str, Any]]:
    """kintone's FILE value (a list of {fileKey, name, contentType, size})."""
    return [cell for cell in value if isinstance(cell, dict)] if isinstance(value, list) else []


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one range asked for, as (first, last) inclusive; None for the whole file.

    One range only: several, or a header that does not parse, are ignored and the whole
    file is sent, as RFC 9110 allows. A range wholly past the end is not satisfiable.
    """
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None or (not match[1] and not match[2]):
        return None
    if not match[1]:  # the last N bytes
        length = int(match[2])
        if length == 0:
            raise RangeNotSatisfiable(size)
        return max(0, size - length), size - 1
    first = int(match[1])
    if first >= size:
        raise RangeNotSatisfiable(size)
    last = int(match[2]) if match[2] else size - 1
    if last < first:
        return None
    return first, min(last, size - 1)


def disposition(name: str) -> str:
    """``attachment`` with the name as RFC 6266 gives it: an ASCII fallback and UTF-8."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in name
    )
    encoded = urllib.parse.quote(name, safe="")
    return f"attachment; filename=\"{fallback or 'file'}\"; filename*=UTF-8''{encoded}"


class FileService(SessionRoute):
    def link(
        self, view_name: str, session: Session, record: Mapping[str, Any], code: str
    ) -> list[dict[str, Any]]:
        """The cells of a FILE field as the visitor sees them: name, size, relay link."""
        record_id = int(str(record["$id"]["value"]))
        lifetime = max(1, min(TICKET_SECONDS, session.expires_at - int(self._wall())))
        codec = self._tools.codec(session.realm, "file")
        shown = []
        for index, cell in enumerate(file_cells(record.get(code, {}).get("value"))):
            name, size = str(cell.get("name", "")), int(str(cell.get("size", "0")))
            ticket, _, _ = codec.sign(
                {
                    "sid": session.jti,
                    "view": view_name,
                    "rec": record_id,
                    "field": code,
                    "idx": index,
                    "name": name,
                    "size": size,
                },
                lifetime,
            )
            shown.append({"name": name, "size": size, "href": f"{view_name}/files/{ticket}"})
        return shown

    def download(
        self,
        view_name: str,
        ticket: str,
        caller: Credentials,
        client_ip: str,
        range_header: str | None,
    ) -> FileAnswer:
        view, session = self._open_view(view_name, caller, client_ip)
        claims = self._ticket(session.realm, ticket, session, view_name, view)
        cell = self._cell(view, session, claims)
        if cell is None:
            raise NotFound()
        downloaded = self._clients(view.token_secret).download_file(str(cell["fileKey"]))
        content, size = downloaded.content, len(downloaded.content)
        wanted = byte_range(range_header, size)
        first, last = wanted if wanted is not None else (0, size - 1)
        if last - first + 1 > MAX_ANSWER_BYTES:
            raise FileTooLarge()
        stored = str(cell.get("contentType") or downloaded.content_type).lower()
        headers = {
            "Content-Type": stored if stored in SERVED_TYPES else FALLBACK_TYPE,
            "Content-Disposition": disposition(str(claims["name"])),
            "Accept-Ranges": "bytes",
            "X-Content-Type-Options": "nosniff",
        }
        audit(
            "session_file",
            route=f"view:{view_name}",
            caller="visitor",
            outcome="sent",
            record_ids=[claims["rec"]],
            realm=session.realm,
            view=view_name,
            ranged=wanted is not None,
        )
        if wanted is None:
            return FileAnswer(200, content, headers)
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        return FileAnswer(206, content[first : last + 1], headers)

    def _ticket(
        self, realm_name: str, ticket: str, session: Session, view_name: str, view: ViewPolicy
    ) -> dict[str, Any]:
        try:
            claims = self._tools.codec(realm_name, "file").verify(ticket)
        except TokenRefused:
            raise NotFound() from None
        if (
            claims.get("sid") != session.jti
            or claims.get("view") != view_name
            or claims.get("field") not in view.fields
            or view.field_type(str(claims.get("field"))) != "FILE"
        ):
            raise NotFound()
        return claims

    def _cell(
        self, view: ViewPolicy, session: Session, claims: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        values, predicates = claim_predicates(view, session)
        predicates.append(Predicate("$id", "__ID__", str(int(claims["rec"]))))
        code = str(claims["field"])
        wanted = list(dict.fromkeys([code, *(r.code for r in view.match.values()), "$id"]))
        page = self._clients(view.token_secret).get_records(
            view.app, compile_query(predicates, where=view.where, limit=1), fields=wanted
        )
        for record in page.records:
            if not matches(view, record, values):
                continue
            cells = file_cells((record.get(code) or {}).get("value"))
            index = claims.get("idx")
            if not isinstance(index, int) or not 0 <= index < len(cells):
                return None
            cell = cells[index]
            # The same file the link was made for, not whatever took its place since.
            same = (str(cell.get("name")), int(str(cell.get("size", -1))))
            return cell if same == (claims.get("name"), claims.get("size")) else None
        return None
