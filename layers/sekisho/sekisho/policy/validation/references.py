"""Cross-references inside a policy: every app and field a route names must be declared.

Run by the validation schema of the whole policy at load, on the runtime policy it
produces, so a route that could only fail
(an unknown field in a projection, a predicate kintone cannot compare exactly, a server
condition kintone would refuse) stops the deployment at cold start and at
``sekisho check``, never on a request.
"""

from __future__ import annotations

from collections.abc import Mapping

from sekisho.kintone.condition import parse_condition
from sekisho.kintone.query import MATCHABLE_TYPES
from sekisho.kintone.syntax import QueryDeclarationError
from sekisho.kintone.values import KEY_TYPES, WRITABLE_TYPES, ValueMismatch, wire_value

from ..constants import LIST_TYPES
from ..model import AppPolicy, Policy
from ..routes import ActionPolicy, FormPolicy, ViewPolicy, WebhookPolicy
from .capacity import capacity_issues
from .forms import KINTONE_TYPES
from .names import NOT_TEXT_VALUE_TYPES
from .partners import partner_issues
from .session_references import session_issues
from .when import when_issues

Location = tuple[str | int, ...]
Issue = tuple[Location, str]

# A receipt is text (a short receipt, or an event id) stored in a field kintone keeps
# unique ("値の重複を禁止する").
RECEIPT_TYPES = frozenset({"SINGLE_LINE_TEXT"})
# Types a record add can write one string to (LIST_TYPES take a list of options).
PRESET_TYPES = frozenset(
    {
        "SINGLE_LINE_TEXT",
        "MULTI_LINE_TEXT",
        "RICH_TEXT",
        "NUMBER",
        "DATE",
        "TIME",
        "DATETIME",
        "LINK",
        "DROP_DOWN",
        "RADIO_BUTTON",
        *LIST_TYPES,
    }
)


def reference_issues(policy: Policy) -> list[Issue]:
    issues: list[Issue] = []
    for name, view in policy.views.items():
        issues.extend(_view_issues(("views", name), view, policy.apps))
    for name, form in policy.forms.items():
        issues.extend(_form_issues(("forms", name), form, policy.apps))
    for name, hook in policy.webhooks.items():
        for action_name, action in hook.actions.items():
            issues.extend(
                _action_issues(
                    ("webhooks", name, "actions", action_name), action, hook, policy.apps
                )
            )
        if hook.refetch is None:
            continue
        loc = ("webhooks", name, "refetch")
        app = policy.apps.get(hook.refetch.app)
        if app is None:
            issues.append(((*loc, "app"), _undeclared_app(hook.refetch.app)))
            continue
        for index, code in enumerate(hook.refetch.fields):
            if code not in app.fields:
                issues.append(((*loc, "fields", index), _undeclared_field(code, hook.refetch.app)))
    issues.extend(session_issues(policy))
    issues.extend(capacity_issues(policy))
    issues.extend(when_issues(policy))
    issues.extend(partner_issues(policy))
    return issues


def _action_issues(
    loc: Location, action: ActionPolicy, hook: WebhookPolicy, apps: Mapping[int, AppPolicy]
) -> list[Issue]:
    app = apps.get(action.app)
    if app is None:
        return [((*loc, "app"), _undeclared_app(action.app))]
    issues: list[Issue] = []
    receipt = action.receipt_field
    receipt_type = app.fields.get(receipt)
    if receipt_type is None:
        issues.append(((*loc, "receipt_field"), _undeclared_field(receipt, action.app)))
    elif receipt_type not in RECEIPT_TYPES:
        issues.append(((*loc, "receipt_field"), f"field {receipt} must be SINGLE_LINE_TEXT"))
    pointers: list[tuple[Location, str]] = []
    if action.key is not None:
        key_type = app.fields.get(action.key.field)
        if key_type is None:
            issues.append(((*loc, "key", "field"), _undeclared_field(action.key.field, action.app)))
        elif key_type not in KEY_TYPES:
            kinds = " or ".join(sorted(KEY_TYPES))
            issues.append(((*loc, "key", "field"), f"a key field is {kinds}, not {key_type}"))
        pointers.append(((*loc, "key", "from"), action.key.pointer))
    issues.extend(_action_field_issues(loc, action, app.fields))
    pointers += [
        ((*loc, "fields", code, "from"), source.pointer)
        for code, source in action.fields.items()
        if source.pointer is not None
    ]
    conditions = [((*loc, "when", pointer), pointer) for pointer in action.when or ()]
    if hook.refetch is not None:
        issues.extend(_refetched_pointer_issues(pointers + conditions, hook.refetch.fields))
        types = _field_types(apps, hook.refetch.app, hook.refetch.fields)
        issues.extend(_record_condition_issues(loc, action, types))
    return issues


def _field_types(
    apps: Mapping[int, AppPolicy], app: int, refetched: tuple[str, ...]
) -> Mapping[str, str]:
    """The types of the fields a refetch reads, ``$id`` and ``$revision`` included. An
    undeclared app or field is reported where the refetch names it, and a pointer to a
    field it does not read by :func:`_refetched_pointer_issues`."""
    found = apps.get(app)
    types = found.field_types if found is not None else {}
    return {code: types[code] for code in (*refetched, "$id", "$revision") if code in types}


