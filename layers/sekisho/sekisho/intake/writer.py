"""Write one submission to kintone: upload its files, then add the record with them.

Shared by the synchronous intake path and the deliverer, so both write exactly the same
record. The receipt makes the add exactly-once (:mod:`sekisho.kintone.writes`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sekisho.kintone.client import KintoneClient
from sekisho.kintone.writes import Added, add_with_receipt


class FileContent(Protocol):
    """A file to attach (``sekisho.forms.Attachment`` and :class:`AttachmentFile` fit)."""

    @property
    def field(self) -> str: ...  # kintone field code

    @property
    def filename(self) -> str: ...

    @property
    def content_type(self) -> str: ...

    @property
    def data(self) -> bytes: ...


@dataclass(frozen=True)
class AttachmentFile:
    field: str
    filename: str
    content_type: str
    data: bytes = dataclasses.field(repr=False)


def write_submission(
    client: KintoneClient,
    *,
    app: int,
    receipt_field: str,
    receipt: str,
    record: Mapping[str, Any],
    files: Iterable[FileContent],
    before_call: Callable[[], None] = lambda: None,
    record_ids: list[str] | None = None,
) -> bool:
    """Add the record; True when written now, False when it was already there.

    ``record_ids`` gets the new record's id, for the audit line.

    ``before_call`` runs before each kintone call and may raise to stop (no time left).
    kintone errors other than a unique violation on the receipt propagate unchanged.
    """
    file_keys: dict[str, list[dict[str, str]]] = {}
    for item in files:
        before_call()
        key = client.upload_file(item.filename, item.data, item.content_type)
        file_keys.setdefault(item.field, []).append({"fileKey": key})
    values = {**record, **file_keys, receipt_field: receipt}
    before_call()
    result = add_with_receipt(client, app, values, receipt_field=receipt_field)
    if record_ids is not None and result.record_id is not None:
        record_ids.append(result.record_id)
    return result.added is Added.WRITTEN


def undeclared_codes(form: Any, record: Mapping[str, Any], file_fields: Iterable[str]) -> list[str]:
    """Field codes a write would set that the form does not declare (presets included).

    kintone silently ignores unknown codes and would happily fill any real field the
    token may write (an internal memo), so nothing undeclared is ever sent.
    """
    values = {f.code for f in form.fields.values() if f.type != "file"} | set(form.presets)
    if getattr(form, "waitlist", None) is not None:
        values.add(form.waitlist.field)
    files = {f.code for f in form.fields.values() if f.type == "file"}
    wrong = [code for code in record if code not in values or code == form.receipt_field]
    wrong += [code for code in file_fields if code not in files]
    return sorted(set(wrong))
