"""Rotation of the secrets sekisho holds: Secrets Manager's four steps, per kind.

:class:`Rotator` runs one step of one event (the Lambda and ``sekisho rotate`` share it);
:func:`stage` is how an operator hands over a kintone token or a sender's key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sekisho.lazy import lazy_exports

# Loaded on first use (sekisho.lazy): a function loads only the submodules it asks for.
_EXPORTS = {
    "ensure_rotation_enabled": ".driver",
    "is_local_endpoint": ".driver",
    "rotate": ".driver",
    "NothingStaged": ".errors",
    "PendingValueIsCurrent": ".errors",
    "PendingValueMissing": ".errors",
    "RotationError": ".errors",
    "RotationEventInvalid": ".errors",
    "RotationNotEnabled": ".errors",
    "RotationNotLocal": ".errors",
    "RotationVersionNotPending": ".errors",
    "RotationVersionUnknown": ".errors",
    "SecretKindUnknown": ".errors",
    "SecretShapeInvalid": ".errors",
    "SecretsManagerFailed": ".errors",
    "StagedValueIsCurrent": ".errors",
    "StageInputInvalid": ".errors",
    "StagingRefused": ".errors",
    "TokenInvalid": ".errors",
    "TokenNotDeclared": ".errors",
    "TokenPrivilegeMismatch": ".errors",
    "CAPTCHA": ".kinds",
    "HMAC": ".kinds",
    "KINTONE_TOKEN": ".kinds",
    "WEBHOOK_KEY": ".kinds",
    "GeneratedKey": ".kinds",
    "Kind": ".kinds",
    "StagedKey": ".kinds",
    "default_kinds": ".kinds",
    "LeastPrivilegeCheck": ".least_privilege",
    "Staged": ".staging",
    "clean_input": ".staging",
    "stage": ".staging",
    "CREATE": ".steps",
    "FINISH": ".steps",
    "SET": ".steps",
    "STEPS": ".steps",
    "TEST": ".steps",
    "RotationEvent": ".steps",
    "Rotator": ".steps",
    "StepOutcome": ".steps",
    "CURRENT": ".versions",
    "PENDING": ".versions",
    "PREVIOUS": ".versions",
    "STAGED": ".versions",
    "SecretMetadata": ".versions",
    "SecretVersions": ".versions",
    "build_rotator": ".wiring",
    "rotator": ".wiring",
}

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

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

if TYPE_CHECKING:
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
