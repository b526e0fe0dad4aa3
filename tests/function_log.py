"""What a function's Powertools Logger writes, as the function configures it.

Every function builds ``Logger(service="sekisho")``; the library logs under ``sekisho.*``
through that logger's one handler and formatter. Powertools configures a service's logger
once per process (a later ``Logger(service="sekisho")`` reuses the first one's handler),
so the capture swaps that handler's stream rather than adding a handler of its own: the
lines read back are the JSON the function would print, formatter and all.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

from aws_lambda_powertools import Logger


class FunctionLog:
    def __init__(self, stream: io.StringIO) -> None:
        self._stream = stream

    @property
    def text(self) -> str:
        return self._stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def named(self, message: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line.get("message") == message]


@contextlib.contextmanager
def function_log() -> Iterator[FunctionLog]:
    handler = Logger(service="sekisho").registered_handler
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield FunctionLog(stream)
    finally:
        if previous is not None:
            handler.setStream(previous)
