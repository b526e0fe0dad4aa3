"""A signed-in visitor's correction of their own entry, checked as at intake.

The body is ``{"fields": {...}}`` with some of the form's ``editable.fields``: each value
passes exactly the check it would pass in a submission (:func:`~sekisho.forms.fields.checker`),
a required field cannot be blanked, and any other name — a field of the form that is not
editable, a preset, the receipt, an unknown name — is refused with 400, never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sekisho.errors import ValidationFailed

from .fields import checker, is_blank
from .problems import CODES, FieldProblem
from .submission import _DETAILS, MAX_REPORTED_ERRORS, _field_error, _fields_of

if TYPE_CHECKING:
    from sekisho.policy import FormPolicy

NOT_EDITABLE = "not_editable"


def parse_correction(form: FormPolicy, body: Mapping[str, Any]) -> dict[str, Any]:
    """kintone code -> value for every field the correction changes."""
    editable = form.editable.fields if form.editable is not None else ()
    fields = _fields_of(body)
    problems: list[dict[str, str]] = []
    record: dict[str, Any] = {}
    for name, value in fields.items():
        field = form.fields.get(name) if name in editable else None
        if field is None:
            detail = (
                "this field cannot be corrected" if name in form.fields else _DETAILS["unknown"]
            )
            problems.append(_field_error(str(name), NOT_EDITABLE, detail))
            continue
        if is_blank(value):
            if field.required:
                problems.append(_field_error(name, "required", _DETAILS["required"]))
            else:
                record[field.code] = ""
            continue
        try:
            record[field.code] = checker(field)(value)
        except FieldProblem as problem:
            code = problem.code if problem.code in CODES else "type"
            problems.append(_field_error(name, code, problem.detail))
    if not fields:
        problems.append({"pointer": "/fields", "code": "required", "detail": "nothing to correct"})
    if problems:
        raise ValidationFailed("the correction is not valid", errors=problems[:MAX_REPORTED_ERRORS])
    return record
