"""The emulator's state in SQLite: records, files and API tokens.

Records are kept whole in kintone's JSON shape, so what a GET returns is exactly what was
stored. One connection serves every request thread; a re-entrant lock makes each
`transaction()` (a check followed by a write, such as a unique check and the insert)
atomic.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from .schema import SYSTEM_FIELDS, AppDef, Seed, TokenDef

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    app INTEGER NOT NULL,
    id INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (app, id)
);
CREATE TABLE IF NOT EXISTS id_sequence (app INTEGER PRIMARY KEY, last_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS temp_files (
    file_key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    file_key TEXT PRIMARY KEY,
    app INTEGER NOT NULL,
    record_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS seeded (at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS unique_values (
    app INTEGER NOT NULL,
    code TEXT NOT NULL,
    value TEXT NOT NULL,
    record_id INTEGER NOT NULL,
    PRIMARY KEY (app, code, value, record_id)
);
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY,
    app INTEGER NOT NULL,
    permissions TEXT NOT NULL,
    active INTEGER NOT NULL
);
"""
_TABLES = ("records", "id_sequence", "temp_files", "files", "tokens", "seeded", "unique_values")


def kintone_time(moment: datetime) -> str:
    """A record's own timestamps (作成日時, 更新日時): kintone keeps them to the minute, in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:00Z")


def kintone_datetime(moment: datetime) -> str:
    """A DATETIME field's value: kintone keeps it to the second (not the fraction), in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def empty_value(field_type: str) -> Any:
    return [] if field_type in {"CHECK_BOX", "FILE"} else ""


def unique_key(field_type: str, value: Any) -> str | None:
    """What a unique field's value is compared by, or None when it is empty (never a clash)."""
    if value in ("", None):
        return None
    if field_type == "NUMBER":
        # "1", "1.0" and "-0"/"0" are the same number to a unique NUMBER field.
        number = Decimal(value)
        return "0" if number == 0 else str(number.normalize())
    return str(value)


@dataclass(frozen=True)
class StoredFile:
    file_key: str
    name: str
    content_type: str
    data: bytes
    app: int | None = None  # None while the file is only uploaded, not attached
    record_id: int | None = None


