"""The text of the confirmation mail: one template per language, shipped with the layer.

``string.Template``: the templates take two placeholders (``$receipt``, ``$fields``) and
need no logic, so no template engine ships in the layer. A value is put in as text, never
read as a template. It cannot break the mail's layout either: every control character
(line ends included), line separator and format character in it becomes one space, so a
value can neither start a line that looks like the relay's own text nor turn text around
with a bidi override.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from string import Template

from .headers import UNSAFE_CATEGORIES

LANGUAGES = ("ja", "en")
_FOLDER = Path(__file__).parent / "templates"


@functools.cache
def template(name: str, language: str) -> Template:
    """``templates/<name>.<language>.txt``; read once per container."""
    if language not in LANGUAGES or not name.isidentifier():
        raise ValueError(f"no template {name!r} in {language!r}")
    return Template((_FOLDER / f"{name}.{language}.txt").read_text(encoding="utf-8"))


def one_line(value: str) -> str:
    """``value`` with every character that could break a line or hide text as a space."""
    cleaned = "".join(" " if unicodedata.category(c) in UNSAFE_CATEGORIES else c for c in value)
    return " ".join(cleaned.split())


def render(name: str, language: str, *, receipt: str, fields: Sequence[tuple[str, str]]) -> str:
    """The mail text: the receipt, then one ``label: value`` line per field, in order."""
    lines = "\n".join(f"{one_line(label)}: {one_line(value)}" for label, value in fields)
    text = template(name, language).substitute(receipt=one_line(receipt), fields=lines)
    # A mail without fields has no empty gap where they would be.
    return text.replace("\n\n\n\n", "\n\n")
