"""The emulator's kintone query engine: grammar, escapes, type rules, word search, paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kintone_emulator.errors import KintoneApiError
from kintone_emulator.query import Condition, Literal, Selection, parse, select
from kintone_emulator.schema import FieldDef, system_fields

# A Saturday: THIS_WEEK() is Sunday 2026-11-15 to Saturday 2026-11-21.
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

OPTIONS: dict[str, tuple[str, ...]] = {
    "区分": ("A", "B", "C"),
    "評価": ("良", "可"),
    "タグ": ("x", "y", "z"),
}
FIELDS: dict[str, FieldDef] = {
    **system_fields(),
    **{
        code: FieldDef(code=code, type=ftype, options=OPTIONS.get(code, ()))
        for code, ftype in {
            "文字列": "SINGLE_LINE_TEXT",
            "複数行": "MULTI_LINE_TEXT",
            "金額": "NUMBER",
            "日付": "DATE",
            "日時": "DATETIME",
            "区分": "DROP_DOWN",
            "評価": "RADIO_BUTTON",
            "タグ": "CHECK_BOX",
            "URL": "LINK",
            "添付": "FILE",
            "担当ID": "SINGLE_LINE_TEXT",
        }.items()
    },
}
EMPTY_VALUES: dict[str, Any] = {
    "文字列": "",
    "複数行": "",
    "金額": "",
    "日付": "",
    "日時": "",
    "区分": "",
    "評価": "良",
    "タグ": [],
    "URL": "",
    "添付": [],
    "担当ID": "",
}


def attachment(name: str) -> dict[str, str]:
    return {"fileKey": f"key-{name}", "name": name, "contentType": "text/plain", "size": "1"}


def make_record(rid: int, values: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {
        "$id": {"type": "__ID__", "value": str(rid)},
        "$revision": {"type": "__REVISION__", "value": "1"},
        "レコード番号": {"type": "RECORD_NUMBER", "value": str(rid)},
        "作成日時": {"type": "CREATED_TIME", "value": f"2026-11-{10 + rid:02d}T03:00:00Z"},
        "更新日時": {"type": "UPDATED_TIME", "value": "2026-11-21T03:00:00Z"},
    }
    for code, value in {**EMPTY_VALUES, **values}.items():
        record[code] = {"type": FIELDS[code].type, "value": value}
    return record


# 作成日時 is 2026-11-(10 + id); every other field as below.
RECORDS = [
    make_record(
        1,
        {
            "文字列": "A1",
            "複数行": "the key here",
            "金額": "100",
            "日付": "2026-11-21",
            "日時": "2026-11-21T03:00:00Z",
            "区分": "A",
            "タグ": ["x", "y"],
            "URL": "https://example.com/a",
            "添付": [attachment("report 2026.pdf")],
            "担当ID": "u-001",
        },
    ),
    make_record(
        2,
        {
            "文字列": "A1 ",
            "複数行": "keyword only",
            "金額": "25.5",
            "日付": "2026-11-20",
            "日時": "2026-11-20T23:59:59Z",
            "区分": "B",
            "評価": "可",
            "タグ": ["y"],
            "担当ID": "u-002",
        },
    ),
    make_record(
        3,
        {
            "文字列": "a1",
            "複数行": "東京都港区の本社",
            "金額": "-3",
            "日付": "2026-12-01",
            "日時": "2026-11-22T00:00:00Z",
            "添付": [attachment("見積書.xlsx")],
            "担当ID": "u-003",
        },
    ),
    make_record(4, {"文字列": "A10", "区分": "C", "評価": "可", "タグ": ["z"]}),
    make_record(
        5,
        {
            "文字列": "TODAY()",
            "複数行": 'He said "hi"',
            "金額": "1000",
            "日付": "2025-01-31",
            "日時": "2026-10-31T12:00:00Z",
            "区分": "A",
            "担当ID": "u-005",
        },
    ),
    make_record(
        6,
        {
            "文字列": "C:\\",
            "金額": "7",
            "日付": "2026-11-15",
            "日時": "2026-11-16T00:00:00Z",
            "区分": "B",
            "評価": "可",
            "タグ": ["x"],
            "担当ID": "u-006",
        },
    ),
]
ALL = {1, 2, 3, 4, 5, 6}


def ids(query: str, records: list[dict[str, Any]] | None = None, **kwargs: Any) -> list[int]:
    kwargs.setdefault("now", NOW)
    selection = select(query, FIELDS, RECORDS if records is None else records, **kwargs)
    return [int(r["$id"]["value"]) for r in selection.records]


def matching(query: str, **kwargs: Any) -> set[int]:
    return set(ids(query, **kwargs))


def error_code(query: str, **kwargs: Any) -> str:
    with pytest.raises(KintoneApiError) as caught:
        select(query, FIELDS, RECORDS, now=NOW, **kwargs)
    return caught.value.code


def quote(value: str) -> str:
    """The relay's escaping: backslash first, then the double quote."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --------------------------------------------------------------------------- whole queries


