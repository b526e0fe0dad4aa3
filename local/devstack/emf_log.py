"""The metrics a worker writes, kept where `make metrics` reads them.

In Lambda, an embedded metric format line on stdout becomes a CloudWatch metric. A worker
still prints every line to the terminal as Lambda would to its log, and also appends each
EMF line to one file of the stack (`metrics.jsonl` under the stack's state directory),
which the stack empties when it starts. Standard library only: every worker imports it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

FILE_NAME = "metrics.jsonl"
# How Powertools' EMF document begins (json.dumps keeps its key order).
EMF_PREFIX = '{"_aws":'


class EmfTee:
    """A text stream that writes through to ``stream`` and appends each complete EMF
    line to ``path``, one ``write`` each (O_APPEND: the workers of every function share
    the file, and a line is never interleaved with another)."""

    def __init__(self, stream: TextIO, path: str | Path) -> None:
        self._stream = stream
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._partial = ""

    def write(self, text: str) -> int:
        written = self._stream.write(text)
        self._partial += text
        if "\n" in self._partial:
            *lines, self._partial = self._partial.split("\n")
            for line in lines:
                if line.startswith(EMF_PREFIX):
                    os.write(self._fd, (line + "\n").encode("utf-8"))
        return written

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        # encoding, isatty, fileno...: whatever else a caller asks of stdout.
        return getattr(self._stream, name)


def lines(path: str | Path) -> Iterator[str]:
    """The EMF lines written so far (an empty stack: none)."""
    with open(path, encoding="utf-8") as file:
        for line in file:
            if line.startswith(EMF_PREFIX):
                yield line
