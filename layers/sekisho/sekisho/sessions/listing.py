"""A signed-in visitor's own records: a session view, a page at a time.

Every predicate of a session view comes from the session's claims (``sekisho check``
refuses a body predicate), so the list is the visitor's own however the request is
written; the body is ``{}`` or ``{"cursor": "..."}`` and nothing else. One kintone
request per page: the view's condition, the claims' predicates and the seek
(``$id < last`` newest first, ``$id > last`` oldest first), ``limit + 1`` records to know
whether another page follows. Returned records are re-checked for exact equality as a
lookup's are, then projected; each carries its ``ref`` and ``revision``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sekisho.audit import audit
from sekisho.errors import ValidationFailed
from sekisho.guard.budget import spend_or_refuse
from sekisho.kintone.cells import plain
from sekisho.kintone.query import compile_query

from .caller import Credentials
from .realms import RealmTools
from .records import claim_predicates, matches, view_scope
from .route import SessionRoute
from .tokens import Session

if TYPE_CHECKING:
    from sekisho.policy import Policy, ViewPolicy

    from .files import FileService

_ORDER = {"newest_first": ("desc", "<"), "oldest_first": ("asc", ">")}


class SessionViewService(SessionRoute):
    def __init__(
        self,
        policy: Policy,
        tools: RealmTools,
        *,
        files: FileService | None = None,
        **parts: Any,
    ) -> None:
        super().__init__(policy, tools, **parts)
        self._files = files

    def page(
        self, view_name: str, body: Mapping[str, Any], caller: Credentials, client_ip: str
    ) -> dict[str, Any]:
        view, session = self._open_view(view_name, caller, client_ip)
        realm_name = session.realm
        scope = view_scope(realm_name, view_name)
        after = self._after(body, session, view_name)
        if view.guard.budget is not None:
            spend_or_refuse(self._guard, scope, view.guard.budget)
        records, last = self._records(view, session, after)
        refs = self._tools.refs(realm_name)
        shown = [
            {
                "ref": refs.make(view.app, str(plain(record.get("$id")))),
                "revision": str(plain(record.get("$revision"))),
                **{
                    code: self._cell(view, view_name, session, record, code) for code in view.fields
                },
            }
            for record in records
        ]
        next_cursor = None
        if last is not None:
            next_cursor = self._tools.cursors(realm_name).make(
                session, view_name, last, self._wall()
            )
        audit(
            "session_view",
            route=f"view:{view_name}",
            caller="visitor",
            outcome="listed",
            record_ids=[plain(record.get("$id")) for record in records],
            realm=realm_name,
            view=view_name,
            found=len(shown),
        )
        return {"records": shown, "next": next_cursor}

    def _cell(
        self,
        view: ViewPolicy,
        view_name: str,
        session: Session,
        record: Mapping[str, Any],
        code: str,
    ) -> Any:
        if view.field_type(code) != "FILE":
            return plain(record.get(code))
        if self._files is not None:
            return self._files.link(view_name, session, record, code)
        # No file route: names and sizes only; kintone's fileKey never leaves the relay.
        cells = plain(record.get(code))
        cells = cells if isinstance(cells, list) else []
        return [{"name": c.get("name"), "size": int(str(c.get("size", 0)))} for c in cells]

    def _after(self, body: Mapping[str, Any], session: Session, view_name: str) -> int | None:
        unknown = [key for key in body if key != "cursor"]
        if unknown:
            raise ValidationFailed(
                'the body is {} or {"cursor": "..."}',
                errors=[
                    {
                        "pointer": f"/{key}",
                        "code": "unknown",
                        "detail": "the body has no such member",
                    }
                    for key in unknown
                ],
            )
        if "cursor" not in body or body["cursor"] is None:
            return None
        realm = session.realm
        return self._tools.cursors(realm).last_id(body["cursor"], session, view_name)

    def _records(
        self, view: ViewPolicy, session: Session, after: int | None
    ) -> tuple[list[dict[str, Any]], int | None]:
        """The page's records, and the $id to seek from when another page follows."""
        values, predicates = claim_predicates(view, session)
        direction, seek = _ORDER[view.order]
        conditions = [f"({view.where})"] if view.where else []
        if after is not None:
            conditions.append(f"$id {seek} {int(after)}")
        query = compile_query(
            predicates,
            where=" and ".join(conditions) or None,
            order_by=[("$id", direction)],
            limit=view.limit + 1,
        )
        wanted = list(
            dict.fromkeys(
                [*view.fields, *(r.code for r in view.match.values()), "$id", "$revision"]
            )
        )
        page = self._clients(view.token_secret).get_records(view.app, query, fields=wanted)
        fetched = page.records[: view.limit]
        matching = [record for record in fetched if matches(view, record, values)]
        # Seek from the last record kintone gave, kept or not: kintone's looser match
        # must not end the list early.
        last = int(str(plain(fetched[-1].get("$id")))) if len(page.records) > view.limit else None
        return matching, last
