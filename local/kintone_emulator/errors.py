"""kintone-shaped error answers."""

from __future__ import annotations

import secrets
from typing import Any


class KintoneApiError(Exception):
    """An error the emulator answers the way kintone would.

    `errors` follows kintone's validation shape: ``{"<path>": {"messages": [...]}}``.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        errors: dict[str, dict[str, list[str]]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        # kintone gives every error answer a fresh random id.
        body: dict[str, Any] = {
            "code": self.code,
            "id": secrets.token_urlsafe(15),
            "message": self.message,
        }
        if self.errors:
            body["errors"] = self.errors
        return body


INVALID_INPUT = "Missing or invalid input."


def validation_error(errors: dict[str, list[str]]) -> KintoneApiError:
    """CB_VA01 with kintone's per-path message lists."""
    return KintoneApiError(
        400, "CB_VA01", INVALID_INPUT, {path: {"messages": msgs} for path, msgs in errors.items()}
    )


def query_syntax_error() -> KintoneApiError:
    return validation_error({"query": ["Query syntax is incorrect."]})
