"""Intake: browser form submissions into kintone with an add-only token, exactly once.

``IntakeService`` answers ``POST /forms/{form}``; ``DeliverService`` consumes IntakeQueue.

Names are loaded on first use (PEP 562): IntakeFunction loads the service and never the
deliverer, DeliverFunction the deliverer and never the CAPTCHA or idempotency code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sekisho.lazy import lazy_exports

_EXPORTS = {
    "CaptchaVerifier": ".captcha",
    "SiteverifyCaptcha": ".captcha",
    "StaticCaptcha": ".captcha",
    "DeliverService": ".delivery",
    "AttachmentMissing": ".errors",
    "AttachmentsUnavailable": ".errors",
    "CaptchaFailed": ".errors",
    "CaptchaUnavailable": ".errors",
    "IdempotencyKeyReused": ".errors",
    "MalformedMessage": ".errors",
    "OutboxUnavailable": ".errors",
    "OutOfTime": ".errors",
    "RequestInProgress": ".errors",
    "Idempotency": ".idempotency",
    "IdempotencyUnavailable": ".idempotency",
    "InMemoryPersistenceLayer": ".idempotency",
    "check_idempotency_key": ".idempotency",
    "QueuedAttachment": ".message",
    "QueuedSubmission": ".message",
    "InMemoryAttachmentStore": ".queue",
    "InMemoryQueue": ".queue",
    "InMemoryVisibility": ".queue",
    "Outbox": ".queue",
    "S3AttachmentStore": ".queue",
    "SqsQueue": ".queue",
    "SqsVisibility": ".queue",
    "IntakeRequest": ".request",
    "IntakeResult": ".service",
    "IntakeService": ".service",
}

__all__ = [
    "AttachmentMissing",
    "AttachmentsUnavailable",
    "CaptchaFailed",
    "CaptchaUnavailable",
    "CaptchaVerifier",
    "DeliverService",
    "Idempotency",
    "IdempotencyKeyReused",
    "IdempotencyUnavailable",
    "InMemoryAttachmentStore",
    "InMemoryPersistenceLayer",
    "InMemoryQueue",
    "InMemoryVisibility",
    "IntakeRequest",
    "IntakeResult",
    "IntakeService",
    "MalformedMessage",
    "OutOfTime",
    "Outbox",
    "OutboxUnavailable",
    "QueuedAttachment",
    "QueuedSubmission",
    "RequestInProgress",
    "S3AttachmentStore",
    "SiteverifyCaptcha",
    "SqsQueue",
    "SqsVisibility",
    "StaticCaptcha",
    "check_idempotency_key",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

if TYPE_CHECKING:
    from .captcha import CaptchaVerifier, SiteverifyCaptcha, StaticCaptcha
    from .delivery import DeliverService
    from .errors import (
        AttachmentMissing,
        AttachmentsUnavailable,
        CaptchaFailed,
        CaptchaUnavailable,
        IdempotencyKeyReused,
        MalformedMessage,
        OutboxUnavailable,
        OutOfTime,
        RequestInProgress,
    )
    from .idempotency import (
        Idempotency,
        IdempotencyUnavailable,
        InMemoryPersistenceLayer,
        check_idempotency_key,
    )
    from .message import QueuedAttachment, QueuedSubmission
    from .queue import (
        InMemoryAttachmentStore,
        InMemoryQueue,
        InMemoryVisibility,
        Outbox,
        S3AttachmentStore,
        SqsQueue,
        SqsVisibility,
    )
    from .request import IntakeRequest
    from .service import IntakeResult, IntakeService
