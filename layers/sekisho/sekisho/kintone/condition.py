"""Validate a kintone query condition: the fixed ``where`` a policy gives a view.

The relay wraps the server condition in parentheses and joins the caller's predicates to
it with ``and``. That wrapper is a boundary only if the condition is exactly one complete
expression, so the condition is parsed, not pattern-matched: a strict recursive-descent
parser for the condition part of kintone's query language (cybozu's query reference).
It validates and reports the field codes used; it never evaluates anything (the layer
cannot import the emulator, which does).

Stricter than kintone on purpose, because the text is reviewed configuration:

- literals take only the escapes ``\\"`` and ``\\\\`` (kintone also expands ``\\t`` and
  ``\\n``; a condition has no business matching those);
- only ASCII whitespace separates tokens (a full-width space is part of no field code);
- ``like`` takes a string literal; functions take their documented arguments only;
- with field types given, each operator must be one kintone allows for the field's type,
  and functions apply only to date/time fields (``LOGINUSER()`` to user fields).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from .syntax import _FIELD_CODE, QueryDeclarationError

# Deep enough for any reviewed condition, far from Python's recursion limit.
MAX_NESTING = 32

_WHITESPACE = frozenset(" \t\r\n")
_DELIMITERS = frozenset('()=!<>,"') | _WHITESPACE
_NUMBER = re.compile(r"-?[0-9]{1,20}(?:\.[0-9]{1,20})?")
_TRAILING_CLAUSES = frozenset({"order", "limit", "offset"})

_COMPARISONS = frozenset({"=", "!=", ">", "<", ">=", "<="})
_EQUALITY = frozenset({"=", "!="})
_IN = frozenset({"in", "not in"})
_LIKE = frozenset({"like", "not like"})
_EMPTY = frozenset({"is empty", "is not empty"})

# What kintone accepts per field type (cybozu's "query operators and functions" table, as
# the local emulator also enforces it). A type missing here cannot be queried at all.
_OPERATORS: dict[str, frozenset[str]] = {
    # kintone refuses `is empty` on a one-line text (GAIA_IQ03), as the emulator does.
    "SINGLE_LINE_TEXT": _EQUALITY | _IN | _LIKE,
    "LINK": _EQUALITY | _IN | _LIKE | _EMPTY,
    "MULTI_LINE_TEXT": _LIKE | _EMPTY,
    "RICH_TEXT": _LIKE | _EMPTY,
    "NUMBER": _COMPARISONS | _IN | _EMPTY,
    "CALC": _COMPARISONS | _IN | _EMPTY,
    "RECORD_NUMBER": _COMPARISONS | _IN,
    "__ID__": _COMPARISONS | _IN,
    "__REVISION__": _COMPARISONS | _IN,
    "DATE": _COMPARISONS | _EMPTY,
    "TIME": _COMPARISONS | _EMPTY,
    "DATETIME": _COMPARISONS | _EMPTY,
    "CREATED_TIME": _COMPARISONS,
    "UPDATED_TIME": _COMPARISONS,
    "DROP_DOWN": _IN,
    "RADIO_BUTTON": _IN,
    "CHECK_BOX": _IN,
    "MULTI_SELECT": _IN,
    "STATUS": _IN,
    "STATUS_ASSIGNEE": _IN,
    "CATEGORY": _IN,
    "CREATOR": _IN,
    "MODIFIER": _IN,
    "USER_SELECT": _IN | _EMPTY,
    "ORGANIZATION_SELECT": _IN | _EMPTY,
    "GROUP_SELECT": _IN | _EMPTY,
    "FILE": _LIKE | _EMPTY,
}
_DATE_TYPES = frozenset({"DATE", "DATETIME", "CREATED_TIME", "UPDATED_TIME"})
_USER_TYPES = frozenset({"CREATOR", "MODIFIER", "USER_SELECT", "STATUS_ASSIGNEE"})

_WEEKDAYS = frozenset(
    {"SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY"}
)
_UNITS = frozenset({"DAYS", "WEEKS", "MONTHS", "YEARS"})
_PLAIN_DATE_FUNCTIONS = frozenset(
    {"TODAY", "NOW", "YESTERDAY", "TOMORROW", "THIS_YEAR", "LAST_YEAR", "NEXT_YEAR"}
)
_WEEK_FUNCTIONS = frozenset({"THIS_WEEK", "LAST_WEEK", "NEXT_WEEK"})
_MONTH_FUNCTIONS = frozenset({"THIS_MONTH", "LAST_MONTH", "NEXT_MONTH"})
_MONTH_DAY = re.compile(r"[1-9]|[12][0-9]|3[01]|LAST")
_OFFSET = re.compile(r"-?[0-9]{1,9}")


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "string", "op", "(", ")", ","
    text: str
    pos: int


@dataclass(frozen=True)
class _Value:
    kind: str  # "string", "number", "date-function", "user-function"
    text: str


def _error(message: str) -> QueryDeclarationError:
    return QueryDeclarationError(f"the server condition {message}")


def _unexpected(token: _Token, expected: str) -> QueryDeclarationError:
    return _error(f"has {token.text!r} at character {token.pos} where {expected} was expected")


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char in _WHITESPACE:
            i += 1
        elif char in "(),":
            tokens.append(_Token(char, char, i))
            i += 1
        elif char in "=!<>":
            pair = text[i : i + 2]
            if pair in ("!=", "<=", ">="):
                tokens.append(_Token("op", pair, i))
                i += 2
            elif char == "!":
                raise _error(f"has a lone '!' at character {i}")
            else:
                tokens.append(_Token("op", char, i))
                i += 1
        elif char == '"':
            end = _string_end(text, i)
            tokens.append(_Token("string", text[i:end], i))
            i = end
        else:
            start = i
            while i < n and text[i] not in _DELIMITERS:
                if unicodedata.category(text[i]) in ("Cc", "Cs"):
                    raise _error(f"has a control character at character {i}")
                i += 1
            tokens.append(_Token("word", text[start:i], start))
    return tokens


def _string_end(text: str, start: int) -> int:
    """Index just past the literal whose opening quote is at ``start``."""
    i, n = start + 1, len(text)
    while i < n:
        char = text[i]
        if char == '"':
            return i + 1
        if char == "\\":
            if i + 1 < n and text[i + 1] in '"\\':
                i += 2
                continue
            # A backslash before the closing quote is the classic injection shape; any
            # other escape means something different to kintone than to a reviewer.
            raise _error(f'has a literal with an escape other than \\" or \\\\ at character {i}')
        if unicodedata.category(char) in ("Cc", "Cs"):
            # kintone reads a raw tab/newline inside a literal as a syntax error.
            raise _error(f"has a control character inside a literal at character {i}")
        i += 1
    raise _error(f"has an unterminated literal starting at character {start}")


def _valid_call(name: str, args: list[str]) -> bool:
    if name in _PLAIN_DATE_FUNCTIONS or name == "LOGINUSER":
        return not args
    if name in _WEEK_FUNCTIONS:
        return not args or (len(args) == 1 and args[0] in _WEEKDAYS)
    if name in _MONTH_FUNCTIONS:
        return not args or (len(args) == 1 and _MONTH_DAY.fullmatch(args[0]) is not None)
    if name == "FROM_TODAY":
        return len(args) == 2 and _OFFSET.fullmatch(args[0]) is not None and args[1] in _UNITS
    return False


class _Parser:
    def __init__(self, tokens: list[_Token], field_types: Mapping[str, str] | None) -> None:
        self.tokens = tokens
        self.field_types = field_types
        self.pos = 0
        self.depth = 0
        self.codes: dict[str, None] = {}  # insertion-ordered set

    # -- token helpers

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self, expected: str) -> _Token:
        token = self.peek()
        if token is None:
            raise _error(f"ends where {expected} was expected")
        self.pos += 1
        return token

    def expect(self, kind: str, expected: str) -> _Token:
        token = self.next(expected)
        if token.kind != kind:
            raise _unexpected(token, expected)
        return token

    def at(self, kind: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == kind

    def at_keyword(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "word" and token.text.lower() in words

    def expect_keyword(self, word: str) -> None:
        token = self.expect("word", repr(word))
        if token.text.lower() != word:
            raise _unexpected(token, repr(word))

    # -- grammar

    def condition(self) -> None:
        if not self.tokens:
            raise _error("is empty")
        self.disjunction()
        token = self.peek()
        if token is None:
            return
        if token.kind == "word" and token.text.lower() in _TRAILING_CLAUSES:
            raise _error("must not contain order by, limit or offset")
        if token.kind == ")":
            raise _error(f"closes an unopened parenthesis at character {token.pos}")
        raise _unexpected(token, "and/or")

    def disjunction(self) -> None:
        self.conjunction()
        while self.at_keyword("or"):
            self.pos += 1
            self.conjunction()

    def conjunction(self) -> None:
        self.primary()
        while self.at_keyword("and"):
            self.pos += 1
            self.primary()

    def primary(self) -> None:
        token = self.next("a condition")
        if token.kind == "(":
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise _error(f"nests parentheses deeper than {MAX_NESTING}")
            self.disjunction()
            if self.peek() is None:
                raise _error("leaves a parenthesis open")
            self.expect(")", "')'")
            self.depth -= 1
            return
        if token.kind != "word":
            raise _unexpected(token, "a field")
        self.comparison(token)

    def comparison(self, field: _Token) -> None:
        code = field.text
        if not _FIELD_CODE.fullmatch(code):
            raise _error(f"uses {code!r}, which is not a kintone field code")
        token = self.next(f"an operator after {code!r}")
        if token.kind == "op":
            op, values = token.text, [self.value()]
        elif token.kind == "word":
            op = self.word_operator(token)
            if op in _IN:
                values = self.value_list()
            elif op in _LIKE:
                literal = self.expect("string", "a string literal after like")
                values = [_Value("string", literal.text)]
            else:
                values = []
        else:
            raise _unexpected(token, f"an operator after {code!r}")
        self.check_types(code, op, values)
        self.codes[code] = None

    def word_operator(self, token: _Token) -> str:
        keyword = token.text.lower()
        if keyword == "not":
            follower = self.expect("word", "in or like after not")
            keyword = "not " + follower.text.lower()
            if keyword not in ("not in", "not like"):
                raise _error(f"has 'not {follower.text}' at character {token.pos}")
            return keyword
        if keyword in ("in", "like"):
            return keyword
        if keyword == "is":
            op = "is empty"
            if self.at_keyword("not"):
                self.pos += 1
                op = "is not empty"
            self.expect_keyword("empty")
            return op
        raise _unexpected(token, "an operator")

    def value_list(self) -> list[_Value]:
        self.expect("(", "'(' after in")
        values = [self.value()]
        while self.at(","):
            self.pos += 1
            values.append(self.value())
        self.expect(")", "')' closing the value list")
        return values

    def value(self) -> _Value:
        token = self.next("a value")
        if token.kind == "string":
            return _Value("string", token.text)
        if token.kind != "word":
            raise _unexpected(token, "a value")
        if _NUMBER.fullmatch(token.text):
            return _Value("number", token.text)
        if not self.at("("):
            raise _error(
                f"has the bare word {token.text!r} at character {token.pos}: a value is a "
                "quoted string, a number or a function"
            )
        self.pos += 1
        args: list[str] = []
        if not self.at(")"):
            args.append(self.expect("word", "a function argument").text.upper())
            while self.at(","):
                self.pos += 1
                args.append(self.expect("word", "a function argument").text.upper())
        self.expect(")", "')' closing the function call")
        name = token.text.upper()
        if not _valid_call(name, args):
            raise _error(f"calls {token.text}() with unknown name or arguments")
        return _Value("user-function" if name == "LOGINUSER" else "date-function", name)

    # -- type rules

    def check_types(self, code: str, op: str, values: list[_Value]) -> None:
        if self.field_types is None:
            return
        ftype = self.field_types.get(code)
        if ftype is None:
            raise _error(f"uses field {code!r}, which the app does not declare")
        allowed = _OPERATORS.get(ftype)
        if allowed is None:
            raise _error(f"uses field {code!r} of type {ftype}, which cannot be queried")
        if op not in allowed:
            raise _error(f"uses {op!r} on field {code!r} of type {ftype}, which kintone refuses")
        for value in values:
            if value.kind == "date-function" and ftype not in _DATE_TYPES:
                raise _error(f"applies {value.text}() to field {code!r} of type {ftype}")
            if value.kind == "user-function" and ftype not in _USER_TYPES:
                raise _error(f"applies LOGINUSER() to field {code!r} of type {ftype}")


def parse_condition(text: str, field_types: Mapping[str, str] | None = None) -> list[str]:
    """Validate a kintone query condition and return the field codes it uses, in order.

    With ``field_types`` (code -> kintone type) every field must be declared there and
    every operator allowed for its type. Raises
    :class:`~sekisho.kintone.query.QueryDeclarationError` on anything else.
    """
    if not isinstance(text, str):
        raise _error("must be a string")
    parser = _Parser(_tokenize(text), field_types)
    parser.condition()
    return list(parser.codes)
