"""Logging a bug without what its exception says: its type and its frames only.

An exception's message and arguments are whatever the code that raised it had at hand:
requests' ``InvalidHeader`` quotes the header value (a kintone token), ``KeyError`` the
key, ``JSONDecodeError`` keeps the whole document. ``logger.exception`` (or
``exc_info=``) writes all of that into the log, and Powertools' formatter twice over (the
``exception`` text and the ``stack_trace`` value). :func:`log_unexpected` logs what is
needed to find the bug - where it was raised and through which calls, for the exception
and for every exception it was raised from - and nothing an exception carries.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

# A RecursionError has a thousand frames; the innermost ones say where it went wrong.
MAX_FRAMES = 50
# Exceptions raised from exceptions: a longer chain is a loop of handlers, not more news.
MAX_CHAIN = 5


def _type_name(exc: BaseException) -> str:
    cls = type(exc)
    return f"{cls.__module__}.{cls.__qualname__}"


def _frames(exc: BaseException) -> list[dict[str, Any]]:
    # walk_tb, not extract_tb: no source lines are read and no frame's locals are touched.
    frames = [
        {"file": frame.f_code.co_filename, "line": lineno, "function": frame.f_code.co_name}
        for frame, lineno in traceback.walk_tb(exc.__traceback__)
    ]
    return frames[-MAX_FRAMES:]


def _raised_from(exc: BaseException) -> tuple[BaseException, str] | None:
    if exc.__cause__ is not None:
        return exc.__cause__, "cause"
    if exc.__context__ is not None and not exc.__suppress_context__:
        return exc.__context__, "context"
    return None


def traceback_fields(exc: BaseException) -> dict[str, Any]:
    """Log fields for ``exc``: ``error`` (its class name), ``error_type`` (module and
    qualified name), ``frames`` (file, line, function; innermost last) and, when it was
    raised from or while handling another exception, ``chain`` (the same for each, with
    ``link`` "cause" or "context"). Never a message, an argument or a ``repr``."""
    fields: dict[str, Any] = {
        "error": type(exc).__name__,
        "error_type": _type_name(exc),
        "frames": _frames(exc),
    }
    chain: list[dict[str, Any]] = []
    seen = {id(exc)}
    link = _raised_from(exc)
    while link is not None and len(chain) < MAX_CHAIN and id(link[0]) not in seen:
        earlier, how = link
        seen.add(id(earlier))
        chain.append({"link": how, "error_type": _type_name(earlier), "frames": _frames(earlier)})
        link = _raised_from(earlier)
    if chain:
        fields["chain"] = chain
    return fields


def log_unexpected(logger: logging.Logger, message: str, exc: BaseException, **fields: Any) -> None:
    """Log the bug ``exc`` at ERROR with :func:`traceback_fields`; never ``exc_info``."""
    # stacklevel: the line's location is the caller's, not this helper's.
    logger.error(message, extra=fields | traceback_fields(exc), stacklevel=2)