@pytest.mark.parametrize("query", ["", "   ", " \t\n "])
def test_empty_query_matches_every_record_newest_first(query: str) -> None:
    assert ids(query) == [6, 5, 4, 3, 2, 1]


def test_without_order_by_records_come_by_id_descending_numerically() -> None:
    records = [make_record(rid, {}) for rid in (2, 10, 9)]
    assert ids("", records) == [10, 9, 2]


def test_and_binds_tighter_than_or() -> None:
    loose = '区分 in ("A") or 区分 in ("B") and 金額 < 50'
    grouped = '(区分 in ("A") or 区分 in ("B")) and 金額 < 50'
    assert matching(loose) == {1, 2, 5, 6}
    assert matching(grouped) == {2, 6}


def test_keywords_are_case_insensitive() -> None:
    query = '区分 IN ("A") And 金額 > 500 OR 金額 Is Empty ORDER BY $id ASC LIMIT 5 OFFSET 0'
    assert ids(query) == [4, 5]


def test_parentheses_nest_deeply() -> None:
    assert matching("(" * 60 + '文字列 = "A1"' + ")" * 60) == {1}


def test_absurd_nesting_is_a_syntax_error_not_a_crash() -> None:
    assert error_code("(" * 5000 + '文字列 = "A1"' + ")" * 5000) == "CB_VA01"


def test_operators_need_no_surrounding_spaces() -> None:
    assert matching("金額>100") == {5}
    assert matching('文字列="A1"and $id=1') == {1}


def test_a_query_with_only_clauses_matches_everything() -> None:
    assert ids("order by $id asc limit 2") == [1, 2]
    assert ids("limit 1") == [6]
    assert ids("offset 4") == [2, 1]


# --------------------------------------------------------------------------- literals


@pytest.mark.parametrize(
    ("literal", "text"),
    [
        (r'"plain"', "plain"),
        (r'"say \"hi\""', 'say "hi"'),
        (r'"C:\\"', "C:\\"),
        (r'"a\\\"b"', 'a\\"b'),
        (r'"tab\there"', "tab\there"),
        (r'"line\nbreak"', "line\nbreak"),
        (r'"\q\r\'"', "qr'"),
        ('"全角　スペース"', "全角　スペース"),
        ('""', ""),
    ],
)
def test_escapes_inside_literals_are_expanded(literal: str, text: str) -> None:
    condition = parse(f"文字列 = {literal}").where
    assert isinstance(condition, Condition)
    assert condition.values == (Literal(text),)


def test_escaped_backslash_before_closing_quote_is_one_backslash() -> None:
    assert matching(r'文字列 = "C:\\"') == {6}


def test_backslash_escaping_only_the_quote_leaves_the_literal_open() -> None:
    # The classic builder bug: `C:\` escaped for quotes only eats its closing quote.
    assert error_code(r'文字列 = "C:\"') == "CB_VA01"
    assert error_code(r'文字列 = "C:\" or $id > "0"') == "CB_VA01"


