"""The server-condition parser: a view's fixed `where` is one complete, valid expression."""

import pytest

from sekisho.kintone.condition import MAX_NESTING, parse_condition
from sekisho.kintone.query import QueryDeclarationError, compile_query

FIELD_TYPES = {
    "担当ID": "SINGLE_LINE_TEXT",
    "取引名": "SINGLE_LINE_TEXT",
    "リンク": "LINK",
    "金額": "NUMBER",
    "ステータス": "DROP_DOWN",
    "区分": "RADIO_BUTTON",
    "タグ": "CHECK_BOX",
    "複数": "MULTI_SELECT",
    "状態": "STATUS",
    "社内メモ": "MULTI_LINE_TEXT",
    "日付": "DATE",
    "日時": "DATETIME",
    "作成日時": "CREATED_TIME",
    "更新日時": "UPDATED_TIME",
    "作成者": "CREATOR",
    "明細": "SUBTABLE",
    "$id": "__ID__",
}


@pytest.mark.parametrize(
    ("condition", "codes"),
    [
        ('ステータス not in ("取消")', ["ステータス"]),
        ('ステータス in ("商談中", "受注")', ["ステータス"]),
        ('(担当ID = "x" or 取引名 != "y") and 金額 >= 10', ["担当ID", "取引名", "金額"]),
        ("金額 > -1.5 and 金額 <= 100", ["金額"]),
        ("金額 in (1, 2, 3)", ["金額"]),
        ('取引名 like "倉庫" and 社内メモ not like "取消"', ["取引名", "社内メモ"]),
        ("社内メモ is empty or 日付 is not empty", ["社内メモ", "日付"]),
        ("作成日時 > FROM_TODAY(-30, DAYS)", ["作成日時"]),
        ("日付 >= THIS_MONTH() and 日付 < NEXT_MONTH(1)", ["日付"]),
        ("日時 < NOW() and 更新日時 > YESTERDAY()", ["日時", "更新日時"]),
        ("日付 = THIS_WEEK(MONDAY) or 日付 = LAST_MONTH(LAST)", ["日付"]),
        ("日付 > TODAY() or 日付 < TOMORROW() or 日付 = THIS_YEAR()", ["日付"]),
        ("作成者 in (LOGINUSER())", ["作成者"]),
        ("$id > 100", ["$id"]),
        ('担当ID = "quote \\" and backslash \\\\"', ["担当ID"]),
        ('取引名 = "order by" and 取引名 != "limit 1"', ["取引名"]),
        ('((担当ID = "x"))', ["担当ID"]),
        (
            '担当ID = "x" AND 金額 > 1 OR ステータス NOT IN ("取消")',
            ["担当ID", "金額", "ステータス"],
        ),
        ('担当ID="x" and 金額>1', ["担当ID", "金額"]),
        ('担当ID = "x"\n  and 金額 > 1', ["担当ID", "金額"]),
    ],
)
def test_valid_conditions_parse_and_report_their_fields_in_order(condition, codes):
    assert parse_condition(condition, FIELD_TYPES) == codes
    assert parse_condition(condition) == codes


@pytest.mark.parametrize(
    "condition",
    [
        'a = "x") or (b = "y"',
        '(a = "x"',
        'a = "x" and (',
        'a = "x" or',
        'a = "unterminated',
        'a = "dangling\\"',
        'a = "x" order by a asc',
        'a = "x" LIMIT 1',
        'a = "x" offset 3',
        'a = "raw\nnewline"',
        'a = "raw\ttab"',
        'a = "nul\x00"',
        'a = "expanded \\n escape"',
        "a = x",
        "a = 'single quoted'",
        'a == "x"',
        'a ! "x"',
        'a = "x" b = "y"',
        'a = "x";',
        'a = "x" -- comment',
        "a like x",
        'a in "x"',
        "a in ()",
        'a in ("x",)',
        'a not = "x"',
        'a is "x"',
        "a is not",
        "a",
        '= "x"',
        'x" = "y',
        '1a = "x"',
        '担当ID\u3000= "x"',
        'a\x1b = "x"',
        "a = FOO()",
        "a > FROM_TODAY(30)",
        "a > FROM_TODAY(1, HOURS)",
        "a = TODAY(1)",
        'TODAY() = "x"',
        "()",
        "",
        "   ",
    ],
    ids=[
        "closes-the-wrapper",
        "leaves-a-parenthesis-open",
        "ends-after-open-parenthesis",
        "dangling-or",
        "unterminated-literal",
        "escaped-closing-quote",
        "order-by",
        "limit",
        "offset",
        "raw-newline-in-literal",
        "raw-tab-in-literal",
        "nul-in-literal",
        "other-escape",
        "bare-word-value",
        "single-quotes",
        "double-equals",
        "lone-bang",
        "missing-and",
        "semicolon",
        "sql-comment",
        "like-without-literal",
        "in-without-list",
        "empty-in-list",
        "trailing-comma",
        "not-equals-spelled-with-not",
        "is-without-empty",
        "is-not-without-empty",
        "field-alone",
        "operator-without-field",
        "quote-in-field",
        "field-starting-with-digit",
        "full-width-space",
        "control-character-in-field",
        "unknown-function",
        "from-today-without-unit",
        "from-today-bad-unit",
        "today-with-argument",
        "function-as-field",
        "empty-parentheses",
        "empty",
        "blank",
    ],
)
def test_malformed_or_injection_shaped_conditions_are_refused(condition):
    with pytest.raises(QueryDeclarationError, match="the server condition"):
        parse_condition(condition)


