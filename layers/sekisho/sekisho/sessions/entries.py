"""Correct and cancel one's own entry (a form's ``editable`` and ``cancel``).

Every write follows the same steps: the session (with an Origin check when it rides on
the cookie), the ref (made by this realm, or the uniform 404), the body (checked as at
intake), then the record re-read with the realm's view token — the owner field must
equal the session's claim exactly, or it is the same 404 as an unknown ref — then the
lock (``until``, or already cancelled: 409), the revision the caller saw (``If-Match``:
412 when kintone's moved on), and one write with the form's edit-only token against the
revision read. kintone refuses that write if anyone changed the record in between
(GAIA_CO02), so no update is ever lost.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sekisho.access.when import check_claims
from sekisho.audit import audit
from sekisho.entries.corrections import EntrySeats, seat_codes
from sekisho.errors import ConfigurationError, NotFound, RateLimited
from sekisho.forms.correction import parse_correction
from sekisho.kintone.cells import equals, plain
from sekisho.kintone.errors import KintoneNotFound, KintoneRevisionConflict
from sekisho.kintone.query import Predicate, compile_query

from .caller import Credentials
from .errors import EntryLocked, RevisionMismatch, RevisionRequired
from .route import SessionRoute
from .tokens import Session

if TYPE_CHECKING:
    from sekisho.policy.routes import FormPolicy
    from sekisho.policy.sessions import EditablePolicy

# RFC 9110 If-Match: an entity tag, strong ("3") or, as API callers write it, bare (3).
_IF_MATCH = re.compile(r'\s*(?:"([0-9]{1,19})"|([0-9]{1,19}))\s*')
CANCELLED = "cancelled"


def revision_of(if_match: str | None, *, required: bool) -> str | None:
    if if_match is None or not if_match.strip():
        if required:
            raise RevisionRequired()
        return None
    match = _IF_MATCH.fullmatch(if_match)
    if match is None:
        # A weak tag, a list or "*" says nothing about which revision was seen.
        raise RevisionMismatch()
    return match[1] or match[2]


@dataclass(frozen=True)
class EntryRequest:
    """Which entry, as whom: the form, the ref, the If-Match header, the caller."""

    form: str
    ref: str
    if_match: str | None
    caller: Credentials
    client_ip: str


def form_scope(realm: str, form: str) -> str:
    return f"session:{realm}#form:{form}"


class EntryService(SessionRoute):
    def __init__(self, *args: Any, seats: EntrySeats | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seats = seats

    def correct(self, request: EntryRequest, body: Mapping[str, Any]) -> dict[str, str]:
        form_name = request.form
        form, editable, session = self._open(form_name, request.caller, request.client_ip)
        seen = revision_of(request.if_match, required=True)
        record_id = self._record_id(editable, form, request.ref)
        values = parse_correction(form, body)
        record = self._owned_and_open(form, editable, session, record_id)
        revision = str(plain(record.get("$revision")))
        if seen != revision:
            raise RevisionMismatch()
        with self._seats_for(form).correcting(form_name, form, record, values):
            new = self._write(form, editable, record_id, values, revision)
        audit(
            "entry_corrected",
            route=f"form:{form_name}",
            caller="visitor",
            outcome="written",
            record_ids=[record_id],
            realm=session.realm,
            form=form_name,
        )
        return {"revision": new}

    def cancel(self, request: EntryRequest) -> dict[str, str]:
        form_name = request.form
        form, editable, session = self._open(form_name, request.caller, request.client_ip)
        if form.cancel is None:
            raise NotFound()
        seen = revision_of(request.if_match, required=False)
        record_id = self._record_id(editable, form, request.ref)
        record = self._owned_and_open(form, editable, session, record_id, cancelling=True)
        revision = str(plain(record.get("$revision")))
        if equals(record.get(form.cancel.field), form.cancel.value):
            # A retried cancel changes nothing in kintone; its seats go back (once) in case
            # the first cancel ended before it gave them.
            self._seats_for(form).cancelled(form_name, form, record)
            return {"status": CANCELLED, "revision": revision}
        if seen is not None and seen != revision:
            raise RevisionMismatch()
        new = self._write(
            form, editable, record_id, {form.cancel.field: form.cancel.value}, revision
        )
        self._seats_for(form).cancelled(form_name, form, record)
        audit(
            "entry_cancelled",
            route=f"form:{form_name}",
            caller="visitor",
            outcome="written",
            record_ids=[record_id],
            realm=session.realm,
            form=form_name,
        )
        return {"status": CANCELLED, "revision": new}

    # -----------------------------------------------------------------------------

    def _open(
        self, form_name: str, caller: Credentials, client_ip: str
    ) -> tuple[FormPolicy, EditablePolicy, Session]:
        form = self._policy.form(form_name)
        editable = form.editable
        if editable is None:
            raise NotFound()
        self._switches.check("forms", form_name, enabled=form.enabled)
        self._check_when(form.when, client_ip)
        realm = self._policy.realm(editable.session)
        session = self._verifier.session(editable.session, realm, caller, changes_state=True)
        check_claims(form.when, session.claims)
        if not self._guard.allow_request(
            form_scope(editable.session, form_name), client_ip, form.guard.per_ip
        ):
            raise RateLimited("try again later")
        return form, editable, session

    def _record_id(self, editable: EditablePolicy, form: FormPolicy, ref: str) -> int:
        record_id = self._tools.refs(editable.session).record_id(form.app, ref)
        if record_id is None:
            raise NotFound()
        return record_id

    def _owned_and_open(
        self,
        form: FormPolicy,
        editable: EditablePolicy,
        session: Session,
        record_id: int,
        *,
        cancelling: bool = False,
    ) -> dict[str, Any]:
        """The session's own, unlocked entry (already cancelled is a lock, except to a
        cancel)."""
        record = self._read(form, editable, session, record_id)
        if record is None:
            raise NotFound()
        if form.cancel is not None and equals(record.get(form.cancel.field), form.cancel.value):
            if cancelling:
                return record
            raise EntryLocked()
        if editable.until is not None and equals(
            record.get(editable.until.field), editable.until.value
        ):
            raise EntryLocked()
        return record

    def _seats_for(self, form: FormPolicy) -> EntrySeats:
        if self._seats is None:
            if form.capacity is not None:
                raise ConfigurationError("the form has seats but no entries table is set")
            return EntrySeats(None)
        return self._seats

    def _read(
        self, form: FormPolicy, editable: EditablePolicy, session: Session, record_id: int
    ) -> dict[str, Any] | None:
        realm = self._policy.realm(editable.session)
        owner = editable.owner
        claim = session.claims[owner.claim]
        types = self._policy.apps[form.app].field_types
        predicates = [
            Predicate("$id", "__ID__", str(record_id)),
            # The claim came from kintone at sign-in, not from the caller: no shape limit.
            Predicate(owner.field, types[owner.field], claim, max_length=len(claim) + 1),
        ]
        codes = [owner.field, "$id", "$revision"]
        if editable.until is not None:
            codes.append(editable.until.field)
        if form.cancel is not None:
            codes.append(form.cancel.field)
        codes.extend(seat_codes(form))
        page = self._clients(realm.token_secret).get_records(
            form.app, compile_query(predicates, limit=1), fields=list(dict.fromkeys(codes))
        )
        for record in page.records:
            if equals(record.get(owner.field), claim) and plain(record.get("$id")) == str(
                record_id
            ):
                return record
        return None

    def _write(
        self,
        form: FormPolicy,
        editable: EditablePolicy,
        record_id: int,
        values: Mapping[str, Any],
        revision: str,
    ) -> str:
        client = self._clients(editable.token_secret)
        try:
            return client.update_record(form.app, record_id, values, revision=revision)
        except (KintoneRevisionConflict, KintoneNotFound):
            raise RevisionMismatch() from None
