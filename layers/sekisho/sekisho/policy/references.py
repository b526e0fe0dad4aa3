"""Cross-references inside a policy: every app and field a route names must be declared.

Run by :class:`~sekisho.policy.models.Policy` at load, so a route that could only fail
(an unknown field in a projection, a predicate kintone cannot compare exactly, a server
condition kintone would refuse) stops the deployment at cold start and at
``sekisho check``, never on a request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from sekisho.kintone.condition import parse_condition
from sekisho.kintone.query import MATCHABLE_TYPES, QueryDeclarationError

if TYPE_CHECKING:
    from .models import AppPolicy, FormPolicy, Policy, ViewPolicy

Location = tuple[str | int, ...]
Issue = tuple[Location, str]

# A receipt is a UUID stored in a field kintone keeps unique ("値の重複を禁止する").
RECEIPT_TYPES = frozenset({"SINGLE_LINE_TEXT"})


def reference_issues(policy: Policy) -> list[Issue]:
    issues: list[Issue] = []
    for name, view in policy.views.items():
        issues.extend(_view_issues(("views", name), view, policy.apps))
    for name, form in policy.forms.items():
        issues.extend(_form_issues(("forms", name), form, policy.apps))
    for name, hook in policy.webhooks.items():
        if hook.refetch is not None and hook.refetch.app not in policy.apps:
            loc = ("webhooks", name, "refetch", "app")
            issues.append((loc, _undeclared_app(hook.refetch.app)))
    return issues


def _undeclared_app(app: int) -> str:
    return f"app {app} is not declared under apps"


def _undeclared_field(code: str, app: int) -> str:
    return f"field {code} is not declared in app {app}"


def _view_issues(loc: Location, view: ViewPolicy, apps: Mapping[int, AppPolicy]) -> list[Issue]:
    app = apps.get(view.app)
    if app is None:
        return [((*loc, "app"), _undeclared_app(view.app))]
    types = app.field_types
    issues: list[Issue] = []
    for key, rule in view.match.items():
        ftype = types.get(rule.code)
        if ftype is None:
            issues.append(((*loc, "match", key, "code"), _undeclared_field(rule.code, view.app)))
        elif ftype not in MATCHABLE_TYPES:
            issues.append(
                (
                    (*loc, "match", key, "code"),
                    f"field {rule.code} is {ftype}, which cannot be matched exactly",
                )
            )
    for index, code in enumerate(view.fields):
        if code not in types:
            issues.append(((*loc, "fields", index), _undeclared_field(code, view.app)))
    if view.where is not None:
        try:
            parse_condition(view.where, types)
        except QueryDeclarationError as exc:
            issues.append(((*loc, "where"), str(exc)))
    return issues


def _form_issues(loc: Location, form: FormPolicy, apps: Mapping[int, AppPolicy]) -> list[Issue]:
    app = apps.get(form.app)
    if app is None:
        return [((*loc, "app"), _undeclared_app(form.app))]
    types = app.fields
    issues: list[Issue] = []
    receipt_type = types.get(form.receipt_field)
    if receipt_type is None:
        issues.append(((*loc, "receipt_field"), _undeclared_field(form.receipt_field, form.app)))
    elif receipt_type not in RECEIPT_TYPES:
        issues.append(
            ((*loc, "receipt_field"), f"field {form.receipt_field} must be SINGLE_LINE_TEXT")
        )
    browser_codes: dict[str, str] = {}
    for name, field in form.fields.items():
        where = (*loc, "fields", name, "code")
        if field.code not in types:
            issues.append((where, _undeclared_field(field.code, form.app)))
        elif field.code == form.receipt_field:
            issues.append((where, "the receipt field is set by the relay, never by a browser"))
        elif field.code in browser_codes:
            other = browser_codes[field.code]
            issues.append((where, f"field {field.code} is also sent as {other}"))
        browser_codes.setdefault(field.code, name)
    for code in form.presets:
        where = (*loc, "set", code)
        if code not in types:
            issues.append((where, _undeclared_field(code, form.app)))
        elif code == form.receipt_field:
            issues.append((where, "the receipt field is set by the relay"))
        elif code in browser_codes:
            issues.append((where, f"field {code} is preset and also sent by the browser"))
    return issues
