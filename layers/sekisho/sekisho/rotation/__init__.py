"""Rotation of the secrets sekisho holds: Secrets Manager's four steps, per kind.

:class:`Rotator` runs one step of one event (the Lambda and ``sekisho rotate`` share it);
:func:`stage` is how an operator hands over a kintone token or a sender's key.
"""

from .driver import ensure_rotation_enabled, is_local_endpoint, rotate
from .errors import (
    NothingStaged,
    PendingValueIsCurrent,
    PendingValueMissing,
    RotationError,
    RotationEventInvalid,
    RotationNotEnabled,
    RotationNotLocal,
    RotationVersionNotPending,
    RotationVersionUnknown,
    SecretKindUnknown,
    SecretShapeInvalid,
    SecretsManagerFailed,
    StagedValueIsCurrent,
    StageInputInvalid,
    StagingRefused,
    TokenInvalid,
    TokenNotDeclared,
    TokenPrivilegeMismatch,
)
from .kinds import (
    CAPTCHA,
    HMAC,
    KINTONE_TOKEN,
    WEBHOOK_KEY,
    GeneratedKey,
    Kind,
    StagedKey,
    default_kinds,
)
from .least_privilege import LeastPrivilegeCheck
from .staging import Staged, clean_input, stage
from .steps import CREATE, FINISH, SET, STEPS, TEST, RotationEvent, Rotator, StepOutcome
from .versions import CURRENT, PENDING, PREVIOUS, STAGED, SecretMetadata, SecretVersions
from .wiring import build_rotator, rotator

__all__ = [
    "CAPTCHA",
    "CREATE",
    "CURRENT",
    "FINISH",
    "HMAC",
    "KINTONE_TOKEN",
    "PENDING",
    "PREVIOUS",
    "SET",
    "STAGED",
    "STEPS",
    "TEST",
    "WEBHOOK_KEY",
    "GeneratedKey",
    "Kind",
    "LeastPrivilegeCheck",
    "NothingStaged",
    "PendingValueIsCurrent",
    "PendingValueMissing",
    "RotationError",
    "RotationEvent",
    "RotationEventInvalid",
    "RotationNotEnabled",
    "RotationNotLocal",
    "RotationVersionNotPending",
    "RotationVersionUnknown",
    "Rotator",
    "SecretKindUnknown",
    "SecretMetadata",
    "SecretShapeInvalid",
    "SecretVersions",
    "SecretsManagerFailed",
    "StageInputInvalid",
    "Staged",
    "StagedKey",
    "StagedValueIsCurrent",
    "StagingRefused",
    "StepOutcome",
    "TokenInvalid",
    "TokenNotDeclared",
    "TokenPrivilegeMismatch",
    "build_rotator",
    "clean_input",
    "default_kinds",
    "ensure_rotation_enabled",
    "is_local_endpoint",
    "rotate",
    "rotator",
    "stage",
]
