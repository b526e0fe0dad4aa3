"""Webhook actions: a verified event becomes one declared kintone write, exactly once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sekisho.lazy import lazy_exports

# Loaded on first use (sekisho.lazy): a function loads only the submodules it asks for.
_EXPORTS = {
    "SKIPPED": ".condition",
    "Unmet": ".condition",
    "unmet_condition": ".condition",
    "InMemoryDeadLetters": ".dead_letters",
    "SqsDeadLetters": ".dead_letters",
    "ActionInProgress": ".errors",
    "ActionRefused": ".errors",
    "DeadLetterUnavailable": ".errors",
    "LedgerUnavailable": ".errors",
    "MalformedEvent": ".errors",
    "PointerMissing": ".errors",
    "RecordGone": ".errors",
    "RevisionConflict": ".errors",
    "TargetAmbiguous": ".errors",
    "TargetMissing": ".errors",
    "ValueInvalid": ".errors",
    "WriteRefused": ".errors",
    "QueuedEvent": ".event",
    "Write": ".mapping",
    "map_event": ".mapping",
    "KEY_PREFIX": ".service",
    "LEDGER_SECONDS": ".service",
    "ActionService": ".service",
    "APPLIED": ".writes",
    "DUPLICATE": ".writes",
    "ActionWriter": ".writes",
}

__all__ = [
    "APPLIED",
    "DUPLICATE",
    "KEY_PREFIX",
    "LEDGER_SECONDS",
    "SKIPPED",
    "ActionInProgress",
    "ActionRefused",
    "ActionService",
    "ActionWriter",
    "DeadLetterUnavailable",
    "InMemoryDeadLetters",
    "LedgerUnavailable",
    "MalformedEvent",
    "PointerMissing",
    "QueuedEvent",
    "RecordGone",
    "RevisionConflict",
    "SqsDeadLetters",
    "TargetAmbiguous",
    "TargetMissing",
    "Unmet",
    "ValueInvalid",
    "Write",
    "WriteRefused",
    "map_event",
    "unmet_condition",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

if TYPE_CHECKING:
    from .condition import SKIPPED, Unmet, unmet_condition
    from .dead_letters import InMemoryDeadLetters, SqsDeadLetters
    from .errors import (
        ActionInProgress,
        ActionRefused,
        DeadLetterUnavailable,
        LedgerUnavailable,
        MalformedEvent,
        PointerMissing,
        RecordGone,
        RevisionConflict,
        TargetAmbiguous,
        TargetMissing,
        ValueInvalid,
        WriteRefused,
    )
    from .event import QueuedEvent
    from .mapping import Write, map_event
    from .service import KEY_PREFIX, LEDGER_SECONDS, ActionService
    from .writes import APPLIED, DUPLICATE, ActionWriter
