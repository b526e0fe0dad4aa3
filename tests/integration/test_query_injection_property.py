"""For ANY string, a compiled `field = value` returns exactly the records equal to it.

Each example resets the emulator, stores the value and its near neighbours (the same text
with a trailing space, another case, an extra backslash or quote, a prefix...), then
compares what the compiled query returns with the records whose field equals the value
code point for code point. A value the compiler refuses must be one the caller got wrong.
"""

import unicodedata

import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sekisho.kintone.breaker import CircuitBreaker
from sekisho.kintone.client import KintoneClient, TokenSource
from sekisho.kintone.query import Predicate, QueryValueError, compile_query
from sekisho.kintone.retry import RetryPolicy

pytestmark = pytest.mark.emulator

FIELD, APP, MAX = "担当ID", 1, 64  # the seed caps 担当ID at 64 characters

TRICKY = [
    "A1",
    "A1 ",
    "a1",
    "B\\",
    "\\",
    '"',
    '\\"',
    '"\\',
    "TODAY()",
    'x" or 担当ID != "',
    '") or ("',
    "A1\\",
    '" and $id > "0',
    "Ａ１",
    "ｱ",
    "田中",
    "not in",
    " ",
    "  ",
]
values = st.one_of(
    st.text(max_size=MAX),
    st.text(alphabet="\\\"() Aa1=!<>,'ＡＡ\u3000", max_size=12),
    st.sampled_from(TRICKY),
)


def neighbours(value: str) -> list[str]:
    candidates = {
        value,
        value + " ",
        " " + value,
        value.upper(),
        value.lower(),
        value.casefold(),
        value + "\\",
        value + '"',
        "\\" + value,
        value[:-1],
        value[1:],
        value + value[-1:],
        unicodedata.normalize("NFKC", value),
        value.rstrip(),
        value.strip(),
    }
    return sorted(v for v in candidates if v and len(v) <= MAX and _storable(v))


def _storable(value: str) -> bool:
    return not any(unicodedata.category(c) in ("Cc", "Cs") for c in value)


@pytest.fixture(scope="module")
def clients(emulator):
    def make(token):
        return KintoneClient(
            emulator.url,
            TokenSource.fixed(token),
            session=requests.Session(),
            retry=RetryPolicy(max_attempts=1),
            breaker=CircuitBreaker(failure_threshold=10_000),
        )

    return make("deals-add-token"), make("deals-view-token")


@settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(value=values)
@example(value="")
@example(value="A\n1")
@example(value="x" * (MAX + 1))
def test_compiled_equality_returns_exactly_the_equal_records(emulator, clients, value):
    adder, viewer = clients
    try:
        query = compile_query(
            [Predicate(FIELD, "SINGLE_LINE_TEXT", value, max_length=MAX)], limit=500
        )
    except QueryValueError:
        # Refused only for the caller's own mistakes: empty, too long, control characters.
        assert value == "" or len(value) > MAX or not _storable(value)
        return

    emulator.reset()
    for neighbour in neighbours(value):
        adder.add_record(APP, {FIELD: neighbour})
    everything = viewer.get_records(APP, "limit 500", fields=["$id", FIELD]).records
    expected = sorted(r["$id"]["value"] for r in everything if r[FIELD]["value"] == value)

    found = viewer.get_records(APP, query, fields=["$id", FIELD]).records

    assert sorted(r["$id"]["value"] for r in found) == expected
    assert expected, "the value itself was stored, so at least one record must match"
