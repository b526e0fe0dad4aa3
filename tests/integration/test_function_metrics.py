"""LookupFunction's metrics end to end: the events/ files against moto and the emulator,
the EMF lines read back from what the handler printed."""

from __future__ import annotations

import json

import pytest

from tests.integration.test_lookup_function import EVENTS, handler, invoke
from tests.metrics_support import DIMENSION_VALUES, dimensions, emitted

__all__ = ["handler"]  # the lookup function's own fixture, reused as it is
pytestmark = pytest.mark.emulator


def test_a_lookup_counts_one_ok_request_and_its_kintone_call_under_its_view(handler, capsys):
    capsys.readouterr()
    assert invoke(handler, "lookup_valid.json")[0] == 200
    lines = capsys.readouterr().out
    assert dimensions(lines, "Requests") == [{"route": "view:deal-status", "outcome": "ok"}]
    assert dimensions(lines, "KintoneLatency") == [{"route": "view:deal-status"}]
    assert dimensions(lines, "Refusals") == []


@pytest.mark.parametrize(
    ("event", "code"),
    [
        ("lookup_missing_predicate.json", "validation_failed"),
        ("lookup_extra_predicate.json", "validation_failed"),
        ("lookup_wrong_deal.json", "not_found"),
    ],
)
def test_a_refused_lookup_counts_as_refused_and_as_a_refusal_by_its_code(
    handler, capsys, event, code
):
    capsys.readouterr()
    invoke(handler, event)
    lines = capsys.readouterr().out
    assert dimensions(lines, "Requests") == [{"route": "view:deal-status", "outcome": "refused"}]
    assert dimensions(lines, "Refusals") == [{"route": "view:deal-status", "outcome": code}]


@pytest.mark.parametrize(
    "event",
    [
        "lookup_valid.json",
        "lookup_wrong_deal.json",
        "lookup_injection.json",
        "lookup_missing_predicate.json",
        "lookup_preflight.json",
    ],
)
def test_no_dimension_of_a_lookup_carries_its_ip_or_its_values(handler, capsys, event):
    sent = json.loads((EVENTS / event).read_text(encoding="utf-8"))
    values = json.loads(sent["body"] or "{}").get("match", {}).values()
    private = {sent["requestContext"]["identity"]["sourceIp"], *map(str, values)}
    capsys.readouterr()
    invoke(handler, event)
    found = emitted(capsys.readouterr().out)
    assert found
    for metric in found:
        for key, value in metric.dimensions.items():
            assert DIMENSION_VALUES[key].match(value), (metric.name, key, value)
            assert value not in private
