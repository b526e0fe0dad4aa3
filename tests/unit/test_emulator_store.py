"""The emulator's SQLite state: seeding, reset and keeping state in a file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from kintone_emulator.errors import KintoneApiError
from kintone_emulator.records import add_record
from kintone_emulator.schema import load_seed, parse_seed
from kintone_emulator.store import Store


@pytest.fixture
def store() -> Iterator[Store]:
    seeded = Store(load_seed())
    yield seeded
    seeded.close()


def test_seed_records_get_ids_in_seed_order_and_every_field(store: Store) -> None:

    records = store.records(1)

    assert [r["$id"]["value"] for r in records] == [str(n) for n in range(1, 10)]
    assert records[0]["取引ID"] == {"type": "SINGLE_LINE_TEXT", "value": "D000001"}
    assert records[0]["金額"] == {"type": "NUMBER", "value": "1200000"}
    (application,) = store.records(2)
    assert application["$id"]["value"] == "1"
    assert application["支払状況"] == {"type": "DROP_DOWN", "value": "未払い"}
    # Fields the seed leaves out are stored empty, as kintone stores them.
    assert application["決済額"] == {"type": "NUMBER", "value": ""}
    assert application["履歴書"] == {"type": "FILE", "value": []}
    assert store.records(3) == []


def test_reset_restores_the_seed_exactly(store: Store) -> None:
    seeded = store.records(1)
    add_record(store, store.seed.apps[1], {"取引ID": {"value": "D000100"}})
    store.delete_records(1, [1])

    store.reset()

    assert store.records(1) == seeded


def test_a_database_file_keeps_its_state_across_restarts(tmp_path: Path) -> None:
    path = str(tmp_path / "kintone.sqlite3")
    first = Store(load_seed(), path)
    add_record(first, first.seed.apps[2], {"氏名": {"value": "佐藤"}, "メール": {"value": "s@x"}})
    first.close()

    second = Store(load_seed(), path)

    # After the seed's one application.
    assert [r["氏名"]["value"] for r in second.records(2)] == ["山田 花子", "佐藤"]
    second.close()


def test_a_failed_add_leaves_nothing_behind(store: Store) -> None:
    app = store.seed.apps[2]
    seeded = store.records(2)
    file_key = store.put_temp_file("a.txt", "text/plain", b"a")
    person = {"氏名": {"value": "佐藤"}, "メール": {"value": "s@x"}}
    files = {"履歴書": {"value": [{"fileKey": file_key}, {"fileKey": "missing"}]}}

    with pytest.raises(KintoneApiError) as failed:
        add_record(store, app, {**person, **files})

    assert failed.value.code == "GAIA_BL01"

    assert store.records(2) == seeded
    assert store.temp_file(file_key) is not None
    # The failed add took no record id: the next add gets the one after the seed's.
    assert add_record(store, app, person)["$id"]["value"] == str(len(seeded) + 1)


def test_a_seed_datetime_keeps_its_seconds_and_the_record_timestamps_their_minutes() -> None:
    tokyo = timezone(timedelta(hours=9))
    seed = parse_seed(
        {
            "apps": [
                {
                    "id": 1,
                    "name": "times",
                    "fields": {"日時": {"type": "DATETIME"}},
                    # YAML reads an unquoted timestamp as a datetime.
                    "records": [{"日時": datetime(2026, 12, 6, 19, 15, 30, 250_000, tzinfo=tokyo)}],
                }
            ]
        }
    )
    store = Store(seed)
    try:
        (record,) = store.records(1)
    finally:
        store.close()

    assert record["日時"] == {"type": "DATETIME", "value": "2026-12-06T10:15:30Z"}
    assert record["作成日時"]["value"].endswith(":00Z")