def _record_condition_issues(
    loc: Location, action: ActionPolicy, types: Mapping[str, str]
) -> list[Issue]:
    """A condition on a refetched record's ``/record/<code>/value`` that could never hold:
    kintone gives a field's value as text, or (:data:`NOT_TEXT_VALUE_TYPES`) as a list or
    an object."""
    issues: list[Issue] = []
    for pointer, allowed in (action.when or {}).items():
        parts = pointer.split("/")
        if len(parts) != 4 or parts[1] != "record" or parts[3] != "value":
            continue
        code = parts[2].replace("~1", "/").replace("~0", "~")
        ftype = types.get(code)
        if ftype is None:
            continue
        where = (*loc, "when", pointer)
        if ftype in NOT_TEXT_VALUE_TYPES:
            issues.append(
                (where, f"field {code} is {ftype}, whose value a condition cannot compare")
            )
        elif any(not isinstance(value, str) for value in allowed):
            issues.append(
                (where, f'kintone gives the value of {code} as text: quote it ("1", not 1)')
            )
    return issues


def _action_field_issues(
    loc: Location, action: ActionPolicy, types: Mapping[str, str]
) -> list[Issue]:
    issues: list[Issue] = []
    for code, source in action.fields.items():
        where = (*loc, "fields", code)
        ftype = types.get(code)
        if ftype is None:
            issues.append((where, _undeclared_field(code, action.app)))
        elif ftype not in WRITABLE_TYPES:
            issues.append((where, f"field {code} is {ftype}, which an action cannot write"))
        elif source.fixed is not None:
            try:
                wire_value(ftype, source.fixed)
            except ValueMismatch as exc:
                issues.append(((*where, "set"), f"field {code} is {ftype}: {exc}"))
    return issues


def _refetched_pointer_issues(
    pointers: list[tuple[Location, str]], refetched: tuple[str, ...]
) -> list[Issue]:
    """A refetch source's event carries only the declared fields of the record: a pointer
    into any other field would be missing in every event."""
    issues: list[Issue] = []
    readable = {*refetched, "$id", "$revision"}
    for where, pointer in pointers:
        parts = pointer.split("/")
        if len(parts) > 2 and parts[1] == "record":
            code = parts[2].replace("~1", "/").replace("~0", "~")
            if code not in readable:
                issues.append((where, f"refetch does not read field {code}"))
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
    issues = _form_name_issues(loc, form)
    app = apps.get(form.app)
    if app is None:
        return [((*loc, "app"), _undeclared_app(form.app)), *issues]
    receipt_type = app.fields.get(form.receipt_field)
    if receipt_type is None:
        issues.append(((*loc, "receipt_field"), _undeclared_field(form.receipt_field, form.app)))
    elif receipt_type not in RECEIPT_TYPES:
        issues.append(
            ((*loc, "receipt_field"), f"field {form.receipt_field} must be SINGLE_LINE_TEXT")
        )
    issues.extend(_browser_field_issues(loc, form, app.fields))
    issues.extend(_preset_issues(loc, form, app.fields))
    return issues


def _browser_field_issues(loc: Location, form: FormPolicy, types: Mapping[str, str]) -> list[Issue]:
    issues: list[Issue] = []
    browser_codes: dict[str, str] = {}
    for name, field in form.fields.items():
        where = (*loc, "fields", name, "code")
        ftype = types.get(field.code)
        if ftype is None:
            issues.append((where, _undeclared_field(field.code, form.app)))
        elif field.code == form.receipt_field:
            issues.append((where, "the receipt field is set by the relay, never by a browser"))
        elif field.code in browser_codes:
            other = browser_codes[field.code]
            issues.append((where, f"field {field.code} is also sent as {other}"))
        elif ftype not in KINTONE_TYPES[field.type]:
            fits = " or ".join(sorted(KINTONE_TYPES[field.type]))
            issues.append(
                (
                    (*loc, "fields", name, "type"),
                    f"a {field.type} field is stored in {fits}, and {field.code} is {ftype}",
                )
            )
        browser_codes.setdefault(field.code, name)
    return issues


def _preset_issues(loc: Location, form: FormPolicy, types: Mapping[str, str]) -> list[Issue]:
    issues: list[Issue] = []
    browser_codes = {field.code for field in form.fields.values()}
    for code, value in form.presets.items():
        if code in form.fields:
            continue  # named like a browser field: reported once, by _form_name_issues
        where = (*loc, "set", code)
        ftype = types.get(code)
        if ftype is None:
            issues.append((where, _undeclared_field(code, form.app)))
        elif code == form.receipt_field:
            issues.append((where, "the receipt field is set by the relay"))
        elif code in browser_codes:
            issues.append((where, f"field {code} is preset and also sent by the browser"))
        elif ftype not in PRESET_TYPES:
            issues.append((where, f"field {code} is {ftype}, which a preset cannot set"))
        elif isinstance(value, tuple) != (ftype in LIST_TYPES):
            shape = "a list of options" if ftype in LIST_TYPES else "one value, not a list"
            issues.append((where, f"field {code} is {ftype}: its preset is {shape}"))
    return issues


def _form_name_issues(loc: Location, form: FormPolicy) -> list[Issue]:
    """Clashes between the names a browser sends and the rest of the form."""
    issues: list[Issue] = []
    if form.honeypot is not None and form.honeypot in form.fields:
        issues.append(((*loc, "honeypot"), f"{form.honeypot} is also a browser field"))
    for code in form.presets:
        if code in form.fields:
            # kintone would not mind, but a reviewer reading `set` must never have to
            # wonder whether the browser's value or the preset wins.
            issues.append(((*loc, "set", code), f"preset {code} is named like a browser field"))
    return issues
