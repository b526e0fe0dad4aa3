"""Intake: browser form submissions into kintone with an add-only token, exactly once.

``IntakeService`` answers ``POST /forms/{form}``; ``DeliverService`` consumes IntakeQueue.
"""

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
from .service import IntakeRequest, IntakeResult, IntakeService

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
