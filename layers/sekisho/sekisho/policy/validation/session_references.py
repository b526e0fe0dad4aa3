"""Cross-references of signed-in visitors' rules: realms, session views, editable forms.

Each refusal here is a route that could only fail or leak: a realm that cannot find a
person, a session view whose records are not narrowed by the session, an entry whose
owner cannot be checked by the token that re-reads it.
"""

from __future__ import annotations

from collections.abc import Mapping

from sekisho.kintone.condition import parse_condition
from sekisho.kintone.query import MATCHABLE_TYPES
from sekisho.kintone.syntax import QueryDeclarationError

from ..model import AppPolicy, Policy
from ..routes import FormPolicy, ViewPolicy
from ..sessions import RealmPolicy

Location = tuple[str | int, ...]
Issue = tuple[Location, str]

# kintone types that can hold one address and be compared with `=`.
EMAIL_TYPES = frozenset({"SINGLE_LINE_TEXT", "LINK"})
# Types a cancel (or a lock) can be read from and written as one string.
STATUS_TYPES = frozenset({"SINGLE_LINE_TEXT", "DROP_DOWN", "RADIO_BUTTON"})


def session_issues(policy: Policy) -> list[Issue]:
    issues: list[Issue] = []
    for name, realm in policy.realms.items():
        issues.extend(_realm_issues(("realms", name), realm, policy.apps))
    for name, view in policy.views.items():
        if view.session is not None:
            issues.extend(_session_view_issues(("views", name), view, policy.realms))
    for name, form in policy.forms.items():
        if form.editable is not None:
            issues.extend(_editable_issues(("forms", name), form, policy))
    return issues


def _realm_issues(loc: Location, realm: RealmPolicy, apps: Mapping[int, AppPolicy]) -> list[Issue]:
    app = apps.get(realm.app)
    if app is None:
        return [((*loc, "app"), f"app {realm.app} is not declared under apps")]
    types = app.field_types
    issues: list[Issue] = []
    email_type = types.get(realm.email_field)
    if email_type is None:
        issues.append(((*loc, "email_field"), _undeclared(realm.email_field, realm.app)))
    elif email_type not in EMAIL_TYPES:
        issues.append(((*loc, "email_field"), f"field {realm.email_field} is {email_type}"))
    for claim, code in realm.claims.items():
        ftype = types.get(code)
        if ftype is None:
            issues.append(((*loc, "claims", claim), _undeclared(code, realm.app)))
        elif ftype not in MATCHABLE_TYPES:
            issues.append(((*loc, "claims", claim), f"field {code} is {ftype}, not one value"))
    if realm.active is not None:
        try:
            parse_condition(realm.active, types)
        except QueryDeclarationError as exc:
            issues.append(((*loc, "active"), str(exc)))
    return issues


def _session_view_issues(
    loc: Location, view: ViewPolicy, realms: Mapping[str, RealmPolicy]
) -> list[Issue]:
    realm = realms.get(view.session or "")
    if realm is None:
        return [((*loc, "session"), f"realm {view.session} is not declared under realms")]
    issues: list[Issue] = []
    for key, rule in view.match.items():
        where = (*loc, "match", key, "from")
        if rule.claim is None:
            # A session view's list is the visitor's own: a value typed in the body would
            # let one visitor list another's records.
            issues.append((where, "a session view takes every predicate from a claim"))
        elif rule.claim not in realm.claim_names:
            known = ", ".join(sorted(realm.claim_names))
            issues.append((where, f"realm {view.session} claims only {known}"))
    if view.single_predicate is not None:
        issues.append(((*loc, "single_predicate"), "a claim cannot be guessed; drop it"))
    return issues


def _editable_issues(loc: Location, form: FormPolicy, policy: Policy) -> list[Issue]:
    editable = form.editable
    assert editable is not None  # noqa: S101 - the caller checked
    where = (*loc, "editable")
    realm = policy.realms.get(editable.session)
    if realm is None:
        return [((*where, "session"), f"realm {editable.session} is not declared under realms")]
    issues: list[Issue] = []
    if realm.app != form.app:
        # The entry is re-read with the realm's view token before every write.
        issues.append(
            (
                (*where, "session"),
                f"realm {editable.session} is over app {realm.app}, not {form.app}",
            )
        )
    if editable.owner.claim not in realm.claim_names:
        known = ", ".join(sorted(realm.claim_names))
        issues.append(((*where, "owner", "claim"), f"realm {editable.session} claims only {known}"))
    app = policy.apps.get(form.app)
    types = app.field_types if app is not None else {}
    checks: list[tuple[Location, str, frozenset[str]]] = [
        ((*where, "owner", "field"), editable.owner.field, EMAIL_TYPES | MATCHABLE_TYPES)
    ]
    if editable.until is not None:
        checks.append(((*where, "until", "field"), editable.until.field, STATUS_TYPES))
    if form.cancel is not None:
        checks.append(((*loc, "cancel", "field"), form.cancel.field, STATUS_TYPES))
    for location, code, allowed in checks:
        ftype = types.get(code)
        if ftype is None:
            issues.append((location, _undeclared(code, form.app)))
        elif ftype not in allowed:
            issues.append((location, f"field {code} is {ftype}"))
    return issues


def _undeclared(code: str, app: int) -> str:
    return f"field {code} is not declared in app {app}"
