"""What can go wrong on the intake and delivery paths, in the relay's one hierarchy."""

from __future__ import annotations

from sekisho.errors import SekishoError, UpstreamError, UpstreamUnavailable


class RequestInProgress(
    SekishoError,
    code="request_in_progress",
    status=409,
    title="A request with this Idempotency-Key is in progress",
):
    """A submission with the same Idempotency-Key is being processed right now."""


class IdempotencyKeyReused(
    SekishoError,
    code="idempotency_key_reused",
    status=422,
    title="The Idempotency-Key was used for a different request",
):
    """The same Idempotency-Key came back with a different body."""


class CaptchaFailed(
    SekishoError, code="captcha_failed", status=403, title="The CAPTCHA could not be verified"
):
    """The CAPTCHA token is missing, expired, already used or refused by the provider."""


class CaptchaUnavailable(UpstreamUnavailable):
    """The CAPTCHA provider could not be asked; nothing was accepted."""


class OutboxUnavailable(UpstreamUnavailable):
    """kintone was unavailable and the queue (or the attachment bucket) refused the
    submission too: nothing was accepted, and the browser may try again."""


class AttachmentsUnavailable(UpstreamUnavailable):
    """The attachment bucket could not be read now; the delivery is tried again later."""


class ReceiptClash(UpstreamError):
    """kintone refused every freshly drawn receipt as another record's: the receipt field
    is not behaving as a unique field of fresh values should (an operator's problem).
    Nothing was recorded, and the browser may try again."""


class MalformedMessage(
    SekishoError, code="malformed_message", status=500, title="A queued submission is malformed"
):
    """A queued message the deliverer cannot use. It is never dropped silently: the
    delivery fails and the queue's redrive policy moves it to the dead-letter queue."""


class AttachmentMissing(
    SekishoError, code="attachment_missing", status=500, title="A queued attachment is missing"
):
    """A queued attachment is gone (or altered) and the submission was never recorded."""


class UploadRefused(
    AttachmentMissing,
    code="upload_refused",
    title="A direct upload's bytes are not what was declared",
):
    """A direct upload's object is gone, or its size, type or SHA-256 differs from what
    the browser declared and the intake checked: never attached to a record. Permanent,
    like a missing attachment: the message ends in the dead-letter queue with this reason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason  # stable: gone, size, type, sha256, changed

    def log_fields(self) -> dict[str, str]:
        return {"reason": self.reason}


class UploadsUnavailable(UpstreamUnavailable):
    """The upload quarantine could not be read or signed for now; nothing was accepted,
    and the browser may try again."""
