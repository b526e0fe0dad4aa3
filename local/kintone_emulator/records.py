"""Record operations: read, select, add, update and delete, as kintone performs them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from . import query
from .errors import KintoneApiError, validation_error
from .schema import AppDef
from .store import Store, StoredFile, kintone_time, unique_key
from .validation import Checked, check_record, value_path

DUPLICATE = "This value already exists in another record."


def record_not_found(record_id: int) -> KintoneApiError:
    return KintoneApiError(
        404, "GAIA_RE01", f"The specified record (ID: {record_id}) is not found."
    )


def file_not_found(file_key: str) -> KintoneApiError:
    return KintoneApiError(404, "GAIA_BL01", f"The specified file (id: {file_key}) not found.")


def get_record(store: Store, app: AppDef, record_id: int) -> dict[str, Any]:
    record = store.record(app.id, record_id)
    if record is None:
        raise record_not_found(record_id)
    return record


def select_records(
    store: Store,
    app: AppDef,
    query_text: str,
    fields: Sequence[str] | None,
    *,
    fold: bool,
) -> query.Selection:
    selection = query.select(query_text, app.fields, store.records(app.id), fold=fold)
    if not fields:
        return selection
    wanted = list(dict.fromkeys(fields))
    projected = [{code: rec[code] for code in wanted if code in rec} for rec in selection.records]
    return query.Selection(records=projected, total_count=selection.total_count)


def add_record(store: Store, app: AppDef, raw: Any) -> dict[str, Any]:
    now = kintone_time(datetime.now(UTC))
    with store.transaction():
        checked = check_record(app, raw, partial=False)
        _check_unique(store, app, checked, own_id=None)
        if checked.errors:
            raise validation_error(checked.errors)
        uploads = _uploaded_files(store, app, checked)
        record_id = store.next_record_id(app.id)
        values = dict(checked.values)
        for code, keys in uploads.items():
            values[code] = [_file_value(store.attach_file(k, app.id, record_id)) for k in keys]
        return store.insert_record(app, record_id, values, now)


def update_record(
    store: Store, app: AppDef, record_id: int, raw: Any, revision: int | None
) -> dict[str, Any]:
    now = kintone_time(datetime.now(UTC))
    with store.transaction():
        current = get_record(store, app, record_id)
        if revision is not None and revision != -1:
            _check_revision(current, revision)
        checked = check_record(app, raw, partial=True)
        _check_unique(store, app, checked, own_id=record_id)
        if checked.errors:
            raise validation_error(checked.errors)
        uploads = _uploaded_files(store, app, checked)
        record = dict(current)
        for code, value in checked.values.items():
            new_value = value
            if code in uploads:
                # Files not sent again are removed from the record, as in kintone.
                store.detach_files([f["fileKey"] for f in current[code]["value"]])
                new_value = [_file_value(store.attach_file(k, app.id, record_id)) for k in value]
            record[code] = {"type": app.fields[code].type, "value": new_value}
        return store.replace_record(app.id, record, now)


def delete_records(
    store: Store, app: AppDef, record_ids: list[int], revisions: list[int] | None
) -> None:
    with store.transaction():
        # All or nothing: one missing id or stale revision and nothing is deleted.
        for index, record_id in enumerate(record_ids):
            current = get_record(store, app, record_id)
            if revisions is not None and revisions[index] != -1:
                _check_revision(current, revisions[index])
        store.delete_records(app.id, record_ids)


def _check_revision(current: dict[str, Any], revision: int) -> None:
    if str(revision) != current["$revision"]["value"]:
        raise KintoneApiError(
            409,
            "GAIA_CO02",
            "The revision is not the latest. Someone may update a record after you opened it.",
        )


def _check_unique(store: Store, app: AppDef, checked: Checked, own_id: int | None) -> None:
    unique = [
        code
        for code, value in checked.values.items()
        if app.fields[code].unique and value not in ("", None)
    ]
    if not unique:
        return
    for code in unique:
        key = unique_key(app.fields[code].type, checked.values[code])
        if key is not None and store.holds_unique(app.id, code, key, other_than=own_id):
            checked.fail(value_path(code), DUPLICATE)


def _uploaded_files(store: Store, app: AppDef, checked: Checked) -> dict[str, list[str]]:
    """The FILE fields being set, each checked to name files uploaded and not yet attached."""
    uploads = {c: v for c, v in checked.values.items() if app.fields[c].type == "FILE"}
    seen: set[str] = set()
    for keys in uploads.values():
        for key in keys:
            if key in seen or store.temp_file(key) is None:
                raise file_not_found(key)
            seen.add(key)
    return uploads


def _file_value(stored: StoredFile) -> dict[str, str]:
    return {
        "contentType": stored.content_type,
        "fileKey": stored.file_key,
        "name": stored.name,
        "size": str(len(stored.data)),
    }
