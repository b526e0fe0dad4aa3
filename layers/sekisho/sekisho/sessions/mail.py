"""The mail that carries a sign-in code, sent by the layer's one mailer (sekisho.mail).

The message holds the code and nothing from kintone; its one header value a visitor
influences is the recipient, which was checked as an email address (no CR, LF or second
address can reach here) and is checked again by the mailer.
"""

from __future__ import annotations

from sekisho.mail.sender import InMemoryMailer, Mailer, Message, SesMailer

__all__ = ["SUBJECT", "InMemoryMailer", "Mailer", "Message", "SesMailer", "code_message"]

SUBJECT = "サインインコード / Your sign-in code"
_BODY = """\
サインインコード（{minutes}分間有効、1回限り）:
Your sign-in code (valid for {minutes} minutes, once):

{code}

このメールに覚えがなければ、何もしないでください。
If you did not ask for it, do nothing: without the code no one can sign in.
"""


def code_message(to: str, code: str, lifetime_seconds: int) -> Message:
    return Message(to, SUBJECT, _BODY.format(code=code, minutes=lifetime_seconds // 60))
