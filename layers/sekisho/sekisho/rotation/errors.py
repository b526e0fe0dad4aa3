"""What can stop a rotation or a staging.

Each error names the secret and the step, never a value: these messages end up in the
rotation function's logs, in the alarm on failed rotations and on an operator's terminal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sekisho.errors import SekishoError

if TYPE_CHECKING:
    from sekisho.tokens import ProbeReport


class RotationError(
    SekishoError, code="rotation_failed", status=500, title="The secret could not be rotated"
):
    """A rotation step failed; Secrets Manager leaves AWSCURRENT where it was."""


class RotationEventInvalid(
    RotationError,
    code="rotation_event_invalid",
    status=400,
    title="The rotation event is not valid",
):
    """The event is not a Secrets Manager rotation event."""


class RotationNotEnabled(
    RotationError, code="rotation_not_enabled", title="Rotation is not enabled for the secret"
): ...


class RotationNotLocal(
    RotationError,
    code="rotation_not_local",
    status=409,
    title="The local rotation runs against a local Secrets Manager only",
):
    """The local stack's ``python -m devstack rotate`` (``make rotate``) pointed at AWS:
    there the deployed rotation function rotates, on Secrets Manager's schedule and
    retries, never an operator's process."""


class RotationVersionUnknown(
    RotationError,
    code="rotation_version_unknown",
    title="The rotation's version is not a version of the secret",
):
    """The event's ClientRequestToken names no version of the secret."""


class RotationVersionNotPending(
    RotationError,
    code="rotation_version_not_pending",
    title="The rotation's version is not labelled AWSPENDING",
): ...


class PendingValueMissing(
    RotationError, code="pending_value_missing", title="The rotation's version holds no value"
):
    """testSecret or finishSecret ran before createSecret stored a value."""


class SecretKindUnknown(
    RotationError,
    code="secret_kind_unknown",
    title="The secret does not say a kind this function rotates",
): ...


class SecretShapeInvalid(
    RotationError,
    code="secret_shape_invalid",
    title="The secret's value does not have the shape of its kind",
): ...


class NothingStaged(
    RotationError, code="nothing_staged", title="No new value is staged for the secret"
):
    """A secret sekisho cannot generate was due for rotation and nobody staged a value.

    Raised by createSecret on every scheduled rotation until an operator stages one: this
    failure, surfaced by the alarm on failed rotations, is the operator's reminder.
    """


class StagedValueIsCurrent(
    RotationError, code="staged_value_is_current", title="The staged value is the current one"
): ...


class PendingValueIsCurrent(
    RotationError,
    code="pending_value_is_current",
    title="The rotation's new value is the current one",
): ...


class TokenNotDeclared(
    RotationError,
    code="token_not_declared",
    title="The policy declares no permissions for the token",
):
    """A kintone token secret the policy does not name: nothing says what it may do."""


class TokenPrivilegeMismatch(
    RotationError,
    code="token_privilege_mismatch",
    title="The token's permissions differ from the declared ones",
):
    """The new kintone token can do more (or less) than the policy declares."""

    def __init__(self, detail: str, *, report: ProbeReport) -> None:
        super().__init__(detail)
        self.report = report


class TokenInvalid(
    TokenPrivilegeMismatch, code="token_invalid", title="kintone does not accept the new token"
):
    """kintone answers GAIA_IA02 to the new token: mistyped, or not yet activated (kintone
    activates a token only once the app is updated after the token was created)."""


class SecretsManagerFailed(
    RotationError, code="secrets_manager_failed", title="Secrets Manager failed"
):
    """Secrets Manager refused or failed a call; ``aws_code`` is its error code."""

    def __init__(self, detail: str, *, aws_code: str) -> None:
        super().__init__(detail)
        self.aws_code = aws_code


class StageInputInvalid(
    SekishoError, code="stage_input_invalid", status=400, title="The staged value is not valid"
):
    """What an operator piped into ``sekisho token stage`` cannot be a token or key."""


class StagingRefused(
    SekishoError,
    code="staging_refused",
    status=409,
    title="The secret does not take a staged value",
):
    """The secret is not one an operator stages (sekisho generates it, or its kind is
    unknown), or the requested field is not one of its keys."""
