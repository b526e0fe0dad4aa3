"""The first-response bench's bare relays (tests/bench/bare_relays.py) stay honest: for its
bench event, each makes the same AWS calls (service, operation, table/queue/secret) and
the same kintone requests as the sekisho function it stands beside, and answers the same.

Each side runs as the bench runs it: a fresh process against moto's server and the
emulator, with every botocore call and every requests send noted by the child."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.bench.first_response_child import run_child
from tests.bench.first_response_events import EVENT_BUILDERS
from tests.bench.first_response_stack import (
    FUNCTIONS,
    Stack,
    bare_target,
    snapstart_target,
    stack,
)

# What differs by nature between two answers: a fresh receipt, a ref signed over it.
_FRESH = {"receipt", "ref", "受付ID"}


@pytest.fixture(scope="module")
def running() -> Iterator[Stack]:
    with stack() as started:
        yield started


def _shape(answer: dict[str, Any]) -> Any:
    body = answer.get("body")
    if isinstance(body, str) and body.startswith(("{", "[")):
        body = json.loads(body)

    def blank(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: "…" if k in _FRESH else blank(v) for k, v in value.items()}
        if isinstance(value, list):
            return [blank(v) for v in value]
        return value

    return {**answer, "body": blank(body)}


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_each_bare_relay_makes_the_same_calls_and_answers_the_same(running, name):
    own = run_child(running.targets[name], EVENT_BUILDERS[name](running, 1), record_calls=True)
    bare = run_child(
        bare_target(name, running), EVENT_BUILDERS[name](running, 2), record_calls=True
    )
    assert own.calls, f"{name}: the recorder saw no call"
    assert Counter(map(tuple, bare.calls)) == Counter(map(tuple, own.calls))
    assert _shape(bare.answer) == _shape(own.answer)


def test_the_recorder_sees_a_call_the_relay_leaves_out(running):
    # The comparison above could not fail if the recorder saw nothing of the bare relay.
    bare = run_child(bare_target("lookup", running), EVENT_BUILDERS["lookup"](running, 3),
                     record_calls=True)  # fmt: skip
    calls = Counter(map(tuple, bare.calls))
    assert calls[("aws", "dynamodb", "UpdateItem", "GuardTable")] == 2
    (asked,) = [
        json.loads(c[3]) for c in bare.calls if c[:3] == ["kintone", "GET", "/k/v1/records.json"]
    ]
    params, fields, *_ = asked
    # The request itself, not only its path: a field asked for or left out shows.
    assert ["app", "1"] in params
    assert "$id" in fields


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_a_function_restored_from_a_snapstart_snapshot_answers_as_a_cold_one(running, name):
    # The init with SnapStart on, the runtime's hooks in their order (before the snapshot,
    # after the restore), then the bench event: the same answer and the same calls as a
    # cold start (secrets read again, connections opened again), and no client left for
    # the first request to build (every one the function's role allows is in the snapshot).
    cold = run_child(running.targets[name], EVENT_BUILDERS[name](running, 4), record_calls=True)
    restored = run_child(
        snapstart_target(running.targets[name]), EVENT_BUILDERS[name](running, 5),
        record_calls=True,
    )  # fmt: skip
    assert restored.restored is not None, f"{name}: the child was not restored"
    assert _shape(restored.answer) == _shape(cold.answer)
    assert Counter(map(tuple, restored.calls)) == Counter(map(tuple, cold.calls))
    assert restored.built_after_restore == []
