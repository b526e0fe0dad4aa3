"""What can go wrong when the relay reads a secret.

Messages name the secret (names are configuration, not secrets) and never its value, so
they are logged: an operator reads which secret to fix in the line of the failed request.
"""

from __future__ import annotations

from typing import Any

from sekisho.errors import ConfigurationError, UpstreamUnavailable


class _LogsItsDetail:
    """The relay's error logs take ``log_fields()``; these messages are safe to log."""

    detail: str | None

    def log_fields(self) -> dict[str, Any]:
        return {"detail": self.detail}


class SecretNotAllowed(_LogsItsDetail, ConfigurationError):
    """The function asked for a secret its own policy section does not name."""


class SecretMissing(_LogsItsDetail, ConfigurationError):
    """Secrets Manager has no such secret, or the function's role may not read it.

    A deployment bug, not an outage: answering 503 would invite retries that cannot help.
    """


class SecretStageMissing(SecretMissing):
    """The secret exists but no version carries the requested stage (e.g. AWSPREVIOUS
    before the first rotation). Callers that try an older key as a fallback catch this.
    """


class SecretMalformed(_LogsItsDetail, ConfigurationError):
    """The secret's value is not the JSON object the relay expects, or a field of it
    cannot be used as what it is for (a kintone token that is no header value)."""


class SecretUnavailable(_LogsItsDetail, UpstreamUnavailable):
    """Secrets Manager failed and no earlier value of the secret is cached."""


class SecretOutsidePrefix(_LogsItsDetail, ConfigurationError):
    """Secrets Manager named a secret that is not under this stack's secret name prefix:
    another stack's, or no stack's. Nothing is read or written for it."""

    code = "secret_outside_prefix"
    title = "The secret is not one of this stack's"


class SecretPrefixInvalid(_LogsItsDetail, ConfigurationError):
    """SEKISHO_SECRET_PREFIX (or --secret-prefix) cannot prefix a secret name."""

    code = "secret_prefix_invalid"
    title = "The secret name prefix is not valid"