def test_nesting_deeper_than_the_cap_is_refused_without_recursion_error():
    within = "(" * MAX_NESTING + 'a = "x"' + ")" * MAX_NESTING
    assert parse_condition(within) == ["a"]
    beyond = "(" * 10_000 + 'a = "x"' + ")" * 10_000
    with pytest.raises(QueryDeclarationError, match="nests"):
        parse_condition(beyond)


def test_a_condition_must_be_a_string():
    with pytest.raises(QueryDeclarationError):
        parse_condition(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "condition",
    ['a = "x" order by a asc', 'a = "x" limit 5', 'a = "x" offset 5'],
)
def test_trailing_query_clauses_are_named_in_the_error(condition):
    with pytest.raises(QueryDeclarationError, match="order by, limit or offset"):
        parse_condition(condition)


def test_an_undeclared_field_is_refused_when_types_are_given():
    assert parse_condition('無い = "x"') == ["無い"]
    with pytest.raises(QueryDeclarationError, match="does not declare"):
        parse_condition('無い = "x"', FIELD_TYPES)


@pytest.mark.parametrize(
    ("condition", "allowed"),
    [
        ('ステータス = "取消"', False),
        ('ステータス != "取消"', False),
        ('ステータス like "取消"', False),
        ("ステータス is empty", False),
        ('ステータス in ("取消")', True),
        ('区分 = "A"', False),
        ('区分 not in ("A")', True),
        ('タグ = "A"', False),
        ('タグ in ("A")', True),
        ('複数 != "A"', False),
        ('複数 in ("A")', True),
        ('状態 = "完了"', False),
        ('状態 not in ("完了")', True),
        ('担当ID < "A"', False),
        ('担当ID > "A"', False),
        ('担当ID <= "A"', False),
        ('担当ID >= "A"', False),
        ('担当ID = "A"', True),
        ('担当ID in ("A", "B")', True),
        ('リンク >= "http"', False),
        ('リンク like "example"', True),
        ('社内メモ = "x"', False),
        ('社内メモ != "x"', False),
        ('社内メモ like "x"', True),
        ("金額 > 10", True),
        ('金額 like "1"', False),
        ("日付 = TODAY()", True),
        ("日時 > NOW()", True),
        ("作成日時 >= FROM_TODAY(-7, DAYS)", True),
        ("更新日時 < LAST_WEEK()", True),
        ("担当ID = TODAY()", False),
        ("金額 > TODAY()", False),
        ("日付 = LOGINUSER()", False),
        ("作成者 in (LOGINUSER())", True),
        ("作成者 in (TODAY())", False),
        ('明細 = "x"', False),
    ],
)
def test_operators_follow_kintone_type_rules(condition, allowed):
    if allowed:
        assert parse_condition(condition, FIELD_TYPES)
    else:
        with pytest.raises(QueryDeclarationError):
            parse_condition(condition, FIELD_TYPES)


def test_a_repeated_field_is_reported_once():
    assert parse_condition('金額 > 1 and 金額 < 9 and 担当ID = "x"') == ["金額", "担当ID"]


@pytest.mark.parametrize("condition", ["a = x", "a = FOO()", 'a = "x" b = "y"'])
def test_compile_query_refuses_conditions_that_do_not_parse(condition):
    with pytest.raises(QueryDeclarationError):
        compile_query([], where=condition)
