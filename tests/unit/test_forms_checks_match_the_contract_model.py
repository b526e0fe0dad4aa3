"""The intake checks a submission without pydantic, and answers exactly as the pydantic model
the contract's schema is generated from would: same values, same problems, same order.

The model (``_model_for``) is only built for ``sekisho openapi``; this keeps the two from
drifting apart.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sekisho.errors import ValidationFailed
from sekisho.forms import CODES, parse_submission
from sekisho.forms.contract_model import _attribute, _model_for
from sekisho.forms.submission import MAX_REPORTED_ERRORS, _escape
from tests.form_support import FORM, pdf

# pydantic's own error types, in the problem vocabulary (what parse_submission once mapped).
PYDANTIC_CODES = {"missing": "required", "extra_forbidden": "unknown"}
DETAILS = {"required": "this field is required", "unknown": "the form has no such field"}


def through_the_model(fields: dict[str, Any]) -> tuple[str, Any]:
    """What the pydantic model makes of ``fields``: the values, or the problems."""
    try:
        parsed = _model_for("apply", FORM).model_validate(fields)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_input=False, include_url=False)[:MAX_REPORTED_ERRORS]:
            name = str(error["loc"][0]) if error["loc"] else ""
            if error["type"] in PYDANTIC_CODES:
                code = PYDANTIC_CODES[error["type"]]
                detail = DETAILS[code]
            elif error["type"] in CODES:
                code, detail = error["type"], error["msg"]
            else:
                code, detail = "type", "has the wrong type"
            problems.append({"pointer": f"/fields/{_escape(name)}", "code": code, "detail": detail})
        return "refused", problems
    record = {}
    for index, field in enumerate(FORM.fields.values()):
        value = getattr(parsed, _attribute(index))
        if value is not None and field.type != "file":
            record[field.code] = value
    return "accepted", record


def through_the_checks(fields: dict[str, Any]) -> tuple[str, Any]:
    try:
        submission = parse_submission("apply", FORM, {"fields": fields})
    except ValidationFailed as exc:
        return "refused", exc.errors
    presets = set(FORM.presets)
    return "accepted", {k: v for k, v in submission.record.items() if k not in presets}


NAMES = [name for name in FORM.fields if name != FORM.honeypot]
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["東京", "大阪", "AI", "Web", "2025-01-31", "2025-01-31T09:00:00+09:00"]),
    st.sampled_from(["ABC-123", "a@example.com", "  山田  ", "\u0000", "1.5", "3"]),
    st.lists(st.sampled_from(["AI", "Web", "DB", "x"]), max_size=4),
    st.just([pdf()]),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
BODIES = st.dictionaries(
    st.one_of(st.sampled_from(NAMES), st.text(max_size=6)), VALUES, max_size=len(NAMES) + 2
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(BODIES)
def test_the_checks_answer_as_the_contract_model_does(fields):
    assert through_the_checks(fields) == through_the_model(fields)


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"name": "山田"},
        {"zzz": 1, "name": 5, "aaa": 2, "seats": "x"},
        {"name": " ", "seats": 9, "topics": ["AI", "AI"], "venue": "京都"},
        {f"extra{i}": i for i in range(MAX_REPORTED_ERRORS + 5)},
    ],
    ids=["empty", "valid", "mixed-order", "every-kind", "too-many"],
)
def test_the_checks_report_the_models_problems_in_its_order(fields):
    assert through_the_checks(fields) == through_the_model(fields)
