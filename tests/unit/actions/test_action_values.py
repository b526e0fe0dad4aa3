"""Values from someone else's event are checked against the declared kintone type."""

from __future__ import annotations

import pytest

from sekisho.actions.errors import PointerMissing, ValueInvalid
from sekisho.actions.mapping import map_event
from sekisho.kintone.values import ValueMismatch, wire_value
from sekisho.policy.validation import schema, validate

ACCEPTED = [
    ("SINGLE_LINE_TEXT", "山田 花子", "山田 花子"),
    ("SINGLE_LINE_TEXT", None, ""),
    ("MULTI_LINE_TEXT", "一行目\n二行目", "一行目\n二行目"),
    ("NUMBER", 12000, "12000"),
    ("NUMBER", -1.5, "-1.5"),
    ("NUMBER", 1e-7, "0.0000001"),
    ("NUMBER", "1200000", "1200000"),
    ("NUMBER", "", ""),
    ("DATE", "2026-12-03", "2026-12-03"),
    ("TIME", "09:30", "09:30"),
    ("DATETIME", 1764720000, "2025-12-03T00:00:00Z"),
    ("DATETIME", "2026-12-03T09:00:00+09:00", "2026-12-03T00:00:00Z"),
    ("CHECK_BOX", ["a", "b"], ["a", "b"]),
    ("CHECK_BOX", None, []),
    ("DROP_DOWN", "支払済", "支払済"),
]

REFUSED = [
    ("SINGLE_LINE_TEXT", 12000, "expected a string"),
    ("SINGLE_LINE_TEXT", "two\nlines", "one line"),
    ("SINGLE_LINE_TEXT", {"a": 1}, "expected a string"),
    ("MULTI_LINE_TEXT", "bell\x07", "control characters"),
    ("SINGLE_LINE_TEXT", "x" * 64_001, "at most 64000"),
    ("NUMBER", True, "expected a number"),
    ("NUMBER", "12,000", "expected a number"),
    ("NUMBER", "1e5", "expected a number"),
    ("NUMBER", float("nan"), "finite"),
    ("NUMBER", 10**40, "at most 30 digits"),
    ("DATE", "2026-02-30", "exists"),
    ("DATE", "03/12/2026", "YYYY-MM-DD"),
    ("TIME", "25:00", "HH:MM"),
    ("DATETIME", "2026-12-03 09:00", "RFC 3339"),
    ("DATETIME", -1, "between 1970 and 9999"),
    ("DATETIME", True, "RFC 3339"),
    ("CHECK_BOX", "a", "list of strings"),
    ("CHECK_BOX", ["a", 1], "expected a string"),
    ("FILE", "x", "cannot be written"),
]


@pytest.mark.parametrize(("field_type", "value", "wire"), ACCEPTED)
def test_a_value_that_fits_its_field_is_written_as_kintone_takes_it(field_type, value, wire):
    assert wire_value(field_type, value) == wire


@pytest.mark.parametrize(("field_type", "value", "expected"), REFUSED)
def test_a_value_that_does_not_fit_its_field_is_refused_without_quoting_it(
    field_type, value, expected
):
    with pytest.raises(ValueMismatch) as caught:
        wire_value(field_type, value)
    assert expected in str(caught.value)
    if isinstance(value, str) and len(value) > 3:
        assert value not in str(caught.value)


ACTION = validate(
    schema.ActionPolicy,
    {
        "events": ["checkout.session.completed"],
        "app": 2,
        "operation": "update",
        "token_secret": "edit",
        "read_secret": "view",
        "key": {"field": "受付ID", "from": "/data/object/metadata/receipt"},
        "receipt_field": "決済イベントID",
        "fields": {
            "支払状況": {"set": "支払済"},
            "決済額": {"from": "/data/object/amount_total"},
            "備考": {"from": "/data/object/items/1/name"},
            "経路": {"from": "/data/a~1b"},
        },
    },
)
TYPES = {
    "受付ID": "SINGLE_LINE_TEXT",
    "決済イベントID": "SINGLE_LINE_TEXT",
    "支払状況": "DROP_DOWN",
    "決済額": "NUMBER",
    "備考": "SINGLE_LINE_TEXT",
    "経路": "SINGLE_LINE_TEXT",
}


def event(**object_fields) -> dict:
    body = {
        "metadata": {"receipt": "R-1"},
        "amount_total": 12000,
        "items": [{"name": "a"}, {"name": "b"}],
    }
    body.update(object_fields)
    return {"id": "evt_1", "data": {"object": body, "a/b": "web"}}


def test_every_mapped_field_and_the_key_come_from_their_pointers():
    write = map_event(ACTION, TYPES, event())
    assert write.values == {"支払状況": "支払済", "決済額": "12000", "備考": "b", "経路": "web"}
    assert write.key == "R-1"


@pytest.mark.parametrize(
    ("document", "field"),
    [
        pytest.param(event(items=[{"name": "a"}]), "備考", id="index-past-the-end"),
        pytest.param(event(items="not a list"), "備考", id="into-a-string"),
        pytest.param(event(metadata={}), "受付ID", id="key-absent"),
        pytest.param({"data": None}, "決済額", id="into-null"),
        pytest.param([1, 2], "決済額", id="a-list-event"),
    ],
)
def test_a_pointer_the_event_does_not_have_is_refused_naming_the_field(document, field):
    with pytest.raises(PointerMissing) as caught:
        map_event(ACTION, TYPES, document)
    assert caught.value.field == field
    assert caught.value.reason == "pointer_missing"


def test_a_value_of_the_wrong_type_is_refused_naming_the_field():
    with pytest.raises(ValueInvalid) as caught:
        map_event(ACTION, TYPES, event(amount_total="twelve thousand"))
    assert (caught.value.field, caught.value.reason) == ("決済額", "value_invalid")
    assert "twelve" not in str(caught.value)


def test_an_empty_key_is_refused_rather_than_matching_every_empty_record():
    with pytest.raises(ValueInvalid) as caught:
        map_event(ACTION, TYPES, event(metadata={"receipt": ""}))
    assert caught.value.field == "受付ID"
