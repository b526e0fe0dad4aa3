"""kintone refetch: hand on kintone's current record, never the posted body.

kintone signs nothing, so a body that passed the URL token is still only a claim that
"record N of app A changed". The receiver re-reads record N (its declared fields only)
with a view-only token and trusts that: a forged ADD_RECORD for a record that does not
exist is refused, and a forged DELETE_RECORD for a record that still exists too. While
kintone cannot answer, the event is handed on as an identity only (``refetched: false``,
no record): the consumer must read the record itself, and no unverified content travels.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sekisho.kintone.client import KintoneClient, Timeouts
from sekisho.kintone.errors import KintoneTransientError
from sekisho.kintone.retry import RetryPolicy

from .delivery import json_field
from .errors import MalformedDelivery, RecordMismatch, RecordMissing

if TYPE_CHECKING:
    from sekisho.policy import WebhookRefetch

logger = logging.getLogger(__name__)

# The sender waits for the answer (and kintone's own webhook gives up after seconds): one
# quick retry, and past that the event goes on as an identity for its consumer to read.
REFETCH_RETRY = RetryPolicy(max_attempts=2, budget=3.0)
REFETCH_TIMEOUTS = Timeouts(connect=2.0, read=4.0)

_RECORD_ID = re.compile(r"[1-9][0-9]{0,18}")
# Notifications about a record that must exist when the receiver reads it.
_EXISTING = frozenset({"ADD_RECORD", "UPDATE_RECORD", "UPDATE_STATUS", "ADD_RECORD_COMMENT"})
_DELETED = "DELETE_RECORD"


def _record_id(body: dict[str, Any]) -> str:
    record = body.get("record")
    raw = json_field(record, "$id", "value") if isinstance(record, dict) else body.get("recordId")
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str) or not _RECORD_ID.fullmatch(raw):
        raise MalformedDelivery("the event names no usable record id")
    return raw


def _app_id(body: dict[str, Any]) -> str | None:
    value = json_field(body, "app", "id")
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None


class Refetcher:
    def __init__(self, clients: Callable[[str], KintoneClient]) -> None:
        self._clients = clients

    def event(self, refetch: WebhookRefetch, body: dict[str, Any]) -> dict[str, Any]:
        """The fields of the queued event that replace the posted body."""
        kind = body.get("type")
        if not isinstance(kind, str) or (kind not in _EXISTING and kind != _DELETED):
            raise MalformedDelivery("the event type is not one kintone sends")
        if _app_id(body) != str(refetch.app):
            raise RecordMismatch("the event names another app")
        record_id = _record_id(body)
        identity = {"app": refetch.app, "record_id": record_id}
        try:
            # One read of the declared fields only: the view token could read them all.
            page = self._clients(refetch.token_secret).get_records(
                refetch.app,
                f"$id = {record_id}",
                fields=(*refetch.fields, "$id", "$revision"),
            )
        except KintoneTransientError as exc:
            logger.warning(
                "kintone refetch deferred", extra={"app": refetch.app, "error": type(exc).__name__}
            )
            return {"refetched": False, **identity, "record": None}
        found = [r for r in page.records if r.get("$id", {}).get("value") == record_id]
        if kind == _DELETED:
            if found:
                raise RecordMismatch("a deleted record still exists")
            return {"refetched": True, **identity, "record": None}
        if not found:
            raise RecordMissing("the notified record does not exist")
        return {"refetched": True, **identity, "record": found[0]}
