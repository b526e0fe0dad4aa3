"""One event, one kintone write, exactly once: the receipt field is kintone's own ledger.

- ``add`` writes the event's receipt into a unique field: kintone refuses a second add
  with a unique violation on it, which means "already applied".
- ``update`` reads the record with its key (the read token asks for ``$id``,
  ``$revision``, the key and the receipt field only), stops if the receipt already holds
  this event, and otherwise writes the mapped fields and the receipt **against the
  revision it read**. A concurrent change (GAIA_CO02) starts over from the read, so the
  decision "not applied yet" is never acted on once stale.
- ``upsert`` is an update when the key exists, else an add that also writes the key; an
  add that loses the race to another (a unique violation on the key) starts over too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sekisho.errors import ConfigurationError
from sekisho.kintone.client import KintoneClient
from sekisho.kintone.errors import KintoneValidationError
from sekisho.kintone.query import Predicate, QueryValueError, compile_query
from sekisho.kintone.writes import Added, add_with_receipt, update_at_revision

from .errors import RevisionConflict, TargetAmbiguous, TargetMissing, ValueInvalid, WriteRefused
from .mapping import Write

if TYPE_CHECKING:
    from sekisho.policy import ActionPolicy

# Reads and writes before a record that keeps changing is left for a later receive.
MAX_ROUNDS = 3
APPLIED = "applied"
DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Target:
    id: str
    revision: str
    receipt: str


class ActionWriter:
    def __init__(self, clients: Callable[[str], KintoneClient]) -> None:
        self._clients = clients

    def apply(
        self,
        action: ActionPolicy,
        types: Mapping[str, str],
        write: Write,
        receipt: str,
        record_ids: list[str] | None = None,
    ) -> str:
        """``applied`` when written now, ``duplicate`` when kintone already had it.

        ``record_ids`` gets the id of the record written, for the audit line."""
        written = [] if record_ids is None else record_ids
        if action.operation == "add":
            outcome = self._add(action, {**write.values, action.receipt_field: receipt}, written)
            return outcome or DUPLICATE
        if action.key is None or action.read_secret is None or write.key is None:
            # The policy model refuses such an action: this is a bug, not an event.
            raise ConfigurationError(f"an {action.operation} action needs a key and a read token")
        key_field, key = action.key.field, write.key
        for _ in range(MAX_ROUNDS):
            target = self._find(action, action.read_secret, types, key_field, key)
            if target is None:
                if action.operation == "update":
                    raise TargetMissing(f"no record has that {key_field}", field=key_field)
                values = {**write.values, key_field: key, action.receipt_field: receipt}
                outcome = self._add(action, values, written)
                if outcome is not None:
                    return outcome
                continue  # another writer added the key first: update that record
            if target.receipt == receipt:
                return DUPLICATE
            if self._update(action, target, {**write.values, action.receipt_field: receipt}):
                written.append(target.id)
                return APPLIED
        raise RevisionConflict("the record kept changing while the event was applied")

    # -- steps ---------------------------------------------------------------------

    def _add(self, action: ActionPolicy, values: dict[str, Any], written: list[str]) -> str | None:
        """APPLIED, DUPLICATE, or None when the key (not the receipt) already exists."""
        client = self._clients(action.token_secret)
        key_field = action.key.field if action.key is not None else None
        try:
            added = add_with_receipt(
                client, action.app, values, receipt_field=action.receipt_field, key_field=key_field
            )
        except KintoneValidationError as exc:  # a unique violation elsewhere included
            raise _refused(exc) from exc
        if added.record_id is not None:
            written.append(added.record_id)
        return {Added.WRITTEN: APPLIED, Added.DUPLICATE: DUPLICATE}.get(added.added)

    def _update(self, action: ActionPolicy, target: Target, values: dict[str, Any]) -> bool:
        """True when written; False when the record changed (or vanished) since its read."""
        client = self._clients(action.token_secret)
        try:
            return update_at_revision(client, action.app, int(target.id), values, target.revision)
        except KintoneValidationError as exc:
            raise _refused(exc) from exc

    def _find(
        self,
        action: ActionPolicy,
        read_secret: str,
        types: Mapping[str, str],
        code: str,
        key: str,
    ) -> Target | None:
        try:
            query = compile_query([Predicate(code, types[code], key)], limit=2)
        except QueryValueError as exc:
            raise ValueInvalid(f"the key {code} cannot be looked up", field=code) from exc
        page = self._clients(read_secret).get_records(
            action.app, query, fields=("$id", "$revision", code, action.receipt_field)
        )
        # kintone may fold case, width or trailing spaces: only an exact key counts.
        found = [r for r in page.records if _value(r, code) == key]
        if len(found) > 1:
            raise TargetAmbiguous(f"more than one record has that {code}", field=code)
        if not found:
            return None
        record = found[0]
        return Target(
            _value(record, "$id"), _value(record, "$revision"), _value(record, action.receipt_field)
        )


def _value(record: Mapping[str, Any], code: str) -> str:
    cell = record.get(code)
    value = cell.get("value") if isinstance(cell, dict) else None
    return value if isinstance(value, str) else ""


def _refused(exc: KintoneValidationError) -> WriteRefused:
    fields = sorted(exc.fields())
    return WriteRefused(
        f"kintone refused the values of {', '.join(fields) or 'the record'}",
        field=fields[0] if fields else None,
    )
