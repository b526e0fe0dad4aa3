"""The mail that carries a sign-in code: Amazon SES v2 ``SendEmail``, text only.

The message holds the code and nothing from kintone; its one header value a visitor
influences is the recipient, which was checked as an email address (no CR, LF or second
address can reach here).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from sekisho import aws

from .errors import MailUnavailable

SUBJECT = "サインインコード / Your sign-in code"
_BODY = """\
サインインコード（{minutes}分間有効、1回限り）:
Your sign-in code (valid for {minutes} minutes, once):

{code}

このメールに覚えがなければ、何もしないでください。
If you did not ask for it, do nothing: without the code no one can sign in.
"""


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    text: str


def code_message(to: str, code: str, lifetime_seconds: int) -> Message:
    return Message(to, SUBJECT, _BODY.format(code=code, minutes=lifetime_seconds // 60))


class Mailer(Protocol):
    def send(self, message: Message) -> None: ...


class SesMailer:
    """SES v2 from one verified identity (the role may send from nothing else)."""

    def __init__(
        self, from_address: str, *, configuration_set: str | None = None, client: Any = None
    ) -> None:
        self._from = from_address
        self._configuration_set = configuration_set
        self._client = client

    def send(self, message: Message) -> None:
        request: dict[str, Any] = {
            "FromEmailAddress": self._from,
            "Destination": {"ToAddresses": [message.to]},
            "Content": {
                "Simple": {
                    "Subject": {"Data": message.subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": message.text, "Charset": "UTF-8"}},
                }
            },
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        try:
            (self._client or aws.client("sesv2")).send_email(**request)
        except (ClientError, BotoCoreError) as exc:
            raise MailUnavailable("the code could not be sent now") from exc


class InMemoryMailer:
    """The twin for tests: keeps what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.fail = False
        self._lock = threading.Lock()

    def send(self, message: Message) -> None:
        if self.fail:
            raise MailUnavailable("the code could not be sent now")
        with self._lock:
            self.sent.append(message)