def test_string_literal_that_looks_like_a_function_is_text() -> None:
    assert matching('文字列 = "TODAY()"') == {5}
    assert matching("日付 = TODAY()") == {1}
    assert error_code('日付 = "TODAY()"') == "GAIA_IQ03"


@pytest.mark.parametrize(
    "hostile",
    [
        pytest.param('x" or 文字列 != "', id="quote then condition"),
        pytest.param('\\" or $id > 0 or "', id="backslash quote then condition"),
        pytest.param('") or ($id > "0', id="closing parenthesis"),
        pytest.param("C:\\", id="trailing backslash"),
        pytest.param("\\\\", id="two backslashes"),
        pytest.param('"', id="lone quote"),
        pytest.param("\\n", id="backslash n is not a newline"),
        pytest.param("TODAY()", id="function lookalike"),
        pytest.param('" order by $id asc limit 500 offset "', id="clause injection"),
        pytest.param("u-001 ", id="trailing space"),
        pytest.param("U-001", id="other case"),
    ],
)
def test_a_properly_escaped_hostile_value_matches_only_itself(hostile: str) -> None:
    records = [make_record(100, {"担当ID": hostile}), *RECORDS]
    assert ids(f"担当ID = {quote(hostile)}", records) == [100]
    assert ids(f"担当ID in ({quote(hostile)}, {quote('nobody')})", records) == [100]


def test_an_unescaped_value_can_rewrite_the_query() -> None:
    # What escaping prevents: the value closes its literal and adds a condition.
    assert matching('文字列 = "x" or 文字列 != ""') == ALL


@pytest.mark.parametrize(
    "query",
    [
        pytest.param('文字列 = "a\nb"', id="raw newline inside literal"),
        pytest.param('文字列 = "a\tb"', id="raw tab inside literal"),
        pytest.param('文字列 = "a\rb"', id="raw carriage return inside literal"),
        pytest.param('文字列 = "a\x00b"', id="raw NUL inside literal"),
        pytest.param('文字列 = "a\x1bb"', id="raw escape char inside literal"),
        pytest.param('文字列 = "a\\\nb"', id="backslash before a raw newline"),
        pytest.param('文字列 = "abc', id="unterminated literal"),
        pytest.param('文字列 = "abc\\', id="lone trailing backslash"),
        pytest.param("文字列 = 'abc'", id="single quotes"),
        pytest.param("文字列 = abc", id="bare word as value"),
        pytest.param('文字列 == "a"', id="double equals"),
        pytest.param('文字列 <> "a"', id="sql not equal"),
        pytest.param('文字列 ! "a"', id="lone bang"),
        pytest.param("文字列 =", id="missing value"),
        pytest.param('= "a"', id="missing field"),
        pytest.param('"文字列" = "A1"', id="quoted field code"),
        pytest.param('文字列 "a"', id="missing operator"),
        pytest.param("区分 in ()", id="empty in list"),
        pytest.param('区分 in "A"', id="in without parentheses"),
        pytest.param('区分 in ("A",)', id="trailing comma in list"),
        pytest.param('区分 not ("A")', id="not without in"),
        pytest.param("文字列 is", id="is without empty"),
        pytest.param("文字列 is not nothing", id="is not without empty"),
        pytest.param('文字列 = "a" and', id="dangling and"),
        pytest.param('文字列 = "a" 金額 = 1', id="missing and"),
        pytest.param('(文字列 = "a"', id="unclosed parenthesis"),
        pytest.param('文字列 = "a")', id="stray closing parenthesis"),
        pytest.param('not (文字列 = "a")', id="prefix not"),
        pytest.param("()", id="empty parentheses"),
        pytest.param("日付 = TODAY(", id="unclosed function"),
        pytest.param("日付 = TODAY(1)", id="argument to TODAY"),
        pytest.param("日付 = FROM_TODAY(1)", id="FROM_TODAY without unit"),
        pytest.param("日付 = FROM_TODAY(1, FORTNIGHTS)", id="FROM_TODAY unknown unit"),
        pytest.param("日付 = THIS_WEEK(FUNDAY)", id="unknown weekday"),
        pytest.param("日付 = THIS_MONTH(32)", id="day of month out of range"),
        pytest.param("日付 = NOPE()", id="unknown function"),
        pytest.param("order by", id="order by without field"),
        pytest.param("order $id asc", id="order without by"),
        pytest.param("order by $id sideways", id="bad direction"),
        pytest.param("limit", id="limit without number"),
        pytest.param("limit -1", id="negative limit"),
        pytest.param("limit 1.5", id="fractional limit"),
        pytest.param("offset 1 limit 2", id="offset before limit"),
        pytest.param("limit 1 limit 2", id="repeated limit"),
        pytest.param('limit 5 文字列 = "a"', id="condition after clause"),
    ],
)
def test_malformed_queries_are_syntax_errors(query: str) -> None:
    assert error_code(query) == "CB_VA01"


