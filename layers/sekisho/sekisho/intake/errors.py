"""What can go wrong on the intake and delivery paths, in the relay's one hierarchy."""

from __future__ import annotations

from sekisho.errors import SekishoError, UpstreamUnavailable


class RequestInProgress(SekishoError):
    """A submission with the same Idempotency-Key is being processed right now."""

    status = 409
    code = "request_in_progress"
    title = "A request with this Idempotency-Key is in progress"


class IdempotencyKeyReused(SekishoError):
    """The same Idempotency-Key came back with a different body."""

    status = 422
    code = "idempotency_key_reused"
    title = "The Idempotency-Key was used for a different request"


class CaptchaFailed(SekishoError):
    """The CAPTCHA token is missing, expired, already used or refused by the provider."""

    status = 403
    code = "captcha_failed"
    title = "The CAPTCHA could not be verified"


class CaptchaUnavailable(UpstreamUnavailable):
    """The CAPTCHA provider could not be asked; nothing was accepted."""


class OutboxUnavailable(UpstreamUnavailable):
    """kintone was unavailable and the queue (or the attachment bucket) refused the
    submission too: nothing was accepted, and the browser may try again."""


class AttachmentsUnavailable(UpstreamUnavailable):
    """The attachment bucket could not be read now; the delivery is tried again later."""


class OutOfTime(UpstreamUnavailable):
    """Too little of this invocation is left to wait for kintone: the intake queues the
    submission instead, the deliverer leaves the message for a later invocation."""


class MalformedMessage(SekishoError):
    """A queued message the deliverer cannot use. It is never dropped silently: the
    delivery fails and the queue's redrive policy moves it to the dead-letter queue."""

    status = 500
    code = "malformed_message"
    title = "A queued submission is malformed"


class AttachmentMissing(SekishoError):
    """A queued attachment is gone (or altered) and the submission was never recorded."""

    status = 500
    code = "attachment_missing"
    title = "A queued attachment is missing"
