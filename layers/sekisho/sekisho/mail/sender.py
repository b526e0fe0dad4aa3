"""Sending one text message: Amazon SES v2 ``SendEmail`` with ``Simple`` content.

Every header value of a message is checked here once more, whatever checked it before
(the intake's field checks, the policy's): a CR or LF in a recipient or a subject would
let its writer add headers, and a queued message is read as untrusted input.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from sekisho import aws

from .errors import MailUnavailable
from .headers import check_header_value, ses_address


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    text: str


class Mailer(Protocol):
    def send(self, message: Message) -> None: ...


def _checked(message: Message) -> tuple[str, str]:
    check_header_value(message.subject, "subject")
    return ses_address(message.to), message.subject


class SesMailer:
    """SES v2 from one verified identity (the role may send from nothing else)."""

    def __init__(
        self, from_address: str, *, configuration_set: str | None = None, client: Any = None
    ) -> None:
        self._from = from_address
        self._configuration_set = configuration_set
        self._client = client

    def send(self, message: Message) -> None:
        to, subject = _checked(message)
        request: dict[str, Any] = {
            "FromEmailAddress": self._from,
            "Destination": {"ToAddresses": [to]},
            "Content": {
                "Simple": {
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": message.text, "Charset": "UTF-8"}},
                }
            },
        }
        if self._configuration_set:
            # The set's event destinations see bounces and complaints of every message.
            request["ConfigurationSetName"] = self._configuration_set
        try:
            (self._client or aws.client("sesv2")).send_email(**request)
        except (ClientError, BotoCoreError) as exc:
            raise MailUnavailable(f"SES did not take the message ({aws.error_code(exc)})") from exc


class InMemoryMailer:
    """The twin for tests: keeps what it was asked to send. Set ``fail`` to fail like SES."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.fail = False
        self._lock = threading.Lock()

    def send(self, message: Message) -> None:
        _checked(message)
        if self.fail:
            raise MailUnavailable("SES did not take the message (test)")
        with self._lock:
            self.sent.append(message)