def test_raw_newline_inside_literal_is_a_syntax_error() -> None:
    with pytest.raises(KintoneApiError) as caught:
        select('文字列 = "A\n1"', FIELDS, RECORDS)
    assert caught.value.status == 400
    assert caught.value.code == "CB_VA01"
    assert caught.value.errors == {"query": {"messages": ["Query syntax is incorrect."]}}


def test_escaped_newline_is_allowed_and_means_a_newline() -> None:
    records = [make_record(1, {"文字列": "A\n1"}), make_record(2, {"文字列": "A\\n1"})]
    assert ids(r'文字列 = "A\n1"', records) == [1]
    assert ids(r'文字列 = "A\\n1"', records) == [2]


# --------------------------------------------------------------------------- text equality


def test_equality_on_text_is_exact_code_point_comparison() -> None:
    assert matching('文字列 = "A1"') == {1}  # not "A1 ", "a1" or "A10"
    assert matching('文字列 = "Ａ１"') == set()


def test_fold_mode_compares_nfkc_casefolded_right_stripped_text() -> None:
    assert matching('文字列 = "A1"', fold=True) == {1, 2, 3}
    assert matching('文字列 = "Ａ１"', fold=True) == {1, 2, 3}
    assert matching('文字列 != "a1"', fold=True) == {4, 5, 6}
    assert matching('区分 in ("a")', fold=True) == {1, 5}
    # Without folding "a" is no option of 区分: kintone refuses it.
    assert error_code('区分 in ("a")') == "GAIA_IQ10"


def test_not_equal_and_not_in_match_empty_values() -> None:
    assert matching('URL != "https://example.com/a"') == ALL - {1}
    assert matching('文字列 not in ("A1", "A10")') == {2, 3, 5, 6}
    assert matching('URL = ""') == ALL - {1}


def test_text_in_matches_any_listed_value() -> None:
    assert matching('文字列 in ("A1", "A10", "nope")') == {1, 4}


def test_unquoted_number_against_text_compares_as_text() -> None:
    records = [make_record(1, {"担当ID": "100"}), make_record(2, {"担当ID": "100.0"})]
    assert ids("担当ID = 100", records) == [1]


# --------------------------------------------------------------------------- like


def test_like_is_a_word_search_not_a_substring_match() -> None:
    assert matching('複数行 like "key"') == {1}  # not "keyword only"
    assert matching('複数行 like "keyword"') == {2}
    assert matching('複数行 like "ke"') == set()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('複数行 like "KEY here"', {1}),
        ('複数行 like "here key"', set()),
        ('複数行 like "the  key, here!"', {1}),
        ('複数行 like "\\"hi\\""', {5}),
        ('複数行 like "港区"', {3}),
        ('複数行 like "本社"', {3}),
        ('複数行 like "大阪"', set()),
        ('複数行 not like "key"', ALL - {1}),
        ('文字列 like "a1"', {1, 2, 3}),
        ("文字列 like 10", set()),
        ('URL like "example"', {1}),
        ('添付 like "report"', {1}),
        ('添付 like "PDF"', {1}),
        ('添付 like "見積"', {3}),
        ('添付 not like "report"', ALL - {1}),
    ],
)
def test_like_matches_whole_words_in_order_and_japanese_inside_words(
    query: str, expected: set[int]
) -> None:
    assert matching(query) == expected


