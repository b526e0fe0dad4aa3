"""What may go into a mail header: no character that ends a line or hides text.

SES v2 builds the headers from ``Destination`` and ``Subject``; a CR or LF in either
would start a header of its writer's choosing (``Bcc:``). Refused with them: every other
control character (NEL, U+0085, ends a line for some readers), the Unicode line and
paragraph separators (U+2028, U+2029), and format characters such as the bidi overrides
(U+202E shows a different address than the one mailed). Percent-encoded text such as
``%0d%0a`` is nothing but six printable characters to SES and to a mail reader: no one
decodes it, so it is left alone.
"""

from __future__ import annotations

import unicodedata

from .errors import UnsafeHeader

# Control, format, surrogate, line and paragraph separator.
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def unsafe_characters(text: str) -> bool:
    """Does ``text`` hold a character that must never reach a header?"""
    return any(unicodedata.category(c) in UNSAFE_CATEGORIES for c in text)


def check_header_value(text: str, what: str) -> str:
    if not text or unsafe_characters(text):
        raise UnsafeHeader(f"the {what} holds a character a mail header cannot take")
    return text


def address_problem(address: str) -> str | None:
    """Why SES could not take ``address`` as a recipient, or None when it can.

    SES speaks no SMTPUTF8: the local part must be ASCII; an internationalised domain is
    sent in its ASCII (IDNA) form, so a domain that has none is refused too.
    """
    if unsafe_characters(address) or any(c.isspace() for c in address):
        return "must not contain control characters"
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return "is not an email address"
    if not local.isascii():
        return "must have an ASCII part before the @ (mail cannot be sent to it)"
    try:
        domain.encode("idna")
    except UnicodeError:
        return "has a domain mail cannot be sent to"
    return None


def ses_address(address: str) -> str:
    """``address`` as SES takes it (the domain in IDNA); :class:`UnsafeHeader` if it cannot."""
    problem = address_problem(address)
    if problem is not None:
        raise UnsafeHeader(f"the recipient {problem}")
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.encode('idna').decode('ascii')}"
