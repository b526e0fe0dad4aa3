"""What goes wrong when mail is sent."""

from __future__ import annotations

from sekisho.errors import SekishoError, UpstreamUnavailable


class MailUnavailable(UpstreamUnavailable):
    """SES refused or failed to take the message: nothing was sent, it may be tried again."""


class UnsafeHeader(
    SekishoError, code="mail_header_unsafe", status=500, title="A mail header value is unsafe"
):
    """A recipient or subject that could add a header, or that SES cannot send to. The
    intake and ``sekisho check`` refuse such values first; reaching here means a forged or
    damaged queued message, which fails every time and ends in the dead-letter queue."""