def test_like_with_an_empty_literal_matches_everything() -> None:
    assert matching('複数行 like ""') == ALL
    assert matching('複数行 not like ""') == set()


# --------------------------------------------------------------------------- emptiness


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("複数行 is empty", {4, 6}),
        ("複数行 is not empty", {1, 2, 3, 5}),
        ("金額 is empty", {4}),
        ("日付 is empty", {4}),
        ("日時 is not empty", ALL - {4}),
        ("添付 is empty", {2, 4, 5, 6}),
        ("URL IS NOT EMPTY", {1}),
    ],
)
def test_is_empty_finds_empty_strings_and_lists(query: str, expected: set[int]) -> None:
    assert matching(query) == expected


def test_a_missing_field_counts_as_empty() -> None:
    record = make_record(1, {})
    del record["複数行"]
    assert ids("複数行 is empty", [record]) == [1]
    assert ids('複数行 like "x"', [record]) == []


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("金額 > 100", {5}),
        ("金額 >= 100", {1, 5}),
        ("金額 < 0", {3}),
        ("金額 <= 7", {3, 6}),
        ("金額 = 100.00", {1}),
        ('金額 = "25.50"', {2}),
        ("金額 = -3", {3}),
        ("金額 != 100", ALL - {1}),
        ('金額 in (7, "1000")', {5, 6}),
        ("金額 not in (7)", ALL - {6}),
        ("$id = 3", {3}),
        ('$id >= "5"', {5, 6}),
        ("レコード番号 in (1, 2)", {1, 2}),
        ("$revision = 1", ALL),
    ],
)
def test_number_fields_compare_numerically(query: str, expected: set[int]) -> None:
    assert matching(query) == expected


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("日付 = TODAY()", {1}),
        ("日付 = YESTERDAY()", {2}),
        ("日付 = TOMORROW()", set()),
        ("日付 > TODAY()", {3}),
        ("日付 < TODAY()", {2, 5, 6}),
        ("日付 <= TODAY()", {1, 2, 5, 6}),
        ("日付 != TODAY()", {2, 3, 4, 5, 6}),
        ('日付 = "2026-11-20"', {2}),
        ('日付 >= "2026-11-20"', {1, 2, 3}),
        ("日付 = FROM_TODAY(10, DAYS)", {3}),
        ("日付 = FROM_TODAY(-1, WEEKS)", set()),
        ("日付 = NOW()", {1}),
        ("日付 = THIS_WEEK()", {1, 2, 6}),
        ("日付 = THIS_WEEK(SUNDAY)", {6}),
        ("日付 = LAST_WEEK()", set()),
        ("日付 = THIS_MONTH()", {1, 2, 6}),
        ("日付 = NEXT_MONTH(1)", {3}),
        ("日付 > THIS_MONTH()", {3}),
        ("日付 = THIS_YEAR()", {1, 2, 3, 6}),
        ("日付 = LAST_YEAR()", {5}),
        ('日付 = "2026-11-21T23:00:00-05:00"', {1}),
        ("日時 = TODAY()", {1}),
        ('日時 = "2026-11-21"', {1}),
        ('日時 < "2026-11-21"', {2, 5, 6}),
        ('日時 >= "2026-11-21"', {1, 3}),
        ('日時 = "2026-11-21T03:00:00Z"', {1}),
        ('日時 = "2026-11-21T12:00:00+09:00"', {1}),
        ('日時 > "2026-11-21T03:00:00Z"', {3}),
        ("日時 > NOW()", {3}),
        ("日時 < NOW()", {1, 2, 5, 6}),
        ("日時 = LAST_MONTH(LAST)", {5}),
        ("日時 != TODAY()", ALL - {1}),
        ("作成日時 = THIS_WEEK()", {5, 6}),
        ('更新日時 = "2026-11-21"', ALL),
        ("更新日時 < YESTERDAY()", set()),
    ],
)
def test_date_fields_compare_by_the_span_a_value_denotes(query: str, expected: set[int]) -> None:
    assert matching(query) == expected


