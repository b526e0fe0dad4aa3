"""kintone access: a REST client with typed errors and a query compiler.

Names are loaded on first use (PEP 562): the query compiler and the errors' codes do not
bring requests with them; the client does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sekisho.lazy import lazy_exports

_EXPORTS = {
    "AddedRecord": ".client",
    "KintoneBusy": ".errors",
    "KintoneCircuitOpen": ".errors",
    "KintoneClient": ".client",
    "KintoneConnectionError": ".errors",
    "KintoneError": ".errors",
    "KintoneInvalidToken": ".errors",
    "KintoneLocked": ".errors",
    "KintoneMaintenance": ".errors",
    "KintoneNotFound": ".errors",
    "KintonePermissionDenied": ".errors",
    "KintoneQueryError": ".errors",
    "KintoneRevisionConflict": ".errors",
    "KintoneServerError": ".errors",
    "KintoneTimeout": ".errors",
    "KintoneTransientError": ".errors",
    "KintoneUniqueViolation": ".errors",
    "KintoneValidationError": ".errors",
    "Predicate": ".query",
    "RecordsPage": ".client",
    "RetryPolicy": ".retry",
    "Timeouts": ".client",
    "TokenSource": ".client",
    "compile_query": ".query",
    "quote": ".query",
}

__all__ = [
    "AddedRecord",
    "KintoneBusy",
    "KintoneCircuitOpen",
    "KintoneClient",
    "KintoneConnectionError",
    "KintoneError",
    "KintoneInvalidToken",
    "KintoneLocked",
    "KintoneMaintenance",
    "KintoneNotFound",
    "KintonePermissionDenied",
    "KintoneQueryError",
    "KintoneRevisionConflict",
    "KintoneServerError",
    "KintoneTimeout",
    "KintoneTransientError",
    "KintoneUniqueViolation",
    "KintoneValidationError",
    "Predicate",
    "RecordsPage",
    "RetryPolicy",
    "Timeouts",
    "TokenSource",
    "compile_query",
    "quote",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

if TYPE_CHECKING:
    from .client import AddedRecord, KintoneClient, RecordsPage, Timeouts, TokenSource
    from .errors import (
        KintoneBusy,
        KintoneCircuitOpen,
        KintoneConnectionError,
        KintoneError,
        KintoneInvalidToken,
        KintoneLocked,
        KintoneMaintenance,
        KintoneNotFound,
        KintonePermissionDenied,
        KintoneQueryError,
        KintoneRevisionConflict,
        KintoneServerError,
        KintoneTimeout,
        KintoneTransientError,
        KintoneUniqueViolation,
        KintoneValidationError,
    )
    from .query import Predicate, compile_query, quote
    from .retry import RetryPolicy
