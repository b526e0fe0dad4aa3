"""kintone's query language, parsed and evaluated over records in kintone's JSON shape.

The pipeline is tokenize -> parse (a small AST of frozen dataclasses, syntax only) -> bind
(field codes, type rules and literal values checked against the app, giving one predicate)
-> filter, sort, page. Binding happens before any record is looked at, so an invalid query
fails the same way whether the app holds no records or many.

Every invalid input ends in a `KintoneApiError`; nothing else may escape `select`, because
the emulator answers whatever string a client sends.

This module is the oracle sekisho's query compiler and condition validator
(`sekisho.kintone.query`, `sekisho.kintone.condition`) are tested against, and it is
written apart from them on purpose: its tokenizer, grammar and type table look like
theirs because they read the same kintone reference, but they share no code, so a mistake
in one is caught by the other instead of being copied into both.

Two refusals of real kintone that are easy to miss, made here too:

- a value of `in`/`not in` on a drop-down, radio button or check box that is not one of
  the field's options (`""`, nothing chosen, aside): GAIA_IQ10;
- `is empty`/`is not empty` on a single-line text field: GAIA_IQ03 (kintone offers them
  on multi-line text, numbers, dates and files; a text field is compared with `= ""`).

Choices where real kintone is undocumented or unverified:

- `like ""` (or a literal with no word characters at all) matches every record.
- `order by <code>` without `asc`/`desc` sorts ascending.
- `LOGINUSER()` is refused with GAIA_IQ03: the emulator has no user-type fields, and API
  tokens have no login user anyway.
- Date functions use the time zone of `now` (UTC when `now` is naive or not given).
- With `fold=True` every text-valued equality (`= != in not in` on text, link and the choice
  fields, and the check of a choice value against the options) compares NFKC-casefolded,
  right-stripped strings.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from .errors import KintoneApiError, query_syntax_error
from .schema import FieldDef

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
MAX_OFFSET = 10_000
# Deep enough for any real query, shallow enough that the recursive parser never nears
# Python's recursion limit (which would otherwise escape as RecursionError).
MAX_NESTING = 100


@dataclass(frozen=True)
class Selection:
    records: list[dict[str, Any]]  # after order by, offset and limit
    total_count: int  # matching records before offset and limit


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "string", "op", "(", ")", ","
    text: str


_DELIMITERS = frozenset('()=!<>,"')
# kintone expands these two; any other escaped character stands for itself.
_ESCAPES = {"t": "\t", "n": "\n"}


# Written from kintone's query reference, not from sekisho.kintone.condition (which has a
# tokenizer and parser of the same shape): the emulator must stay an independent oracle.
def _tokenize(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
        elif c in "(),":
            tokens.append(_Token(c, c))
            i += 1
        elif c in "=!<>":
            pair = query[i : i + 2]
            if pair in ("!=", "<=", ">="):
                tokens.append(_Token("op", pair))
                i += 2
            elif c == "!":
                raise query_syntax_error()
            else:
                tokens.append(_Token("op", c))
                i += 1
        elif c == '"':
            text, i = _read_string(query, i + 1)
            tokens.append(_Token("string", text))
        else:
            start = i
            while i < n and not query[i].isspace() and query[i] not in _DELIMITERS:
                i += 1
            tokens.append(_Token("word", query[start:i]))
    return tokens


def _read_string(query: str, i: int) -> tuple[str, int]:
    """Read a literal whose opening quote is just before `i`; return it and the index after."""
    out: list[str] = []
    n = len(query)
    while i < n:
        c = query[i]
        if c == '"':
            return "".join(out), i + 1
        if c == "\\":
            i += 1
            if i == n:
                break
            c = query[i]
            # A raw control character is refused even when escaped; the two-character
            # escapes `\t` and `\n` are how a literal carries a tab or a newline.
            if c < " ":
                raise query_syntax_error()
            c = _ESCAPES.get(c, c)
        elif c < " ":
            raise query_syntax_error()
        out.append(c)
        i += 1
    raise query_syntax_error()  # unterminated literal (or a lone trailing backslash)


# --------------------------------------------------------------------------- syntax tree


@dataclass(frozen=True)
class Literal:
    text: str  # a quoted string, or an unquoted number as written


@dataclass(frozen=True)
class Call:
    name: str  # upper case
    args: tuple[str, ...]  # upper case


Value = Literal | Call


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # lower case, single-spaced: "=", "not in", "is not empty", ...
    values: tuple[Value, ...] = ()


@dataclass(frozen=True)
class And:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Node, ...]


Node = Condition | And | Or


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool


@dataclass(frozen=True)
class Query:
    where: Node | None
    order_by: tuple[SortKey, ...]
    limit: int
    offset: int


_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_COUNT = re.compile(r"[0-9]+")
_WEEKDAYS = ("SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY")
_UNITS = ("DAYS", "WEEKS", "MONTHS", "YEARS")
_NO_ARGS = frozenset(
    {"TODAY", "NOW", "YESTERDAY", "TOMORROW", "LOGINUSER", "THIS_YEAR", "LAST_YEAR", "NEXT_YEAR"}
)
_WEEK_FUNCTIONS = frozenset({"THIS_WEEK", "LAST_WEEK", "NEXT_WEEK"})
_MONTH_FUNCTIONS = frozenset({"THIS_MONTH", "LAST_MONTH", "NEXT_MONTH"})
_MONTH_DAY = r"[1-9]|[12][0-9]|3[01]"


def _valid_call(name: str, args: tuple[str, ...]) -> bool:
    if name in _NO_ARGS:
        return not args
    if name in _WEEK_FUNCTIONS:
        return not args or (len(args) == 1 and args[0] in _WEEKDAYS)
    if name in _MONTH_FUNCTIONS:
        return not args or (
            len(args) == 1 and (args[0] == "LAST" or re.fullmatch(_MONTH_DAY, args[0]) is not None)
        )
    if name == "FROM_TODAY":
        # At most 9 digits: enough for any date and far from int()'s digit limit.
        return (
            len(args) == 2
            and re.fullmatch(r"-?[0-9]{1,9}", args[0]) is not None
            and args[1] in _UNITS
        )
    return False


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    # -- token helpers

    def peek(self, ahead: int = 0) -> _Token | None:
        i = self.pos + ahead
        return self.tokens[i] if i < len(self.tokens) else None

    def next(self) -> _Token:
        token = self.peek()
        if token is None:
            raise query_syntax_error()
        self.pos += 1
        return token

    def expect(self, kind: str) -> _Token:
        token = self.next()
        if token.kind != kind:
            raise query_syntax_error()
        return token

    def at_keyword(self, *words: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token is not None and token.kind == "word" and token.text.lower() in words

    def at(self, kind: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == kind

    def expect_keyword(self, word: str) -> None:
        if not self.at_keyword(word):
            raise query_syntax_error()
        self.pos += 1

    def at_clause(self) -> bool:
        """Is the next token the start of `order by`, `limit` or `offset`?

        Looking one token further keeps a field that happens to be called `limit` usable:
        a condition continues with an operator, a clause never does.
        """
        if self.at_keyword("order"):
            return self.at_keyword("by", ahead=1)
        if self.at_keyword("limit", "offset"):
            following = self.peek(1)
            return (
                following is not None
                and following.kind == "word"
                and _COUNT.fullmatch(following.text) is not None
            )
        return False

    # -- grammar

    def query(self) -> Query:
        where = None
        if self.peek() is not None and not self.at_clause():
            where = self.disjunction()
        order_by: tuple[SortKey, ...] = ()
        limit, offset = DEFAULT_LIMIT, 0
        if self.at_keyword("order"):
            self.pos += 1
            self.expect_keyword("by")
            order_by = self.sort_keys()
        if self.at_keyword("limit"):
            self.pos += 1
            limit = self.count()
        if self.at_keyword("offset"):
            self.pos += 1
            offset = self.count()
        if self.peek() is not None:
            raise query_syntax_error()
        if limit > MAX_LIMIT:
            raise KintoneApiError(400, "GAIA_QU01", "limit must be 500 or less.")
        if offset > MAX_OFFSET:
            raise KintoneApiError(400, "GAIA_QU02", "offset must be 10000 or less.")
        return Query(where, order_by, limit, offset)

    def disjunction(self) -> Node:
        parts = [self.conjunction()]
        while self.at_keyword("or"):
            self.pos += 1
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def conjunction(self) -> Node:
        parts = [self.primary()]
        while self.at_keyword("and"):
            self.pos += 1
            parts.append(self.primary())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def primary(self) -> Node:
        token = self.next()
        if token.kind == "(":
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise query_syntax_error()
            node = self.disjunction()
            self.expect(")")
            self.depth -= 1
            return node
        if token.kind != "word":
            raise query_syntax_error()
        return self.condition(token.text)

    def condition(self, field: str) -> Condition:
        token = self.next()
        if token.kind == "op":
            return Condition(field, token.text, (self.value(),))
        if token.kind != "word":
            raise query_syntax_error()
        keyword = token.text.lower()
        if keyword == "not":
            keyword = "not " + self.expect("word").text.lower()
        if keyword in ("in", "not in"):
            return Condition(field, keyword, self.value_list())
        if keyword in ("like", "not like"):
            return Condition(field, keyword, (self.value(),))
        if keyword == "is":
            op = "is not empty" if self.at_keyword("not") else "is empty"
            if op == "is not empty":
                self.pos += 1
            self.expect_keyword("empty")
            return Condition(field, op)
        raise query_syntax_error()

    def value_list(self) -> tuple[Value, ...]:
        self.expect("(")
        values = [self.value()]
        while self.at(","):
            self.pos += 1
            values.append(self.value())
        self.expect(")")
        return tuple(values)

    def value(self) -> Value:
        token = self.next()
        if token.kind == "string":
            return Literal(token.text)
        if token.kind != "word":
            raise query_syntax_error()
        if _NUMBER.fullmatch(token.text):
            return Literal(token.text)
        if not self.at("("):
            raise query_syntax_error()  # a bare word is not a value
        self.pos += 1
        args: list[str] = []
        if not self.at(")"):
            args.append(self.expect("word").text.upper())
            while self.at(","):
                self.pos += 1
                args.append(self.expect("word").text.upper())
        self.expect(")")
        call = Call(token.text.upper(), tuple(args))
        if not _valid_call(call.name, call.args):
            raise query_syntax_error()
        return call

    def sort_keys(self) -> tuple[SortKey, ...]:
        keys = [self.sort_key()]
        while self.at(","):
            self.pos += 1
            keys.append(self.sort_key())
        return tuple(keys)

    def sort_key(self) -> SortKey:
        field = self.expect("word").text
        descending = False
        if self.at_keyword("asc", "desc"):
            descending = self.next().text.lower() == "desc"
        return SortKey(field, descending)

    def count(self) -> int:
        text = self.expect("word").text
        if not _COUNT.fullmatch(text):
            raise query_syntax_error()
        # Leading zeros and huge numbers must not reach int(), which refuses > 4300 digits.
        digits = text.lstrip("0") or "0"
        return int(digits) if len(digits) <= 9 else 10**9


def parse(query: str) -> Query:
    """Parse a query string; raise `KintoneApiError` on any syntax error."""
    return _Parser(_tokenize(query)).query()


# --------------------------------------------------------------------------- type rules

_TEXT_EQUALITY = frozenset({"=", "!=", "in", "not in"})
_LIKE = frozenset({"like", "not like"})
_EMPTY = frozenset({"is empty", "is not empty"})
_ORDERING = frozenset({"=", "!=", ">", "<", ">=", "<="})
_IN = frozenset({"in", "not in"})

_OPERATORS: dict[str, frozenset[str]] = {
    # kintone offers no `is empty` on a single-line text field (GAIA_IQ03).
    "SINGLE_LINE_TEXT": _TEXT_EQUALITY | _LIKE,
    "LINK": _TEXT_EQUALITY | _LIKE | _EMPTY,
    "MULTI_LINE_TEXT": _LIKE | _EMPTY,
    "NUMBER": _ORDERING | _IN | _EMPTY,
    "RECORD_NUMBER": _ORDERING | _IN,
    "__ID__": _ORDERING | _IN,
    "__REVISION__": _ORDERING | _IN,
    "DATE": _ORDERING | _EMPTY,
    "DATETIME": _ORDERING | _EMPTY,
    "CREATED_TIME": _ORDERING,
    "UPDATED_TIME": _ORDERING,
    "DROP_DOWN": _IN,
    "RADIO_BUTTON": _IN,
    "CHECK_BOX": _IN,
    "FILE": _LIKE | _EMPTY,
}
_TEXT_TYPES = frozenset({"SINGLE_LINE_TEXT", "LINK", "MULTI_LINE_TEXT"})
_CHOICE_TYPES = frozenset({"DROP_DOWN", "RADIO_BUTTON", "CHECK_BOX"})
_NUMBER_TYPES = frozenset({"NUMBER", "RECORD_NUMBER", "__ID__", "__REVISION__"})
_DAY_TYPES = frozenset({"DATE"})
_INSTANT_TYPES = frozenset({"DATETIME", "CREATED_TIME", "UPDATED_TIME"})
_TIME_TYPES = _DAY_TYPES | _INSTANT_TYPES
_UNSORTABLE = frozenset({"MULTI_LINE_TEXT", "CHECK_BOX", "FILE"})


def _operator_error(op: str, code: str) -> KintoneApiError:
    return KintoneApiError(
        400, "GAIA_IQ03", f"The operator {op} cannot be used for the field {code}."
    )


def _option_error(code: str, value: str) -> KintoneApiError:
    return KintoneApiError(
        400, "GAIA_IQ10", f"The option ({value}) specified for the field ({code}) does not exist."
    )


def _value_error(code: str) -> KintoneApiError:
    return KintoneApiError(
        400, "GAIA_IQ03", f"The value specified for the field {code} is not valid."
    )


def _field(fields: Mapping[str, FieldDef], code: str) -> FieldDef:
    fdef = fields.get(code)
    if fdef is None:
        raise KintoneApiError(400, "GAIA_IQ11", f"Specified field ({code}) not found.")
    return fdef


# --------------------------------------------------------------------------- record values

Record = dict[str, Any]
Predicate = Callable[[Record], bool]


def _raw(record: Record, code: str) -> Any:
    cell = record.get(code)
    return cell.get("value") if isinstance(cell, dict) else None


def _text(record: Record, code: str) -> str:
    value = _raw(record, code)
    return value if isinstance(value, str) else ""


def _is_empty(value: Any) -> bool:
    return value is None or value in ("", [])


# Keeps out NaN, Infinity, exponents and non-ASCII digits, all of which Decimal accepts.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def _to_decimal(text: Any) -> Decimal | None:
    if not isinstance(text, str) or not _DECIMAL.fullmatch(text):
        return None
    return Decimal(text)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().rstrip()


# Time is compared as integers (days since 0001-01-01, seconds since the epoch) so that
# literals at the edges of datetime's range (year 1, year 9999) cannot overflow.
_EPOCH = datetime(1970, 1, 1)  # naive on purpose: offsets are applied by hand
_EPOCH_ORDINAL = _EPOCH.toordinal()
_DAY = 86_400
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})?"
)


def _offset_seconds(moment: datetime, zone: tzinfo) -> int:
    """UTC offset of `zone` at the wall-clock time `moment` (its own tzinfo is ignored)."""
    offset = zone.utcoffset(moment.replace(tzinfo=None))
    return int(offset.total_seconds()) if offset is not None else 0


def _epoch_seconds(wall: datetime, offset_seconds: int) -> int:
    """Whole seconds since the epoch of wall-clock time `wall` at the given UTC offset."""
    elapsed = wall.replace(tzinfo=None, microsecond=0) - _EPOCH
    return elapsed // timedelta(seconds=1) - offset_seconds


def _day_start(ordinal: int, zone: tzinfo) -> int:
    """Seconds since the epoch of local midnight starting the given day."""
    try:
        offset = _offset_seconds(datetime.combine(date.fromordinal(ordinal), time()), zone)
    except (ValueError, OverflowError):
        offset = 0  # beyond year 9999: only ever an exclusive upper bound
    return (ordinal - _EPOCH_ORDINAL) * _DAY - offset


def _parse_date(text: Any) -> int | None:
    if not isinstance(text, str) or not _DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text).toordinal()
    except ValueError:
        return None


def _parse_datetime(text: Any, zone: tzinfo) -> tuple[int, int] | None:
    """(seconds since the epoch, day ordinal as written) of an ISO datetime, or None."""
    if not isinstance(text, str) or not _DATETIME.fullmatch(text):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        offset = moment.utcoffset()
    except (ValueError, OverflowError):
        return None
    # A literal without an offset is wall-clock time in the caller's zone.
    offset_seconds = (
        int(offset.total_seconds()) if offset is not None else _offset_seconds(moment, zone)
    )
    return _epoch_seconds(moment, offset_seconds), moment.toordinal()


# --------------------------------------------------------------------------- binding


@dataclass(frozen=True)
class _Context:
    now: datetime  # aware
    fold: bool

    @property
    def zone(self) -> tzinfo:
        return self.now.tzinfo or UTC

    @property
    def today(self) -> int:
        return self.now.date().toordinal()


def _bind(node: Node, fields: Mapping[str, FieldDef], ctx: _Context) -> Predicate:
    if isinstance(node, And):
        parts = [_bind(part, fields, ctx) for part in node.parts]
        return lambda record: all(part(record) for part in parts)
    if isinstance(node, Or):
        parts = [_bind(part, fields, ctx) for part in node.parts]
        return lambda record: any(part(record) for part in parts)
    return _bind_condition(node, fields, ctx)


def _bind_condition(cond: Condition, fields: Mapping[str, FieldDef], ctx: _Context) -> Predicate:
    code, op = cond.field, cond.op
    fdef = _field(fields, code)
    ftype = fdef.type
    if op not in _OPERATORS.get(ftype, frozenset()):
        raise _operator_error(op, code)
    for value in cond.values:
        if isinstance(value, Call) and (value.name == "LOGINUSER" or ftype not in _TIME_TYPES):
            raise KintoneApiError(
                400,
                "GAIA_IQ03",
                f"The function {value.name}() cannot be used for the field {code}.",
            )
    if op in _EMPTY:
        wanted = op == "is empty"
        return lambda record: _is_empty(_raw(record, code)) == wanted
    if ftype in _TEXT_TYPES:
        return _bind_text(code, op, cond.values, ctx)
    if ftype in _CHOICE_TYPES:
        return _bind_choice(fdef, op, cond.values, ctx)
    if ftype in _NUMBER_TYPES:
        return _bind_number(code, op, cond.values)
    if ftype in _TIME_TYPES:
        return _bind_time(code, ftype, op, cond.values[0], ctx)
    return _bind_file(code, op, cond.values)


def _literal_texts(values: tuple[Value, ...]) -> list[str]:
    return [value.text for value in values if isinstance(value, Literal)]


def _negate_if(negative: bool, predicate: Predicate) -> Predicate:
    return (lambda record: not predicate(record)) if negative else predicate


def _equality(ctx: _Context) -> Callable[[str, str], bool]:
    if ctx.fold:
        return lambda a, b: _fold(a) == _fold(b)
    return lambda a, b: a == b


def _bind_text(code: str, op: str, values: tuple[Value, ...], ctx: _Context) -> Predicate:
    texts = _literal_texts(values)
    if op in _LIKE:
        words = _words(texts[0])
        return _negate_if(op == "not like", lambda r: _like(_text(r, code), words))
    equal = _equality(ctx)
    return _negate_if(op in _NEGATED, lambda r: any(equal(_text(r, code), t) for t in texts))


def _bind_choice(fdef: FieldDef, op: str, values: tuple[Value, ...], ctx: _Context) -> Predicate:
    code = fdef.code
    texts = _literal_texts(values)
    equal = _equality(ctx)
    # kintone checks each value against the field's options before it looks at a record:
    # an unknown one is an error (GAIA_IQ10), not a condition that matches nothing.
    for text in texts:
        if text and not any(equal(text, option) for option in fdef.options):
            raise _option_error(code, text)

    def chosen(record: Record) -> list[str]:
        # Nothing chosen reads as the single value "", so `in ("")` finds unset fields.
        value = _raw(record, code)
        if isinstance(value, list):
            return [v for v in value if isinstance(v, str)] or [""]
        return [value if isinstance(value, str) else ""]

    return _negate_if(op in _NEGATED, lambda r: any(equal(c, t) for c in chosen(r) for t in texts))


# `!=` and `not in` are evaluated as the negation of `=` and `in`, not as comparisons of
# their own, so that a record with an empty value matches them: empty is a value too.
_NEGATED = {"!=": "=", "not in": "in"}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "in": lambda a, b: a == b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
}


def _bind_number(code: str, op: str, values: tuple[Value, ...]) -> Predicate:
    operands = []
    for text in _literal_texts(values):
        number = _to_decimal(text)
        if number is None:
            raise _value_error(code)
        operands.append(number)
    compare = _COMPARE[_NEGATED.get(op, op)]

    def matches(record: Record) -> bool:
        value = _to_decimal(_raw(record, code))
        return value is not None and any(compare(value, operand) for operand in operands)

    return _negate_if(op in _NEGATED, matches)


def _bind_time(code: str, ftype: str, op: str, value: Value, ctx: _Context) -> Predicate:
    """Compare a date or datetime field with the span of time a literal or function denotes.

    `=` means inside the span, `<` before it, `>` after it: so `日時 = "2026-11-21"` is the
    whole day and `日付 = THIS_MONTH()` the whole month, as in kintone.
    """
    by_day = ftype in _DAY_TYPES
    lo, hi = _span(code, value, by_day, ctx)
    zone = ctx.zone

    def point(record: Record) -> int | None:
        raw = _raw(record, code)
        if by_day:
            return _parse_date(raw)
        parsed = _parse_datetime(raw, zone)
        return parsed[0] if parsed else None

    tests: dict[str, Callable[[int], bool]] = {
        "=": lambda v: lo <= v < hi,
        "<": lambda v: v < lo,
        "<=": lambda v: v < hi,
        ">": lambda v: v >= hi,
        ">=": lambda v: v >= lo,
    }
    test = tests[_NEGATED.get(op, op)]

    def matches(record: Record) -> bool:
        v = point(record)
        return v is not None and test(v)

    return _negate_if(op in _NEGATED, matches)


def _span(code: str, value: Value, by_day: bool, ctx: _Context) -> tuple[int, int]:
    """The half-open span [lo, hi) a value denotes: day ordinals if `by_day`, else seconds."""
    if isinstance(value, Call) and value.name == "NOW":
        if by_day:
            return ctx.today, ctx.today + 1
        second = _epoch_seconds(ctx.now, _offset_seconds(ctx.now, ctx.zone))  # the current second
        return second, second + 1
    if isinstance(value, Literal):
        moment = _parse_datetime(value.text, ctx.zone)
        if moment is not None:
            seconds, day = moment
            # Against a date field a datetime literal stands for its date as written.
            return (day, day + 1) if by_day else (seconds, seconds + 1)
        day = _parse_date(value.text)
        if day is None:
            raise _value_error(code)
        first, last = day, day + 1
    else:
        first, last = _function_days(value, ctx)
    if by_day:
        return first, last
    return _day_start(first, ctx.zone), _day_start(last, ctx.zone)


def _function_days(call: Call, ctx: _Context) -> tuple[int, int]:
    """The days [first, last) a date function denotes, relative to `ctx.now`."""
    today = ctx.today
    name, args = call.name, call.args
    if name in ("TODAY", "YESTERDAY", "TOMORROW"):
        day = today + {"TODAY": 0, "YESTERDAY": -1, "TOMORROW": 1}[name]
        return day, day + 1
    if name == "FROM_TODAY":
        n, unit = int(args[0]), args[1]
        if unit in ("DAYS", "WEEKS"):
            day = today + n * (7 if unit == "WEEKS" else 1)
        else:
            day = _add_months(today, n * (12 if unit == "YEARS" else 1))
        return day, day + 1
    shift = {"THIS": 0, "LAST": -1, "NEXT": 1}[name.split("_")[0]]
    if name in _WEEK_FUNCTIONS:
        # kintone's weeks start on Sunday; date.weekday() counts from Monday.
        sunday = today - (date.fromordinal(today).weekday() + 1) % 7 + 7 * shift
        if args:
            day = sunday + _WEEKDAYS.index(args[0])
            return day, day + 1
        return sunday, sunday + 7
    if name in _MONTH_FUNCTIONS:
        first = _add_months(_first_of_month(today), shift)
        following = _add_months(first, 1)
        if not args:
            return first, following
        day = following - 1 if args[0] == "LAST" else min(first + int(args[0]) - 1, following - 1)
        return day, day + 1
    # THIS_YEAR, LAST_YEAR, NEXT_YEAR
    year = date.fromordinal(today).year + shift
    if not date.min.year <= year <= date.max.year:
        raise query_syntax_error()
    return date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal() + 1


def _first_of_month(ordinal: int) -> int:
    return date.fromordinal(ordinal).replace(day=1).toordinal()


def _add_months(ordinal: int, months: int) -> int:
    """Calendar month arithmetic, clamping the day (Jan 31 + 1 month = Feb 28/29)."""
    start = date.fromordinal(ordinal)
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    if not date.min.year <= year <= date.max.year:
        raise query_syntax_error()
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day).toordinal()


def _bind_file(code: str, op: str, values: tuple[Value, ...]) -> Predicate:
    words = _words(_literal_texts(values)[0])

    def names(record: Record) -> list[str]:
        files = _raw(record, code)
        if not isinstance(files, list):
            return []
        return [f["name"] for f in files if isinstance(f, dict) and isinstance(f.get("name"), str)]

    return _negate_if(op == "not like", lambda r: any(_like(n, words) for n in names(r)))


# --------------------------------------------------------------------------- word search


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def _like(text: str, words: list[str]) -> bool:
    """kintone's `like`: a word search over a full-text index, not a substring test.

    The searched words must occur as a contiguous run of the value's words. Words written
    with non-ASCII characters (Japanese, above all) are matched inside a word as well,
    because kintone indexes such text by n-grams rather than by whitespace-separated words.
    """
    if not words:
        return True
    tokens = _words(text)
    last = len(words) - 1
    for start in range(len(tokens) - last):
        if all(
            _word_matches(words[j], tokens[start + j], first=j == 0, final=j == last)
            for j in range(len(words))
        ):
            return True
    return False


def _word_matches(word: str, token: str, *, first: bool, final: bool) -> bool:
    if word == token:
        return True
    if word.isascii():
        return False
    # An n-gram match may start inside the first token and end inside the last one.
    if first and final:
        return word in token
    if first:
        return token.endswith(word)
    if final:
        return token.startswith(word)
    return False


# --------------------------------------------------------------------------- ordering


def _sort_key(fdef: FieldDef, code: str) -> Callable[[Record], tuple[int, Any]]:
    """Empty values get a lower rank, so they come first ascending and last descending."""
    if fdef.type in _NUMBER_TYPES:

        def numeric(record: Record) -> tuple[int, Any]:
            number = _to_decimal(_raw(record, code))
            return (0, Decimal(0)) if number is None else (1, number)

        return numeric

    def textual(record: Record) -> tuple[int, Any]:
        text = _text(record, code)
        return (1, text) if text else (0, "")

    return textual


def _sort(records: list[Record], keys: tuple[SortKey, ...], fields: Mapping[str, FieldDef]) -> None:
    plan = [(key, _field(fields, key.field)) for key in keys]
    # kintone's own order ($id descending) comes last, deciding among ties.
    if "$id" in fields:
        plan.append((SortKey("$id", descending=True), fields["$id"]))
    # Python's sort is stable: sorting by the least significant key first composes them.
    for key, fdef in reversed(plan):
        records.sort(key=_sort_key(fdef, key.field), reverse=key.descending)


def _check_sort_keys(keys: tuple[SortKey, ...], fields: Mapping[str, FieldDef]) -> None:
    for key in keys:
        fdef = _field(fields, key.field)
        if fdef.type in _UNSORTABLE:
            raise KintoneApiError(
                400, "GAIA_IQ03", f"The field {key.field} cannot be used for sorting."
            )


# --------------------------------------------------------------------------- entry point


def select(
    query: str,
    fields: Mapping[str, FieldDef],
    records: Iterable[dict[str, Any]],
    *,
    now: datetime | None = None,
    fold: bool = False,
) -> Selection:
    """Run a kintone query over `records` of an app whose fields are `fields`.

    `now` fixes the clock for TODAY() and friends; `fold` makes text equality lenient the
    way real kintone's collation might be, to prove callers do not rely on it.
    """
    if not isinstance(query, str):
        raise query_syntax_error()
    parsed = parse(query)
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    ctx = _Context(now=now, fold=fold)
    predicate = _bind(parsed.where, fields, ctx) if parsed.where is not None else None
    _check_sort_keys(parsed.order_by, fields)

    matched = [r for r in records if predicate is None or predicate(r)]
    _sort(matched, parsed.order_by, fields)
    page = matched[parsed.offset : parsed.offset + parsed.limit]
    return Selection(records=page, total_count=len(matched))
