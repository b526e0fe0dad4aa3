"""kintone access: a REST client with typed errors and a query compiler."""

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
