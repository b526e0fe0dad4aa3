"""A verified event as WebhookFunction queued it, and the document an action reads.

The message body is the envelope WebhookFunction writes (``source``, ``scheme``,
``dedupe_key``, ``event_type``, ``received_at``) with either the verified ``body`` as text
or, for a kintone source with refetch, the record kintone itself returned (``refetched``,
``app``, ``record_id``, ``record``). Pointers read a JSON document: the parsed body, or
for a refetch source a document shaped like kintone's webhook body whose ``record`` is
the refetched one, so ``/record/<code>/value`` means the same as in kintone's own event.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .errors import MalformedEvent

_REQUIRED = ("source", "scheme", "dedupe_key")


@dataclass(frozen=True)
class QueuedEvent:
    source: str
    scheme: str
    dedupe_key: str
    event_type: str | None
    body: str | None = field(default=None, repr=False)
    # A refetch source's event: what kintone answered when the receiver re-read it.
    refetched: bool | None = None
    app: int | None = None
    record_id: str | None = None
    record: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def ledger_key(self) -> str:
        """One key per event of one source (the same key WebhookFunction dedupes by)."""
        return f"{self.source}#{self.dedupe_key}"

    @classmethod
    def from_message(cls, body: str, attributes: Any) -> QueuedEvent:
        try:
            raw = json.loads(body)
        except (ValueError, RecursionError, TypeError):
            raise MalformedEvent("the message is not JSON") from None
        if not isinstance(raw, dict):
            raise MalformedEvent("the message is not a JSON object")
        for name in _REQUIRED:
            if not isinstance(raw.get(name), str) or not raw[name]:
                raise MalformedEvent(f"the message has no {name}")
        event_type = raw.get("event_type")
        if event_type is not None and not isinstance(event_type, str):
            raise MalformedEvent("the message's event_type is not a string")
        _check_attributes(raw, attributes)
        if "body" in raw:
            if not isinstance(raw["body"], str):
                raise MalformedEvent("the message's body is not text")
            return cls(raw["source"], raw["scheme"], raw["dedupe_key"], event_type, raw["body"])
        refetched, app, record_id, record = (
            raw.get(k) for k in ("refetched", "app", "record_id", "record")
        )
        if (
            not isinstance(refetched, bool)
            or not isinstance(app, int)
            or not isinstance(record_id, str)
            or not (record is None or isinstance(record, dict))
        ):
            raise MalformedEvent("the message carries neither a body nor a refetched record")
        return cls(
            raw["source"],
            raw["scheme"],
            raw["dedupe_key"],
            event_type,
            refetched=refetched,
            app=app,
            record_id=record_id,
            record=record,
        )

    def document(self) -> Any:
        """What the action's pointers read."""
        if self.body is not None:
            try:
                return json.loads(self.body)
            except (ValueError, RecursionError):
                raise MalformedEvent("the event body is not JSON") from None
        return {
            "id": self.dedupe_key,
            "type": self.event_type,
            "app": {"id": str(self.app)},
            "recordId": self.record_id,
            "record": self.record,
        }

    def notification(self) -> dict[str, Any]:
        """What a kintone notification of this event says, for a refetch of its record."""
        return {"type": self.event_type, "app": {"id": str(self.app)}, "recordId": self.record_id}

    def with_record(self, record: dict[str, Any] | None) -> QueuedEvent:
        return QueuedEvent(
            self.source,
            self.scheme,
            self.dedupe_key,
            self.event_type,
            refetched=True,
            app=self.app,
            record_id=self.record_id,
            record=record,
        )


def _check_attributes(raw: dict[str, Any], attributes: Any) -> None:
    """The message attributes, when present, must say what the body says."""
    if not isinstance(attributes, dict):
        return
    for name in ("dedupe_key", "source"):
        attribute = attributes.get(name)
        if attribute is None:
            continue
        if not isinstance(attribute, dict) or attribute.get("stringValue") != raw[name]:
            raise MalformedEvent(f"the {name} attribute differs from the body's")
