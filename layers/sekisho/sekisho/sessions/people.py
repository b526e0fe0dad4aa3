"""Finding the person who signs in, live in kintone, with the realm's view token.

One query per code request and per sign-in: the email field equal to the address (an
escaped literal, exact ``=``), the realm's ``active`` condition, one record, only the
fields the session claims. The relay re-checks the address itself: kintone's comparison
may fold case or width, a session's email is exactly what kintone holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sekisho.kintone.cells import plain
from sekisho.kintone.query import Predicate, compile_query
from sekisho.policy.constants import EMAIL_MAX_LENGTH
from sekisho.policy.sessions import EMAIL_CLAIM

if TYPE_CHECKING:
    from sekisho.kintone.client import KintoneClient
    from sekisho.policy.model import AppPolicy
    from sekisho.policy.sessions import RealmPolicy

# Enough records to find the one that matches exactly among kintone's looser matches.
_CANDIDATES = 10


def find_person(
    client: KintoneClient, realm: RealmPolicy, app: AppPolicy, email: str
) -> Mapping[str, str] | None:
    """The session claims of the active person with this address, or None."""
    field_type = app.field_types[realm.email_field]
    predicate = Predicate(realm.email_field, field_type, email, max_length=EMAIL_MAX_LENGTH)
    query = compile_query([predicate], where=realm.active, limit=_CANDIDATES)
    page = client.get_records(realm.app, query, fields=realm.person_fields)
    for record in page.records:
        if _value(record, realm.email_field) != email:
            continue
        claims = {EMAIL_CLAIM: email}
        for claim, code in realm.claims.items():
            value = _value(record, code)
            if value is None:
                return None  # a claim the realm needs is empty: no session without it
            claims[claim] = value
        return claims
    return None


def _value(record: Mapping[str, Any], code: str) -> str | None:
    value = plain(record.get(code))
    return value if isinstance(value, str) and value else None
