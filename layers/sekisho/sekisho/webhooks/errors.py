"""Why a webhook delivery was refused, in the relay's one hierarchy.

Every verification failure is a 401 ``signature_invalid`` with the same public detail, so
a forger learns nothing about which check failed; the subclass (and its ``outcome``) is
what the audit log records.
"""

from __future__ import annotations

from typing import ClassVar

from sekisho.errors import NotFound, SekishoError, UpstreamUnavailable


class SignatureInvalid(
    SekishoError,
    code="signature_invalid",
    status=401,
    title="The webhook delivery could not be verified",
):
    """The delivery could not be verified."""

    outcome: ClassVar[str] = "signature_invalid"

    def __init__(self, reason: str = "the delivery could not be verified") -> None:
        # ``reason`` is for the audit log and tests; the caller sees only the generic text.
        super().__init__("the delivery could not be verified")
        self.reason = reason


class SignatureMismatch(SignatureInvalid):
    """Well formed, but no signature matched this key: the only failure after which the
    previous key (inside its grace period) is tried."""


class MalformedDelivery(SignatureInvalid):
    """A header is missing, repeated or malformed; bad base64; a body that is not UTF-8
    or not the JSON the scheme needs; a dedupe key that is missing or unusable."""


class StaleDelivery(SignatureInvalid):
    """Correctly signed, but its timestamp is outside the scheme's window (past or future)."""

    outcome = "stale"


class RecordMissing(SignatureInvalid):
    """kintone refetch: the record the event names does not exist (or is not the app's)."""

    outcome = "record_missing"


class SourceForbidden(
    SekishoError, code="forbidden", status=403, title="This address may not deliver to this webhook"
):
    """The source allows only some IP addresses, and this one is not among them."""

    outcome: ClassVar[str] = "ip_refused"


class UnknownSource(NotFound):
    """No webhook source of that name is declared."""

    outcome: ClassVar[str] = "unknown_source"


class WebhookQueueUnavailable(UpstreamUnavailable):
    """The queue (or the dedupe table) could not take the event: nothing was accepted,
    and the sender should retry."""

    outcome: ClassVar[str] = "queue_failed"


class DeliveryInProgress(UpstreamUnavailable, code="delivery_in_progress"):
    """Another container is queueing the same event right now; the sender should retry,
    and will then be told it is a duplicate."""

    outcome: ClassVar[str] = "in_progress"
    retry_after: ClassVar[int] = 5


class RecordMismatch(SignatureInvalid):
    """kintone refetch: kintone's current state contradicts the event (another app's
    record, or a deleted record that still exists)."""

    outcome = "record_mismatch"
