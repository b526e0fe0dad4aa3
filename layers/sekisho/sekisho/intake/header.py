"""The Idempotency-Key header: what a usable one is.

Apart from :mod:`sekisho.intake.idempotency` so that checking a request's header needs
none of the store behind it (Powertools' idempotency utility), which IntakeFunction loads
only when its service is built.
"""

from __future__ import annotations

import re

from sekisho.errors import ValidationFailed

MAX_KEY_LENGTH = 128
# Visible ASCII only: the key becomes part of a DynamoDB key and of log lines.
KEY_PATTERN = rf"[\x21-\x7e]{{1,{MAX_KEY_LENGTH}}}"
_KEY = re.compile(KEY_PATTERN)


def check_idempotency_key(value: str | None) -> str | None:
    """The header's value if usable, None when absent, else a 400."""
    if value is None:
        return None
    if not isinstance(value, str) or not _KEY.fullmatch(value):
        raise ValidationFailed(
            "the Idempotency-Key header is not valid",
            errors=[
                {
                    "pointer": "/headers/Idempotency-Key",
                    "code": "format",
                    "detail": f"1 to {MAX_KEY_LENGTH} visible ASCII characters",
                }
            ],
        )
    return value