class Store:
    def __init__(self, seed: Seed, path: str = ":memory:") -> None:
        self.seed = seed
        # Seed records carry the same timestamps after every reset, so a reset state is
        # identical to the first one.
        self._seeded_at = kintone_time(datetime.now(UTC))
        self._lock = threading.RLock()
        self._depth = 0
        # Autocommit mode: transactions are opened explicitly by transaction().
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.executescript(_SCHEMA)
        # A database file keeps its state across restarts; only a new one is seeded.
        seeded = self._conn.execute("SELECT at FROM seeded").fetchone()
        if seeded is None:
            self.reset()
        else:
            self._seeded_at = seeded[0]
            # A file written before the index existed, or with another seed's fields.
            self._reindex_unique()

    # -- plumbing ---------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            outermost = self._depth == 0
            if outermost:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outermost:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outermost:
                self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def reset(self) -> None:
        with self.transaction():
            for table in _TABLES:
                self._conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            for app in self.seed.apps.values():
                for flat in app.records:
                    record_id = self.next_record_id(app.id)
                    self.insert_record(app, record_id, _seed_values(app, flat), self._seeded_at)
            for token in self.seed.tokens:
                self.put_token(token)
            self._conn.execute("INSERT INTO seeded VALUES (?)", (self._seeded_at,))

    # -- apps and records ---------------------------------------------------------------

    def app(self, app_id: int) -> AppDef | None:
        return self.seed.apps.get(app_id)

    def record(self, app_id: int, record_id: int) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT data FROM records WHERE app = ? AND id = ?", (app_id, record_id)
            ).fetchone()
        return None if row is None else json.loads(row[0])

    def records(self, app_id: int) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT data FROM records WHERE app = ? ORDER BY id", (app_id,)
            ).fetchall()
        return [json.loads(data) for (data,) in rows]

    def holds_unique(
        self, app_id: int, code: str, key: str, *, other_than: int | None = None
    ) -> bool:
        """Whether a record (other than `other_than`) holds `key` (a `unique_key`) in `code`."""
        with self._lock:
            row = self._conn.execute(
                "SELECT 1 FROM unique_values WHERE app = ? AND code = ? AND value = ?"
                " AND record_id != ? LIMIT 1",
                (app_id, code, key, -1 if other_than is None else other_than),
            ).fetchone()
        return row is not None

    def _index_unique(self, app_id: int, record: dict[str, Any]) -> None:
        # Kept beside the records so that a unique check is one lookup, not a read of
        # every record of the app (which made each add slower than the one before).
        app = self.seed.apps.get(app_id)
        if app is None:
            return
        record_id = int(record["$id"]["value"])
        for code, spec in app.fields.items():
            if not spec.unique or code not in record:
                continue
            key = unique_key(spec.type, record[code]["value"])
            if key is not None:
                self._conn.execute(
                    "INSERT OR IGNORE INTO unique_values VALUES (?, ?, ?, ?)",
                    (app_id, code, key, record_id),
                )

    def _reindex_unique(self) -> None:
        with self.transaction():
            self._conn.execute("DELETE FROM unique_values")
            rows = self._conn.execute("SELECT app, data FROM records").fetchall()
            for app_id, data in rows:
                self._index_unique(int(app_id), json.loads(data))

    def next_record_id(self, app_id: int) -> int:
        # kintone never reuses the id of a deleted record.
        with self.transaction():
            self._conn.execute("INSERT OR IGNORE INTO id_sequence VALUES (?, 0)", (app_id,))
            self._conn.execute(
                "UPDATE id_sequence SET last_id = last_id + 1 WHERE app = ?", (app_id,)
            )
            (record_id,) = self._conn.execute(
                "SELECT last_id FROM id_sequence WHERE app = ?", (app_id,)
            ).fetchone()
        return int(record_id)

    def insert_record(
        self, app: AppDef, record_id: int, values: dict[str, Any], now: str
    ) -> dict[str, Any]:
        """Store a new record from already checked user-field values."""
        record: dict[str, Any] = {}
        for code, spec in app.fields.items():
            if not spec.is_system:
                value = values.get(code, empty_value(spec.type))
                record[code] = {"type": spec.type, "value": value}
        record.update(_system_values(record_id, 1, now, now))
        with self.transaction():
            self._conn.execute(
                "INSERT INTO records VALUES (?, ?, 1, ?)",
                (app.id, record_id, json.dumps(record, ensure_ascii=False)),
            )
            self._index_unique(app.id, record)
        return record

    def replace_record(self, app_id: int, record: dict[str, Any], now: str) -> dict[str, Any]:
        """Write a changed record back, with the next revision."""
        record_id = int(record["$id"]["value"])
        revision = int(record["$revision"]["value"]) + 1
        record = dict(record)
        record.update(_system_values(record_id, revision, _created_time(record), now))
        with self.transaction():
            self._conn.execute(
                "UPDATE records SET revision = ?, data = ? WHERE app = ? AND id = ?",
                (revision, json.dumps(record, ensure_ascii=False), app_id, record_id),
            )
            self._conn.execute(
                "DELETE FROM unique_values WHERE app = ? AND record_id = ?", (app_id, record_id)
            )
            self._index_unique(app_id, record)
        return record

    def delete_records(self, app_id: int, record_ids: list[int]) -> None:
        with self.transaction():
            for record_id in record_ids:
                self._conn.execute(
                    "DELETE FROM records WHERE app = ? AND id = ?", (app_id, record_id)
                )
                self._conn.execute(
                    "DELETE FROM files WHERE app = ? AND record_id = ?", (app_id, record_id)
                )
                self._conn.execute(
                    "DELETE FROM unique_values WHERE app = ? AND record_id = ?",
                    (app_id, record_id),
                )

    # -- files --------------------------------------------------------------------------

    def put_temp_file(self, name: str, content_type: str, data: bytes) -> str:
        file_key = str(uuid.uuid4())
        with self.transaction():
            self._conn.execute(
                "INSERT INTO temp_files VALUES (?, ?, ?, ?)", (file_key, name, content_type, data)
            )
        return file_key

    def temp_file(self, file_key: str) -> StoredFile | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT file_key, name, content_type, data FROM temp_files WHERE file_key = ?",
                (file_key,),
            ).fetchone()
        return None if row is None else StoredFile(*row)

    def attach_file(self, temp_key: str, app_id: int, record_id: int) -> StoredFile:
        """Move an uploaded file onto a record under a new, permanent key.

        kintone hands out a different key for downloading than the one used to attach,
        and an uploaded key can be attached only once.
        """
        with self.transaction():
            temp = self.temp_file(temp_key)
            if temp is None:
                raise KeyError(temp_key)
            self._conn.execute("DELETE FROM temp_files WHERE file_key = ?", (temp_key,))
            stored = StoredFile(
                file_key=datetime.now(UTC).strftime("%Y%m%d%H%M%S") + secrets.token_hex(16).upper(),
                name=temp.name,
                content_type=temp.content_type,
                data=temp.data,
                app=app_id,
                record_id=record_id,
            )
            self._conn.execute(
                "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?)",
                (stored.file_key, app_id, record_id, stored.name, stored.content_type, stored.data),
            )
        return stored

    def attached_file(self, file_key: str) -> StoredFile | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT file_key, name, content_type, data, app, record_id FROM files"
                " WHERE file_key = ?",
                (file_key,),
            ).fetchone()
        return None if row is None else StoredFile(*row)

    def detach_files(self, file_keys: list[str]) -> None:
        with self.transaction():
            for file_key in file_keys:
                self._conn.execute("DELETE FROM files WHERE file_key = ?", (file_key,))

    # -- tokens -------------------------------------------------------------------------

    def token(self, token: str) -> TokenDef | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT token, app, permissions, active FROM tokens WHERE token = ?", (token,)
            ).fetchone()
        if row is None:
            return None
        return TokenDef(row[0], row[1], frozenset(json.loads(row[2])), bool(row[3]))

    def put_token(self, token: TokenDef) -> None:
        with self.transaction():
            self._conn.execute(
                "INSERT OR REPLACE INTO tokens VALUES (?, ?, ?, ?)",
                (token.token, token.app, json.dumps(sorted(token.permissions)), int(token.active)),
            )

    def delete_token(self, token: str) -> bool:
        with self.transaction():
            cursor = self._conn.execute("DELETE FROM tokens WHERE token = ?", (token,))
        return cursor.rowcount > 0