def test_date_functions_use_the_time_zone_of_now() -> None:
    tokyo_noon = datetime(2026, 11, 21, 12, 0, tzinfo=timezone(timedelta(hours=9)))
    # In Tokyo, 2026-11-20T23:59:59Z is already the 21st and 2026-11-22T00:00:00Z the 22nd.
    assert matching("日時 = TODAY()", now=tokyo_noon) == {1, 2}
    assert matching("日時 = TOMORROW()", now=tokyo_noon) == {3}


def test_month_arithmetic_keeps_the_end_of_the_month() -> None:
    assert matching("日付 = FROM_TODAY(1, MONTHS)", now=datetime(2024, 12, 31, tzinfo=UTC)) == {5}
    assert matching("日付 = FROM_TODAY(-1, YEARS)", now=datetime(2026, 1, 31, tzinfo=UTC)) == {5}
    assert matching("日付 = THIS_MONTH(31)", now=datetime(2025, 1, 5, tzinfo=UTC)) == {5}


def test_dates_far_outside_the_calendar_are_errors_not_crashes() -> None:
    assert error_code("日付 = FROM_TODAY(999999999, YEARS)") == "CB_VA01"
    assert matching("日付 < FROM_TODAY(999999999, DAYS)") == ALL - {4}
    assert matching('日時 < "9999-12-31T23:59:59Z"') == ALL - {4}
    assert matching('日時 > "0001-01-01T00:00:00+01:00"') == ALL - {4}


# --------------------------------------------------------------------------- choices


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('区分 in ("A", "B")', {1, 2, 5, 6}),
        ('区分 in ("")', {3}),
        ('区分 not in ("A")', {2, 3, 4, 6}),
        ('評価 in ("良")', {1, 3, 5}),
        ('タグ in ("y")', {1, 2}),
        ('タグ in ("x", "z")', {1, 4, 6}),
        ('タグ not in ("y")', {3, 4, 5, 6}),
        ('タグ in ("")', {3, 5}),
    ],
)
def test_choice_fields_match_with_in(query: str, expected: set[int]) -> None:
    assert matching(query) == expected


@pytest.mark.parametrize(
    "query",
    [
        pytest.param('区分 in ("D")', id="drop-down in"),
        pytest.param('区分 not in ("A", "D")', id="drop-down not in, one known value"),
        pytest.param('区分 in ("A ")', id="drop-down option with a trailing space"),
        pytest.param('評価 in ("優")', id="radio button in"),
        pytest.param('タグ in ("x", "w")', id="check box in"),
        pytest.param('タグ not in ("w")', id="check box not in"),
    ],
)
def test_an_in_value_that_is_not_an_option_of_a_choice_field_is_gaia_iq10(query: str) -> None:
    assert error_code(query) == "GAIA_IQ10"


def test_the_unknown_option_error_names_the_field_and_the_value_before_any_record() -> None:
    with pytest.raises(KintoneApiError) as caught:
        select('区分 in ("A", "保留")', FIELDS, [], now=NOW)

    assert (caught.value.status, caught.value.code) == (400, "GAIA_IQ10")
    assert "区分" in caught.value.message
    assert "保留" in caught.value.message


def test_drop_down_with_equals_is_gaia_iq03() -> None:
    with pytest.raises(KintoneApiError) as caught:
        select('区分 = "A"', FIELDS, RECORDS)
    assert (caught.value.status, caught.value.code) == (400, "GAIA_IQ03")
    assert "区分" in caught.value.message


# --------------------------------------------------------------------------- type rules


