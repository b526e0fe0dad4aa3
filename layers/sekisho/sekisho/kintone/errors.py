"""kintone's answers as typed exceptions.

Each exception keeps kintone's ``kintone_code``, HTTP status and request ``kintone_id``
for the logs; its ``problem()`` (inherited from the relay's hierarchy) says nothing of them.
"""

from __future__ import annotations

import re
from typing import Any

import requests

from sekisho.errors import UpstreamError, UpstreamUnavailable

# kintone tells a unique-field violation from other CB_VA01 errors only by the message
# text, in the language of Accept-Language. We send `en`; the Japanese text is matched
# too in case a proxy or a future default drops the header.
_DUPLICATE_MESSAGES = frozenset(
    {"This value already exists in another record.", "値がほかのレコードと重複しています。"}
)
# record.<code>.value, records[0].<code>.value, record[<code>].value
_FIELD_PATH = re.compile(r"^records?(?:\[\d+\])?(?:\.(?P<dot>.+)|\[(?P<bracket>.+)\])\.value$")


class KintoneError(UpstreamError):
    """kintone refused a request for a reason that retrying will not fix."""

    def __init__(
        self,
        message: str = "",
        *,
        kintone_code: str | None = None,
        http_status: int | None = None,
        kintone_id: str | None = None,
        field_errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(
            f"kintone {http_status} {kintone_code or '-'}: {message}" if http_status else message
        )
        self.kintone_code = kintone_code
        self.http_status = http_status
        self.kintone_id = kintone_id
        self.kintone_message = message
        self.field_errors = field_errors or {}

    def log_fields(self) -> dict[str, Any]:
        """What is safe and useful to log about this failure (no record values)."""
        return {
            "kintone_code": self.kintone_code,
            "kintone_status": self.http_status,
            "kintone_id": self.kintone_id,
            "kintone_error_paths": sorted(self.field_errors),
        }


class KintoneTransientError(KintoneError, UpstreamUnavailable):
    """kintone may accept the same request later (busy, locked, down, slow, unreachable)."""


class KintoneBusy(KintoneTransientError):
    """HTTP 429 GAIA_TO04: more than the domain's concurrent-request limit."""


class KintoneLocked(KintoneTransientError):
    """GAIA_DA02: a database lock; kintone asks the caller to try again."""


class KintoneMaintenance(KintoneTransientError):
    """HTTP 503, usually a text/plain maintenance page rather than JSON."""


class KintoneServerError(KintoneTransientError):
    """Any other 5xx."""


class KintoneTimeout(KintoneTransientError):
    """Connect or read timeout. A timed-out write may still have been recorded."""


class KintoneConnectionError(KintoneTransientError):
    """The connection could not be made or was dropped."""


class KintoneCircuitOpen(KintoneTransientError):
    """The relay stopped calling kintone for a while after repeated failures."""


class KintoneInvalidToken(KintoneError):
    """GAIA_IA02: the token is unknown, revoked or not yet activated."""


class KintonePermissionDenied(KintoneError):
    """GAIA_NO01 / CB_NO02 / GAIA_AP15: the token lacks the permission or the app."""


class KintoneNotFound(KintoneError):
    """GAIA_RE01 (record), GAIA_AP01 (app), GAIA_BL01 (file)."""


class KintoneRevisionConflict(KintoneError):
    """GAIA_CO02: the record changed since the revision the write was made against."""


class KintoneQueryError(KintoneError):
    """The query was refused (GAIA_IQ*, GAIA_QU*, or CB_VA01 on `query`)."""


class KintoneValidationError(KintoneError):
    """CB_VA01 on record values; ``field_errors`` maps kintone's paths to messages."""

    def fields(self) -> set[str]:
        return {code for code in (field_code(path) for path in self.field_errors) if code}


class KintoneUniqueViolation(KintoneValidationError):
    """CB_VA01 whose message says a unique field's value already exists."""

    def duplicate_fields(self) -> set[str]:
        return {
            code
            for path, messages in self.field_errors.items()
            if _DUPLICATE_MESSAGES.intersection(messages) and (code := field_code(path))
        }


def field_code(path: str) -> str | None:
    """The field code in a kintone error path such as ``record.氏名.value``."""
    match = _FIELD_PATH.match(path)
    if not match:
        return None
    return match.group("dot") or match.group("bracket")


_BY_CODE: dict[str, type[KintoneError]] = {
    "GAIA_TO04": KintoneBusy,
    "GAIA_DA02": KintoneLocked,
    "GAIA_IA02": KintoneInvalidToken,
    "GAIA_NO01": KintonePermissionDenied,
    "CB_NO02": KintonePermissionDenied,
    "GAIA_AP15": KintonePermissionDenied,
    "CB_WA01": KintonePermissionDenied,
    "GAIA_RE01": KintoneNotFound,
    "GAIA_AP01": KintoneNotFound,
    "GAIA_BL01": KintoneNotFound,
    "GAIA_CO02": KintoneRevisionConflict,
    "GAIA_QU01": KintoneQueryError,
    "GAIA_QU02": KintoneQueryError,
}


def _field_errors(raw: Any) -> dict[str, list[str]]:
    if not isinstance(raw, dict):
        return {}
    out: dict[str, list[str]] = {}
    for path, detail in raw.items():
        messages = detail.get("messages") if isinstance(detail, dict) else None
        out[str(path)] = [str(m) for m in messages] if isinstance(messages, list) else []
    return out


def _class_for(
    code: str | None, status: int, field_errors: dict[str, list[str]]
) -> type[KintoneError]:
    # The code decides first: an invalid token once came back as HTTP 520, which must not
    # be mistaken for a retryable server error.
    if code in _BY_CODE:
        return _BY_CODE[code]
    if code and (code.startswith("GAIA_IQ") or code.startswith("GAIA_QU")):
        return KintoneQueryError
    if code == "CB_VA01":
        if "query" in field_errors:
            return KintoneQueryError
        if any(_DUPLICATE_MESSAGES.intersection(m) for m in field_errors.values()):
            return KintoneUniqueViolation
        return KintoneValidationError
    if status == 429:
        return KintoneBusy
    if status == 503:
        return KintoneMaintenance
    if status >= 500:
        return KintoneServerError
    return KintoneError


def error_from_response(response: requests.Response) -> KintoneError:
    """Turn a non-2xx kintone answer into the matching exception.

    Never assumes a JSON body: the maintenance page is text/plain, and a proxy in the way
    may answer HTML.
    """
    body: Any = None
    if "json" in response.headers.get("Content-Type", ""):
        try:
            body = response.json()
        except ValueError:
            body = None
    if not isinstance(body, dict):
        body = {}
    code = body.get("code") if isinstance(body.get("code"), str) else None
    code = code or response.headers.get("X-Cybozu-Error") or None
    field_errors = _field_errors(body.get("errors"))
    cls = _class_for(code, response.status_code, field_errors)
    return cls(
        str(body.get("message") or response.reason or ""),
        kintone_code=code,
        http_status=response.status_code,
        kintone_id=body.get("id") if isinstance(body.get("id"), str) else None,
        field_errors=field_errors,
    )
