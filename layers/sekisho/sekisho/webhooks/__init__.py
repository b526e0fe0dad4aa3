"""Webhook receipt: verify each sender by its own scheme, dedupe, queue, acknowledge."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sekisho.lazy import lazy_exports

# Loaded on first use (sekisho.lazy): a function loads only the submodules it asks for.
_EXPORTS = {
    "Delivery": ".delivery",
    "Verified": ".delivery",
    "DeliveryInProgress": ".errors",
    "MalformedDelivery": ".errors",
    "RecordMismatch": ".errors",
    "RecordMissing": ".errors",
    "SignatureInvalid": ".errors",
    "SignatureMismatch": ".errors",
    "SourceForbidden": ".errors",
    "StaleDelivery": ".errors",
    "UnknownSource": ".errors",
    "WebhookQueueUnavailable": ".errors",
    "SigningKeys": ".keys",
    "InMemoryEventQueue": ".queue",
    "SqsEventQueue": ".queue",
    "REFETCH_RETRY": ".refetch",
    "REFETCH_TIMEOUTS": ".refetch",
    "Refetcher": ".refetch",
    "DEDUPE_SECONDS": ".service",
    "KEY_PREFIX": ".service",
    "Receipt": ".service",
    "WebhookService": ".service",
}

__all__ = [
    "DEDUPE_SECONDS",
    "KEY_PREFIX",
    "REFETCH_RETRY",
    "REFETCH_TIMEOUTS",
    "Delivery",
    "DeliveryInProgress",
    "InMemoryEventQueue",
    "MalformedDelivery",
    "Receipt",
    "RecordMismatch",
    "RecordMissing",
    "Refetcher",
    "SignatureInvalid",
    "SignatureMismatch",
    "SigningKeys",
    "SourceForbidden",
    "SqsEventQueue",
    "StaleDelivery",
    "UnknownSource",
    "Verified",
    "WebhookQueueUnavailable",
    "WebhookService",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

if TYPE_CHECKING:
    from .delivery import Delivery, Verified
    from .errors import (
        DeliveryInProgress,
        MalformedDelivery,
        RecordMismatch,
        RecordMissing,
        SignatureInvalid,
        SignatureMismatch,
        SourceForbidden,
        StaleDelivery,
        UnknownSource,
        WebhookQueueUnavailable,
    )
    from .keys import SigningKeys
    from .queue import InMemoryEventQueue, SqsEventQueue
    from .refetch import REFETCH_RETRY, REFETCH_TIMEOUTS, Refetcher
    from .service import DEDUPE_SECONDS, KEY_PREFIX, Receipt, WebhookService