@pytest.mark.parametrize(
    "query",
    [
        pytest.param('文字列 < "b"', id="text less than"),
        pytest.param('URL >= "b"', id="link greater or equal"),
        pytest.param('複数行 = "x"', id="multi-line equals"),
        pytest.param('複数行 in ("x")', id="multi-line in"),
        pytest.param("文字列 is empty", id="text is empty"),
        pytest.param("担当ID is not empty", id="text is not empty"),
        pytest.param('区分 = "A"', id="drop-down equals"),
        pytest.param('区分 != "A"', id="drop-down not equals"),
        pytest.param('区分 like "A"', id="drop-down like"),
        pytest.param("区分 is empty", id="drop-down is empty"),
        pytest.param('評価 = "良"', id="radio equals"),
        pytest.param('タグ = "x"', id="check box equals"),
        pytest.param('金額 like "1"', id="number like"),
        pytest.param('金額 = "abc"', id="non-numeric literal on number"),
        pytest.param('金額 = "NaN"', id="NaN on number"),
        pytest.param('金額 = "１"', id="full-width digit on number"),
        pytest.param('金額 in (1, "x")', id="non-numeric literal in list"),
        pytest.param("$id is empty", id="id is empty"),
        pytest.param('レコード番号 like "1"', id="record number like"),
        pytest.param("作成日時 is empty", id="created time is empty"),
        pytest.param('日付 in ("2026-11-21")', id="date in"),
        pytest.param('日付 like "2026"', id="date like"),
        pytest.param('日付 = "2026-13-01"', id="impossible date"),
        pytest.param('日付 = "yesterday"', id="word on date"),
        pytest.param('日時 = ""', id="empty literal on datetime"),
        pytest.param('添付 = "x"', id="file equals"),
        pytest.param('添付 in ("x")', id="file in"),
        pytest.param("文字列 = TODAY()", id="function on text"),
        pytest.param("文字列 in (NOW())", id="function in text list"),
        pytest.param("金額 > NOW()", id="function on number"),
        pytest.param("日付 = LOGINUSER()", id="login user on date"),
        pytest.param("担当ID = LOGINUSER()", id="login user on text"),
        pytest.param("order by タグ asc", id="order by check box"),
        pytest.param("order by 複数行 asc", id="order by multi-line text"),
    ],
)
def test_operator_or_value_not_allowed_for_the_field_type_is_gaia_iq03(query: str) -> None:
    assert error_code(query) == "GAIA_IQ03"


@pytest.mark.parametrize(
    "query",
    [
        '存在しない = "x"',
        '$ID = "1"',
        "order by 存在しない desc",
        '文字列 = "A1" or 無い is empty',
    ],
)
def test_unknown_field_is_gaia_iq11(query: str) -> None:
    assert error_code(query) == "GAIA_IQ11"


def test_unknown_field_message_names_the_field() -> None:
    with pytest.raises(KintoneApiError) as caught:
        select('無い = "x"', FIELDS, RECORDS)
    assert caught.value.message == "Specified field (無い) not found."


def test_errors_do_not_depend_on_there_being_records() -> None:
    with pytest.raises(KintoneApiError):
        select('区分 = "A"', FIELDS, [])
    with pytest.raises(KintoneApiError):
        select("order by 無い asc", FIELDS, [])


# --------------------------------------------------------------------------- order, paging


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("order by 金額 asc", [4, 3, 6, 2, 1, 5]),
        ("order by 金額 desc", [5, 1, 2, 6, 3, 4]),
        ("order by 区分 asc", [3, 5, 1, 6, 2, 4]),
        ("order by 区分 asc, $id asc", [3, 1, 5, 2, 6, 4]),
        ("order by 日付 desc", [3, 1, 2, 6, 5, 4]),
        ("order by 日時 asc", [4, 5, 6, 2, 1, 3]),
        ("order by 文字列 asc", [1, 2, 4, 6, 5, 3]),
        ("order by レコード番号 asc", [1, 2, 3, 4, 5, 6]),
        ("order by 金額", [4, 3, 6, 2, 1, 5]),
    ],
)
def test_order_by_sorts_numbers_numerically_and_empties_first(
    query: str, expected: list[int]
) -> None:
    assert ids(query) == expected


def test_ids_sort_numerically_not_as_text() -> None:
    records = [make_record(rid, {}) for rid in (9, 10, 100)]
    assert ids("order by $id asc", records) == [9, 10, 100]


