"""What a kintone API token read from a secret must look like before it is sent.

The token travels in the ``X-Cybozu-API-Token`` header. A value that cannot be one header
value for one token is refused when the secret is read, never sent: requests refuses a
line break with an ``InvalidHeader`` that quotes the value, http.client a non-latin-1
character with a ``UnicodeEncodeError`` that holds it, and kintone reads a comma as a
list of tokens. kintone's own tokens are letters and digits; visible ASCII without the
comma is the header's limit, and so the limit here (a space, leading or trailing, is no
part of any token: it is a paste mistake).
"""

from __future__ import annotations

from .errors import SecretMalformed


def _problem(char: str) -> str | None:
    """What is wrong with ``char`` in a token, or None when it may be one of its."""
    if char.isspace():
        return "whitespace or a line break"
    if not char.isascii():
        return "a non-ASCII character"
    if not char.isprintable():
        return "a control character"
    if char == ",":
        return "a comma (kintone would read several tokens)"
    return None


def _where(token: str, index: int) -> str:
    # A pasted "\r\n" is at the end, though its first character is not the last one.
    if all(_problem(c) for c in token[index:]):
        return "at its end"
    return "at its start" if all(_problem(c) for c in token[:index]) else "inside it"


def check_kintone_token(token: str, *, name: str, key: str) -> str:
    """``token`` when it can be sent as one kintone API token, else :class:`SecretMalformed`
    naming the secret, the key and what is wrong where, never the value."""
    found: dict[str, str] = {}
    for index, char in enumerate(token):
        problem = _problem(char)
        if problem is not None and problem not in found:
            found[problem] = _where(token, index)
    if found:
        listed = "; ".join(f"{problem} {where}" for problem, where in found.items())
        raise SecretMalformed(
            f"secret {name!r} holds a {key!r} that is not a kintone API token: {listed}"
        )
    return token
