"""The mail the local stack has sent: what moto's SES accepted, oldest first.

moto keeps every message SendEmail accepted (SES v2 `Simple` content and SES v1 alike)
and serves its models over HTTP at `/moto-api/data.json`, the server's dashboard data:
read from there, moto's process is left alone. The file holds every service's models, so
only SES's messages are kept from it. A raw (MIME) message is not listed.

`python -m devstack mail` prints them, then one line per message (the recipient, the
subject, and the receipt or sign-in code it carries); tests read them with
`sent_messages`, `latest_code`, `wait_for_code` and `messages_with_receipt`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from sekisho.intake.receipts import RECEIPT_PATTERN

from .errors import DevstackError

DATA_PATH = "/moto-api/data.json"
# A sign-in code: six digits on a line of their own (spaces around them allowed).
_CODE_LINE = re.compile(r"^[ \t]*([0-9]{6})[ \t]*\r?$", re.MULTILINE)
# A confirmation mail's receipt: the first UUID of its text (on the 受付番号 / Receipt line).
# A receipt as the relay writes it: the short form, or a UUID of before it.
_RECEIPT = re.compile(rf"\b{RECEIPT_PATTERN}\b")
_TIMEOUT = 30.0
_ATTEMPTS = 5


class MailboxError(DevstackError):
    pass


@dataclass(frozen=True)
class Message:
    message_id: str
    sender: str
    to: tuple[str, ...]
    subject: str
    body: str

    def is_to(self, address: str) -> bool:
        wanted = address.strip().casefold()
        return any(to.strip().casefold() == wanted for to in self.to)

    def code(self) -> str | None:
        """The first line of the body that is six digits and nothing else."""
        match = _CODE_LINE.search(self.body)
        return match.group(1) if match else None

    def receipt(self) -> str | None:
        """The receipt a confirmation mail names (None for any other mail)."""
        match = _RECEIPT.search(self.body)
        return match.group(0) if match else None

    def line(self) -> str:
        """One line: the recipient, the subject, and the receipt or code it carries."""
        carried = self.receipt()
        what = f"receipt {carried}" if carried else f"code {self.code() or '-'}"
        return f"{', '.join(self.to)} | {self.subject} | {what}"

    def block(self) -> str:
        """`To:`, `Subject:`, a blank line and the text body, as `make mail` prints it."""
        return f"To: {', '.join(self.to)}\nSubject: {self.subject}\n\n{self.body.rstrip(chr(10))}"


def sent_messages(moto_url: str) -> list[Message]:
    """Every message the moto server at `moto_url` sent, oldest first."""
    url = moto_url.rstrip("/") + DATA_PATH
    with requests.Session() as http:
        http.trust_env = False  # loopback: no proxy of the environment's
        for attempt in range(_ATTEMPTS):
            try:
                answer = http.get(url, timeout=_TIMEOUT)
            except requests.RequestException as exc:
                # Not the error's text: it is long, and says no more than this.
                raise MailboxError(
                    f"cannot reach moto at {moto_url} ({type(exc).__name__}): is the stack running?"
                ) from exc
            # moto walks its models unlocked: a function writing one meanwhile (the pump
            # sending a confirmation mail) makes the walk fail with a 500. Read again.
            if answer.status_code != 500 or attempt == _ATTEMPTS - 1:
                break
            time.sleep(0.05 * (attempt + 1))
    if answer.status_code != 200:
        raise MailboxError(f"{url} answered {answer.status_code}: is that the local stack's moto?")
    try:
        data = answer.json()
    except ValueError as exc:
        raise MailboxError(f"{url} is not moto's model data (not JSON)") from exc
    return parse_messages(data)


def parse_messages(data: Any) -> list[Message]:
    """SES's sent messages out of moto's model data, in the order moto made them."""
    if not isinstance(data, Mapping):
        raise MailboxError("moto's model data is not an object")
    ses = data.get("ses") or {}  # absent until moto has loaded SES
    kept = ses.get("Message") if isinstance(ses, Mapping) else None
    if not isinstance(kept, list):
        return []
    return [_message(item) for item in kept]


def _message(item: Any) -> Message:
    try:
        destinations = item.get("destinations") or {}
        return Message(
            message_id=str(item["id"]),
            sender=str(item["source"]),
            to=tuple(str(to) for to in destinations.get("ToAddresses") or ()),
            subject=str(item["subject"]),
            body=str(item["body"]),
        )
    except (AttributeError, KeyError, TypeError) as exc:
        raise MailboxError(f"an SES message of moto's has an unknown shape: {exc!r}") from exc


def messages_to(messages: Iterable[Message], address: str) -> list[Message]:
    return [message for message in messages if message.is_to(address)]


def latest_code(moto_url: str, address: str) -> str | None:
    """The code in the newest message to `address`; None without one (or without a code)."""
    received = messages_to(sent_messages(moto_url), address)
    return received[-1].code() if received else None


def wait_for_code(moto_url: str, address: str, *, after: int = 0, timeout: float = 10.0) -> str:
    """The code of the newest message with a code to `address`, among those that reached
    it after the first `after` (how many it had before the code was asked for). Messages
    without a code are passed over: an application's confirmation mail may arrive around
    the code."""
    deadline = time.monotonic() + timeout
    while True:
        received = messages_to(sent_messages(moto_url), address)
        codes = [code for message in received[after:] if (code := message.code()) is not None]
        if codes:
            return codes[-1]
        if time.monotonic() >= deadline:
            if len(received) > after:
                raise MailboxError(f"no new message to {address} holds a 6-digit code")
            raise MailboxError(
                f"no new message to {address} within {timeout:g} s "
                f"({len(received)} so far, {after} before)"
            )
        time.sleep(0.1)


def messages_with_receipt(messages: Iterable[Message], receipt: str) -> list[Message]:
    return [message for message in messages if message.receipt() == receipt]


def render(messages: Sequence[Message]) -> str:
    """One block per message, oldest first, a blank line between blocks."""
    if not messages:
        return "no mail sent"
    return "\n\n".join(message.block() for message in messages)


def summary(messages: Sequence[Message]) -> str:
    """One line per message, oldest first, under a count: a confirmation mail sent twice
    shows as two lines with the same receipt."""
    if not messages:
        return "no mail sent"
    count = f"{len(messages)} mail{'s' if len(messages) != 1 else ''} sent:"
    return "\n".join([count, *(message.line() for message in messages)])
