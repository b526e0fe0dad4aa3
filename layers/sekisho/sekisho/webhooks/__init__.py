"""Webhook receipt: verify each sender by its own scheme, dedupe, queue, acknowledge."""

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