def test_limit_and_offset_page_after_sorting_and_total_count_ignores_them() -> None:
    selection = select("order by $id asc limit 2 offset 1", FIELDS, RECORDS)
    assert [r["$id"]["value"] for r in selection.records] == ["2", "3"]
    assert selection.total_count == 6
    beyond = select('区分 in ("A") offset 10', FIELDS, RECORDS)
    assert (beyond.records, beyond.total_count) == ([], 2)


def test_default_limit_is_100() -> None:
    records = [make_record(rid, {}) for rid in range(1, 151)]
    selection = select("", FIELDS, records)
    assert len(selection.records) == 100
    assert selection.total_count == 150
    assert selection.records[0]["$id"]["value"] == "150"


def test_limit_500_and_offset_10000_are_allowed() -> None:
    assert ids("limit 500 offset 10000") == []


def test_limit_above_500_is_gaia_qu01() -> None:
    with pytest.raises(KintoneApiError) as caught:
        select("limit 501", FIELDS, RECORDS)
    assert (caught.value.status, caught.value.code) == (400, "GAIA_QU01")
    assert caught.value.message == "limit must be 500 or less."


def test_offset_above_10000_is_gaia_qu02() -> None:
    with pytest.raises(KintoneApiError) as caught:
        select("offset 10001", FIELDS, RECORDS)
    assert (caught.value.status, caught.value.code) == (400, "GAIA_QU02")
    assert caught.value.message == "offset must be 10000 or less."


def test_absurdly_long_limit_is_gaia_qu01_not_a_crash() -> None:
    assert error_code("limit " + "9" * 5000) == "GAIA_QU01"
    assert ids("limit " + "0" * 5000 + "1") == [6]


# --------------------------------------------------------------------------- properties

SAFE_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=20)


@settings(max_examples=200, deadline=None)
@given(s=SAFE_TEXT)
def test_escaped_literal_selects_exactly_the_records_with_that_value(s: str) -> None:
    variants = [s, s + " ", s.upper(), s + "\\", "\\" + s, s + '"', '"' + s, "", s + "x"]
    records = [make_record(rid, {"担当ID": v}) for rid, v in enumerate(variants, start=1)]
    expected = {rid for rid, v in enumerate(variants, start=1) if v == s}
    assert set(ids(f"担当ID = {quote(s)}", records)) == expected


QUERY_PIECES = [
    "文字列", "金額", "日付", "日時", "区分", "タグ", "添付", "$id", "無い", "=", "!=", "<", ">=",
    "in", "not", "like", "is", "empty", "and", "or", "(", ")", ",", '"', '"x"', '"\\', "\\",
    "100", "-1", "TODAY()", "FROM_TODAY(", "DAYS", "order", "by", "asc", "desc", "limit",
    "offset", "'", "\n", "\t", "NEXT_MONTH(LAST)", "LAST_YEAR()", "NEXT_WEEK(SATURDAY)",
    "FROM_TODAY(999999999, YEARS)", "FROM_TODAY(-999999999, DAYS)", '"9999-12-31"',
    '"0001-01-01T00:00:00+01:00"', '"9999-12-31T23:59:59-23:59"',
]  # fmt: skip
EXTREME_NOW = st.datetimes(
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12))])
)


def assert_selection_or_kintone_error(query: str, **kwargs: Any) -> None:
    outcome: Selection | KintoneApiError
    try:
        outcome = select(query, FIELDS, RECORDS, **kwargs)
    except KintoneApiError as error:
        outcome = error
    assert isinstance(outcome, Selection) or outcome.status == 400


@settings(max_examples=300, deadline=None)
@given(query=st.text(max_size=60), fold=st.booleans())
def test_any_string_gives_a_selection_or_a_kintone_error(query: str, fold: bool) -> None:
    assert_selection_or_kintone_error(query, now=NOW, fold=fold)


@settings(max_examples=400, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(QUERY_PIECES), max_size=12),
    glue=st.sampled_from(["", " ", "\t"]),
    now=EXTREME_NOW,
)
def test_any_token_soup_gives_a_selection_or_a_kintone_error(
    pieces: list[str], glue: str, now: datetime
) -> None:
    assert_selection_or_kintone_error(glue.join(pieces), now=now)
