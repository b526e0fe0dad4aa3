"""Webhook actions: a verified event becomes one declared kintone write, exactly once."""

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

__all__ = [
    "APPLIED",
    "DUPLICATE",
    "KEY_PREFIX",
    "LEDGER_SECONDS",
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
    "ValueInvalid",
    "Write",
    "WriteRefused",
    "map_event",
]
