"""The query compiler: values only ever reach kintone as escaped string literals."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sekisho.kintone.query import (
    Predicate,
    QueryDeclarationError,
    QueryValueError,
    check_condition,
    compile_query,
    quote,
)


def unquote(literal: str) -> str:
    """kintone's reading of a string literal, as cybozu's query reference describes it."""
    assert literal[0] == literal[-1] == '"'
    out, escaped = [], False
    for char in literal[1:-1]:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            assert char != '"', "an unescaped quote would end the literal early"
            out.append(char)
    assert not escaped, "a dangling backslash would eat the closing quote"
    return "".join(out)


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("A1", '"A1"'),
        ('Q"1', '"Q\\"1"'),
        ("B\\", '"B\\\\"'),
        ('\\"', '"\\\\\\""'),
        ('x" or 担当ID != "', '"x\\" or 担当ID != \\""'),
        ("TODAY()", '"TODAY()"'),
        ("田中", '"田中"'),
    ],
)
def test_quote_escapes_backslash_before_double_quote(value, literal):
    assert quote(value) == literal
    assert unquote(literal) == value


@pytest.mark.parametrize(
    "value",
    ["a\nb", "a\tb", "a\rb", "\x00", "x\x1b[31m", "\x7f", "\x85", "trailing\n"],
    ids=["newline", "tab", "carriage-return", "nul", "escape", "delete", "c1-next-line", "end"],
)
def test_quote_refuses_control_characters(value):
    with pytest.raises(QueryValueError, match="control characters"):
        quote(value)


def test_quote_refuses_an_empty_value():
    with pytest.raises(QueryValueError, match="empty"):
        quote("")


def test_quote_refuses_a_value_longer_than_the_cap():
    assert quote("x" * 10, max_length=10) == '"' + "x" * 10 + '"'
    with pytest.raises(QueryValueError, match="at most 10"):
        quote("x" * 11, max_length=10)


def test_quote_refuses_lone_surrogates():
    with pytest.raises(QueryValueError, match="not valid Unicode"):
        quote("a\ud800")


def test_quote_refuses_non_strings():
    with pytest.raises(QueryValueError):
        quote(12)  # type: ignore[arg-type]


@given(st.text(alphabet=st.characters(exclude_categories=["Cc", "Cs"]), min_size=1))
def test_any_quoted_value_reads_back_exactly(value):
    assert unquote(quote(value, max_length=len(value))) == value


@pytest.mark.parametrize(
    ("ftype", "expected"),
    [
        ("SINGLE_LINE_TEXT", '担当ID = "A1"'),
        ("LINK", '担当ID = "A1"'),
        ("DROP_DOWN", '担当ID in ("A1")'),
        ("RADIO_BUTTON", '担当ID in ("A1")'),
        ("CHECK_BOX", '担当ID in ("A1")'),
        ("STATUS", '担当ID in ("A1")'),
    ],
)
def test_identifier_like_types_use_equality_or_membership_never_like(ftype, expected):
    compiled = Predicate("担当ID", ftype, "A1").compile()
    assert compiled == expected
    assert "like" not in compiled


@pytest.mark.parametrize("ftype", ["MULTI_LINE_TEXT", "RICH_TEXT", "FILE", "CALC", "UNKNOWN"])
def test_types_that_cannot_be_matched_exactly_are_a_declaration_error(ftype):
    with pytest.raises(QueryDeclarationError, match="cannot be matched exactly"):
        Predicate("メモ", ftype, "x").compile()


@pytest.mark.parametrize(
    "code",
    ["", "a b", 'x")or("', "f=1", "1abc", "(x)", "担当ID\n", "a,b", "$other"],
)
def test_field_codes_that_could_change_the_query_are_refused(code):
    with pytest.raises(QueryDeclarationError, match="field code"):
        Predicate(code, "SINGLE_LINE_TEXT", "x").compile()


@pytest.mark.parametrize("code", ["担当ID", "取引_ID", "レコード・番号", "$id", "Field１"])
def test_ordinary_and_builtin_field_codes_are_accepted(code):
    assert Predicate(code, "SINGLE_LINE_TEXT", "x").compile() == f'{code} = "x"'


def test_several_values_compile_to_in():
    assert Predicate("取引ID", "SINGLE_LINE_TEXT", ["D1", 'D"2']).compile() == (
        '取引ID in ("D1", "D\\"2")'
    )


def test_an_empty_value_list_is_refused():
    with pytest.raises(QueryValueError):
        Predicate("取引ID", "SINGLE_LINE_TEXT", []).compile()


@pytest.mark.parametrize("value", ["1", "-2", "3.50", "+4"])
def test_number_predicates_take_numbers(value):
    assert Predicate("金額", "NUMBER", value).compile() == f'金額 = "{value}"'


@pytest.mark.parametrize("value", ["1e3", "one", "1 or 1", "NaN", "1.", "TODAY()"])
def test_number_predicates_refuse_anything_else(value):
    with pytest.raises(QueryValueError, match="number"):
        Predicate("金額", "NUMBER", value).compile()


def test_date_predicates_refuse_functions_and_free_text():
    assert Predicate("日付", "DATE", "2026-11-21").compile() == '日付 = "2026-11-21"'
    with pytest.raises(QueryValueError, match="date"):
        Predicate("日付", "DATE", "TODAY()").compile()


def test_server_condition_and_each_predicate_are_parenthesised():
    query = compile_query(
        [
            Predicate("担当ID", "SINGLE_LINE_TEXT", "A1"),
            Predicate("取引ID", "SINGLE_LINE_TEXT", "D000001"),
        ],
        where='ステータス not in ("取消") or 金額 > 0',
        order_by=[("$id", "asc")],
        limit=20,
    )
    assert query == (
        '(ステータス not in ("取消") or 金額 > 0) and (担当ID = "A1") and (取引ID = "D000001")'
        " order by $id asc limit 20"
    )


def test_a_query_without_condition_is_just_the_predicates():
    assert compile_query([Predicate("a", "SINGLE_LINE_TEXT", "x")]) == '(a = "x")'


@pytest.mark.parametrize(
    "condition",
    [
        'a = "x") or (b = "y"',
        '(a = "x"',
        'a = "unterminated',
        'a = "x" order by b asc',
        'a = "x" LIMIT 1',
        'a = "x" offset 3',
        'a = "line\nbreak"',
        'a = "dangling\\"',
        "   ",
        "",
    ],
    ids=[
        "closes-wrapper",
        "leaves-open",
        "unterminated",
        "order-by",
        "limit",
        "offset",
        "raw-newline",
        "escaped-closing-quote",
        "blank",
        "empty",
    ],
)
def test_server_conditions_that_could_escape_their_parentheses_are_refused(condition):
    with pytest.raises(QueryDeclarationError):
        check_condition(condition)


@pytest.mark.parametrize(
    "condition",
    [
        'ステータス not in ("取消")',
        '(a = "x" or b = "y") and c != "z"',
        'memo like "order by"',
        "作成日時 > FROM_TODAY(-30, DAYS)",
        'a = "quote \\" and backslash \\\\"',
    ],
)
def test_well_formed_server_conditions_pass_unchanged(condition):
    assert check_condition(condition) == condition


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 10_001}, "offset"),
        ({"order_by": [("a", "up")]}, "direction"),
        ({"order_by": [("a desc, b", "asc")]}, "field code"),
    ],
)
def test_order_limit_and_offset_stay_within_kintone_bounds(kwargs, message):
    with pytest.raises(QueryDeclarationError, match=message):
        compile_query([], **kwargs)