def _system_values(record_id: int, revision: int, created: str, updated: str) -> dict[str, Any]:
    by_type = {
        "__ID__": str(record_id),
        "__REVISION__": str(revision),
        "RECORD_NUMBER": str(record_id),
        "CREATED_TIME": created,
        "UPDATED_TIME": updated,
    }
    return {code: {"type": t, "value": by_type[t]} for code, t in SYSTEM_FIELDS.items()}


def _created_time(record: dict[str, Any]) -> str:
    return next(v["value"] for v in record.values() if v.get("type") == "CREATED_TIME")


def _seed_values(app: AppDef, flat: dict[str, Any]) -> dict[str, Any]:
    """Seed records are written by hand; bring YAML scalars into kintone's string shapes."""
    values: dict[str, Any] = {}
    for code, raw in flat.items():
        spec = app.fields.get(str(code))
        if spec is None or spec.is_system or spec.type == "FILE":
            continue
        if raw is None:
            values[spec.code] = empty_value(spec.type)
        elif spec.type == "CHECK_BOX":
            values[spec.code] = [str(item) for item in (raw if isinstance(raw, list) else [raw])]
        elif isinstance(raw, datetime):
            values[spec.code] = kintone_datetime(raw if raw.tzinfo else raw.replace(tzinfo=UTC))
        elif isinstance(raw, date):
            values[spec.code] = raw.isoformat()
        else:
            values[spec.code] = str(raw)
    return values
