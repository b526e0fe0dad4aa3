"""Secrets from Secrets Manager: allowlisted per function, cached, stale-if-error.

``SecretStore`` is the one public class; backends only fetch a SecretString.
"""

from .aws import SecretsManagerBackend, secretsmanager_client
from .backend import CURRENT, PREVIOUS, SecretBackend
from .errors import (
    SecretMalformed,
    SecretMissing,
    SecretNotAllowed,
    SecretStageMissing,
    SecretUnavailable,
)
from .memory import InMemorySecretBackend
from .store import MAX_TTL, SecretStore

__all__ = [
    "CURRENT",
    "MAX_TTL",
    "PREVIOUS",
    "InMemorySecretBackend",
    "SecretBackend",
    "SecretMalformed",
    "SecretMissing",
    "SecretNotAllowed",
    "SecretStageMissing",
    "SecretStore",
    "SecretUnavailable",
    "SecretsManagerBackend",
    "secretsmanager_client",
]
