"""RunOnce.stored: a look at a key's stored answer that claims and changes nothing."""

from __future__ import annotations

from sekisho.once import InMemoryPersistenceLayer, RunOnce


def run_once(persistence: InMemoryPersistenceLayer, expires: int = 3600) -> RunOnce:
    return RunOnce(persistence, key_prefix="test.once", expires_after_seconds=expires)


def test_a_finished_call_is_read_back_without_its_attempt_id():
    persistence = InMemoryPersistenceLayer()
    once = run_once(persistence)
    once.run(key="k", payload="p", action=lambda: {"answer": 1})
    assert once.stored(key="k", payload="p") == {"answer": 1}


def test_a_fresh_key_reads_none_and_leaves_no_record():
    persistence = InMemoryPersistenceLayer()
    once = run_once(persistence)
    assert once.stored(key="fresh", payload="p") is None
    assert len(persistence) == 0
    # Nothing was claimed: the first real call still runs its action.
    assert once.run(key="fresh", payload="p", action=lambda: {"ran": True}).replayed is False


def test_another_payload_under_the_key_reads_none():
    persistence = InMemoryPersistenceLayer()
    once = run_once(persistence)
    once.run(key="k", payload="p", action=lambda: {"answer": 1})
    assert once.stored(key="k", payload="other") is None


def test_a_call_still_running_reads_none():
    persistence = InMemoryPersistenceLayer()
    once = run_once(persistence)
    seen = []
    once.run(key="k", action=lambda: seen.append(once.stored(key="k")) or {"answer": 1})
    assert seen == [None]


def test_an_expired_answer_reads_none():
    persistence = InMemoryPersistenceLayer()
    once = run_once(persistence, expires=-10)
    once.run(key="k", action=lambda: {"answer": 1})
    assert once.stored(key="k") is None


def test_a_store_that_cannot_be_read_reads_none():
    persistence = InMemoryPersistenceLayer()
    once = run_once(persistence)
    once.run(key="k", action=lambda: {"answer": 1})
    persistence.fail = True
    assert once.stored(key="k") is None


def test_a_look_before_any_call_reads_the_key_a_later_call_stores():
    # stored() configures the layer itself; the key it computes must be run()'s.
    persistence = InMemoryPersistenceLayer()
    once = run_once(persistence)
    assert once.stored(key="k") is None
    once.run(key="k", action=lambda: {"answer": 2})
    assert once.stored(key="k") == {"answer": 2}
