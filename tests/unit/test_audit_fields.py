"""Every audit line carries route, caller, outcome and record_ids, named as the metrics
name routes, so one saved query finds every read and write of a record."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest

from sekisho import audit as audit_module
from sekisho.audit import CALLERS, FIELDS, audit

LAYER = Path(audit_module.__file__).resolve().parent


def audit_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "audit", False)]


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (
            {
                "route": "view:deal-status",
                "caller": "anonymous",
                "outcome": "found",
                "record_ids": [7],
            },
            {
                "route": "view:deal-status",
                "caller": "anonymous",
                "outcome": "found",
                "record_ids": ["7"],
            },
        ),
        (
            {
                "route": "form:seminar-apply",
                "caller": "partner",
                "outcome": "recorded",
                "partner": "demo-erp",
            },
            {
                "route": "form:seminar-apply",
                "caller": "partner",
                "record_ids": [],
                "partner": "demo-erp",
            },
        ),
        (
            {"route": "webhook:demo-stripe", "caller": "webhook", "outcome": "queued"},
            {"route": "webhook:demo-stripe", "caller": "webhook", "record_ids": []},
        ),
        (
            {
                "route": "view:my-applications",
                "caller": "visitor",
                "outcome": "listed",
                "record_ids": ("1", "2"),
                "realm": "applicants",
            },
            {"caller": "visitor", "record_ids": ["1", "2"], "realm": "applicants"},
        ),
    ],
)
def test_an_audit_line_carries_the_four_fields_with_record_ids_as_strings(caplog, call, expected):
    caplog.set_level(logging.INFO, logger="sekisho.audit")
    audit("lookup", **call)
    [line] = audit_lines(caplog)
    for name in FIELDS:
        assert hasattr(line, name), name
    for name, value in expected.items():
        assert getattr(line, name) == value, name


def test_an_extra_field_cannot_overwrite_the_four(caplog):
    caplog.set_level(logging.INFO, logger="sekisho.audit")
    # A caller's stray keyword named like a field must not change what the line says.
    audit("lookup", route="view:a", caller="anonymous", outcome="found", audit="no")
    [line] = audit_lines(caplog)
    assert (line.audit, line.route, line.caller) == (True, "view:a", "anonymous")


def audit_calls() -> list[tuple[str, ast.Call]]:
    calls = []
    for path in sorted(LAYER.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "audit"
            ):
                calls.append((f"{path.relative_to(LAYER)}:{node.lineno}", node))
    return calls


CALLS = audit_calls()


def test_the_layer_audits_from_every_route():
    files = {where.split(":")[0] for where, _ in CALLS}
    assert len(CALLS) >= 17
    assert {"lookup.py", "intake/service.py", "webhooks/service.py", "actions/service.py"} <= files
    assert {
        "sessions/listing.py",
        "sessions/entries.py",
        "partners/gate.py",
        "intake/delivery.py",
    } <= files


@pytest.mark.parametrize("call", [c for _, c in CALLS], ids=[where for where, _ in CALLS])
def test_every_audit_call_names_route_caller_and_outcome(call):
    keywords = {k.arg: k.value for k in call.keywords if k.arg is not None}
    assert {"route", "caller", "outcome"} <= set(keywords)
    caller = keywords["caller"]
    if isinstance(caller, ast.Constant):
        assert caller.value in CALLERS
    else:  # a choice between two callers, e.g. "partner" if request.partner else "anonymous"
        assert isinstance(caller, ast.IfExp)
        assert {caller.body.value, caller.orelse.value} <= set(CALLERS)  # type: ignore[attr-defined]
