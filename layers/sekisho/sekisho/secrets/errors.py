"""What can go wrong when the relay reads a secret.

Messages name the secret (names are configuration, not secrets) and never its value.
"""

from __future__ import annotations

from sekisho.errors import ConfigurationError, UpstreamUnavailable


class SecretNotAllowed(ConfigurationError):
    """The function asked for a secret its own policy section does not name."""


class SecretMissing(ConfigurationError):
    """Secrets Manager has no such secret, or the function's role may not read it.

    A deployment bug, not an outage: answering 503 would invite retries that cannot help.
    """


class SecretStageMissing(SecretMissing):
    """The secret exists but no version carries the requested stage (e.g. AWSPREVIOUS
    before the first rotation). Callers that try an older key as a fallback catch this.
    """


class SecretMalformed(ConfigurationError):
    """The secret's value is not the JSON object the relay expects."""


class SecretUnavailable(UpstreamUnavailable):
    """Secrets Manager failed and no earlier value of the secret is cached."""
