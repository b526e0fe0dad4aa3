"""Secrets from Secrets Manager: allowlisted per function, cached, stale-if-error.

``SecretStore`` is the one public class; backends only fetch a SecretString. Names are
the policy's declared names; :mod:`.names` puts them under the stack's prefix.
"""

from .aws import SecretsManagerBackend, secretsmanager_client
from .backend import CURRENT, PREVIOUS, SecretBackend
from .errors import (
    SecretMalformed,
    SecretMissing,
    SecretNotAllowed,
    SecretOutsidePrefix,
    SecretPrefixInvalid,
    SecretStageMissing,
    SecretUnavailable,
)
from .memory import InMemorySecretBackend
from .names import PREFIX_VARIABLE, declared_name, full_name, prefixed
from .store import MAX_TTL, SecretStore

__all__ = [
    "CURRENT",
    "MAX_TTL",
    "PREFIX_VARIABLE",
    "PREVIOUS",
    "InMemorySecretBackend",
    "SecretBackend",
    "SecretMalformed",
    "SecretMissing",
    "SecretNotAllowed",
    "SecretOutsidePrefix",
    "SecretPrefixInvalid",
    "SecretStageMissing",
    "SecretStore",
    "SecretUnavailable",
    "SecretsManagerBackend",
    "declared_name",
    "full_name",
    "prefixed",
    "secretsmanager_client",
]
