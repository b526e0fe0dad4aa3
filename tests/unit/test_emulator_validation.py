"""Record checks for the field types the demo seed does not use."""

from __future__ import annotations

from typing import Any

import pytest

from kintone_emulator.schema import AppDef, parse_seed
from kintone_emulator.validation import check_record


@pytest.fixture(scope="module")
def app() -> AppDef:
    seed = parse_seed(
        {
            "apps": [
                {
                    "id": 1,
                    "name": "kinds",
                    "fields": {
                        "日付": {"type": "DATE"},
                        "日時": {"type": "DATETIME"},
                        "複数": {"type": "CHECK_BOX", "options": ["赤", "青"]},
                        "単一": {"type": "RADIO_BUTTON", "options": ["はい", "いいえ"]},
                        "本文": {"type": "MULTI_LINE_TEXT", "required": True},
                        "数": {"type": "NUMBER"},
                    },
                }
            ]
        }
    )
    return seed.apps[1]


def entry(**values: Any) -> dict[str, Any]:
    return {code: {"value": value} for code, value in {"本文": "x", **values}.items()}


ACCEPTED = [
    pytest.param({"日付": "2026-02-28"}, {"日付": "2026-02-28"}, id="date"),
    pytest.param({"日付": ""}, {"日付": ""}, id="empty_date"),
    pytest.param({"日時": "2026-02-28T09:30:45+09:00"}, {"日時": "2026-02-28T00:30:45Z"},
                 id="datetime_with_offset_kept_to_the_second_in_utc"),
    pytest.param({"日時": "2026-12-06T10:15:30Z"}, {"日時": "2026-12-06T10:15:30Z"},
                 id="datetime_seconds_kept"),
    pytest.param({"日時": "2026-12-06T10:15:30.999+00:00"}, {"日時": "2026-12-06T10:15:30Z"},
                 id="datetime_fraction_of_a_second_dropped"),
    pytest.param({"日時": "2026-12-06T10:15:30"}, {"日時": "2026-12-06T10:15:30Z"},
                 id="datetime_without_an_offset_is_utc"),
    pytest.param({"日時": "2026-02-28T09:30Z"}, {"日時": "2026-02-28T09:30:00Z"},
                 id="datetime_without_seconds"),
    pytest.param({"複数": ["青", "赤", "青"]}, {"複数": ["青", "赤"]}, id="checkbox_deduplicated"),
    pytest.param({"複数": None}, {"複数": []}, id="checkbox_null_is_empty"),
    pytest.param({"単一": "いいえ"}, {"単一": "いいえ"}, id="radio_option"),
    pytest.param({"数": -12.5}, {"数": "-12.5"}, id="number_given_as_json_number"),
    pytest.param({"本文": 42}, {"本文": "42"}, id="text_given_as_json_number"),
]  # fmt: skip


@pytest.mark.parametrize(("given", "stored"), ACCEPTED)
def test_valid_values_are_stored_in_kintone_shape(
    app: AppDef, given: dict[str, Any], stored: dict[str, Any]
) -> None:
    checked = check_record(app, entry(**given), partial=False)

    assert checked.errors == {}
    assert {code: checked.values[code] for code in stored} == stored


REFUSED = [
    pytest.param({"日付": "2026-02-30"}, "record.日付.value", id="impossible_date"),
    pytest.param({"日付": "2026/02/28"}, "record.日付.value", id="date_with_slashes"),
    pytest.param({"日時": "2026-02-28 09:30"}, "record.日時.value", id="datetime_without_t"),
    pytest.param({"複数": "赤"}, "record.複数.value", id="checkbox_not_a_list"),
    pytest.param({"複数": ["緑"]}, "record.複数.value", id="checkbox_option_unknown"),
    pytest.param({"単一": "たぶん"}, "record.単一.value", id="radio_option_unknown"),
    pytest.param({"本文": {"x": 1}}, "record.本文.value", id="text_given_as_object"),
    pytest.param({"本文": ""}, "record.本文.value", id="required_text_empty"),
    pytest.param({"数": "1e3"}, "record[数].value", id="number_in_exponent_form"),
]


@pytest.mark.parametrize(("given", "path"), REFUSED)
def test_invalid_values_are_reported_on_their_path(
    app: AppDef, given: dict[str, Any], path: str
) -> None:
    checked = check_record(app, entry(**given), partial=False)

    assert list(checked.errors) == [path]


def test_an_update_checks_only_the_fields_it_sets(app: AppDef) -> None:
    checked = check_record(app, {"数": {"value": "3"}}, partial=True)

    assert (checked.errors, checked.values) == ({}, {"数": "3"})


def test_unknown_and_system_fields_are_ignored(app: AppDef) -> None:
    raw = {**entry(), "無い": {"value": "x"}, "$id": {"value": "9"}, "作成日時": {"value": "x"}}

    checked = check_record(app, raw, partial=True)

    assert (checked.errors, checked.values) == ({}, {"本文": "x"})
