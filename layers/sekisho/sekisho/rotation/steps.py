"""Secrets Manager's four rotation steps, with the guard checks of AWS's rotation template.

Secrets Manager starts a rotation by giving a new, empty version the label AWSPENDING
(its id is the event's ``ClientRequestToken``), then invokes the function once per step:

- createSecret stores the new value in that version (nothing, if it already holds one);
- setSecret would install it in the service that uses it (nothing to do for our kinds);
- testSecret proves the new value works, and for a kintone token that it can do no more
  than the policy declares;
- finishSecret moves AWSCURRENT to it (Secrets Manager gives AWSPREVIOUS to the version
  that had it) and removes AWSPENDING.

Every step may run more than once for one token (Secrets Manager retries a failed step),
so each is idempotent on the token, and testSecret can run on its own. A value that fails
testSecret loses its AWSPENDING label, so retries never test it again and the next
rotation starts from what is staged then.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sekisho import metrics
from sekisho.errors import SekishoError

from .errors import (
    PendingValueMissing,
    RotationEventInvalid,
    RotationNotEnabled,
    RotationVersionNotPending,
    RotationVersionUnknown,
    SecretShapeInvalid,
)
from .kinds import Kind, StepContext, kind_of
from .versions import CURRENT, PENDING, SecretVersions, Value

logger = logging.getLogger(__name__)

CREATE = "createSecret"
SET = "setSecret"
TEST = "testSecret"
FINISH = "finishSecret"
STEPS = (CREATE, SET, TEST, FINISH)
# What finishSecret did when it moved AWSCURRENT (not "already current": a retry).
PROMOTED = "promoted"
_MAX_ID = 2048


@dataclass(frozen=True)
class RotationEvent:
    """What Secrets Manager sends the rotation function."""

    secret_id: str
    token: str
    step: str
    # Newer events carry a token that PutSecretValue must pass back (AWS marks it
    # sensitive: never shown).
    rotation_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_event(cls, event: Any) -> RotationEvent:
        if not isinstance(event, Mapping):
            raise RotationEventInvalid("a rotation event is a JSON object")
        values: dict[str, str] = {}
        for key in ("SecretId", "ClientRequestToken", "Step"):
            value = event.get(key)
            if not isinstance(value, str) or not value or len(value) > _MAX_ID:
                raise RotationEventInvalid(f"the rotation event has no usable {key}")
            values[key] = value
        if values["Step"] not in STEPS:
            raise RotationEventInvalid(f"unknown rotation step {values['Step']!r}")
        rotation_token = event.get("RotationToken")
        if rotation_token is not None and (
            not isinstance(rotation_token, str) or not rotation_token
        ):
            raise RotationEventInvalid("the rotation event's RotationToken is not a string")
        return cls(values["SecretId"], values["ClientRequestToken"], values["Step"], rotation_token)


@dataclass(frozen=True)
class StepOutcome:
    step: str
    secret: str
    token: str
    action: str  # what the step did, e.g. "created", "already current", "promoted"
    details: tuple[str, ...] = field(default=())


class Rotator:
    def __init__(
        self,
        versions: SecretVersions,
        kinds: Mapping[str, Kind],
        *,
        clock: Callable[[], float] = time.time,
        count: Callable[[str], None] = lambda outcome: None,
    ) -> None:
        self._versions = versions
        self._kinds = dict(kinds)
        self._clock = clock
        # The function counts ``rotated`` (a finishSecret that promoted) and ``failed`` (a
        # step that raised) for its metrics; an operator's command counts nothing.
        self._count = count

    def handle(self, event: RotationEvent, *, version_created: bool = True) -> StepOutcome:
        """Run one step.

        ``version_created``: Secrets Manager makes the token's empty AWSPENDING version
        before it invokes createSecret, and the guard refuses a token the secret does not
        know. A caller playing Secrets Manager that cannot make an empty version (the
        local driver: moto makes one only while invoking a rotation Lambda, which needs
        Docker) passes False; createSecret then also accepts a token not yet known.
        """
        fields = {"secret_id": event.secret_id, "step": event.step, "version_id": event.token}
        try:
            outcome = self._guarded(event, version_created)
        except Exception as exc:
            self._count(metrics.FAILED)
            if isinstance(exc, SekishoError):
                logger.warning("rotation step failed", extra={**fields, "error_code": exc.code})
            raise
        logger.info("rotation step done", extra={**fields, "action": outcome.action})
        if outcome.step == FINISH and outcome.action == PROMOTED:
            self._count(metrics.ROTATED)
        return outcome

    # -- the steps -----------------------------------------------------------------

    def _guarded(self, event: RotationEvent, version_created: bool) -> StepOutcome:
        """The checks of AWS's rotation template, then the step."""
        metadata = self._versions.describe(event.secret_id)
        name = metadata.name
        if not metadata.rotation_enabled:
            raise RotationNotEnabled(f"secret {name} is not enabled for rotation")
        labels = metadata.stages.get(event.token)
        if labels is None and not (event.step == CREATE and not version_created):
            raise RotationVersionUnknown(
                f"version {event.token} has no stage for rotation of secret {name}"
            )
        if labels is not None and CURRENT in labels:
            return StepOutcome(event.step, name, event.token, "already current")
        if labels is not None and PENDING not in labels:
            raise RotationVersionNotPending(
                f"version {event.token} of secret {name} is not labelled AWSPENDING"
            )
        ctx = StepContext(event.secret_id, metadata, event.token, self._versions, self._clock())
        return self._run(event, ctx)

    def _run(self, event: RotationEvent, ctx: StepContext) -> StepOutcome:
        current = self._current(ctx)
        kind = kind_of(current, ctx.name, self._kinds)
        if event.step == CREATE:
            return self._create(ctx, kind, current, event.rotation_token)
        if event.step == SET:
            # Every kind's new value is already where it is used: sekisho holds its own
            # keys, and kintone tokens and senders' keys exist before they are staged.
            return self._outcome(ctx, SET, "nothing to set")
        pending = self._pending(ctx)
        if event.step == TEST:
            if pending == current:
                # Secrets Manager's own check of a new rotation schedule (RotationSchedule
                # with RotateImmediatelyOnUpdate false): it puts a copy of the current value
                # at AWSPENDING and runs testSecret alone. A real rotation never gets here
                # with an unchanged value (createSecret refuses one), and this copy is
                # already current: there is nothing new to prove, and failing would raise
                # a false alarm on every deployment (and on every secret not yet filled in).
                return self._outcome(ctx, TEST, "configuration test: value unchanged")
            try:
                details = kind.test(ctx, current, pending)
            except SekishoError:
                self._withdraw(ctx)
                raise
            return self._outcome(ctx, TEST, "tested", details)
        return self._finish(ctx, kind, pending)

    def _create(
        self, ctx: StepContext, kind: Kind, current: Value, rotation_token: str | None
    ) -> StepOutcome:
        if self._versions.read(ctx.secret_id, PENDING, ctx.token) is not None:
            return self._outcome(ctx, CREATE, "already created")
        value = kind.create(ctx, current)
        self._versions.put(
            ctx.secret_id,
            value,
            stages=[PENDING],
            version_id=ctx.token,
            rotation_token=rotation_token,
        )
        return self._outcome(ctx, CREATE, "created")

    def _finish(self, ctx: StepContext, kind: Kind, pending: Value) -> StepOutcome:
        # Kind-specific tidying first: once AWSCURRENT has moved, a retried finishSecret
        # returns at once ("already current") and would never get to it.
        kind.finish(ctx, pending)
        current_version = ctx.metadata.version_with(CURRENT)
        self._versions.move_stage(
            ctx.secret_id, CURRENT, to_version=ctx.token, from_version=current_version
        )
        self._versions.move_stage(ctx.secret_id, PENDING, from_version=ctx.token)
        return self._outcome(ctx, FINISH, PROMOTED, (f"previous version {current_version}",))

    def _withdraw(self, ctx: StepContext) -> None:
        """Take AWSPENDING off a version whose value failed testSecret.

        Secrets Manager retries a failed rotation with the same ClientRequestToken:
        createSecret would find the rejected value "already created" and testSecret would
        refuse it again, on every retry, even after an operator staged a corrected value.
        Without the label a retry stops at the guard, and the next rotation starts afresh
        from what is staged then.
        """
        fields = {"secret_id": ctx.secret_id, "version_id": ctx.token}
        try:
            self._versions.move_stage(ctx.secret_id, PENDING, from_version=ctx.token)
        except SekishoError as exc:
            # The test's failure is the one to report; this one only means a retry of
            # this rotation will test the rejected value again.
            logger.warning(
                "could not remove AWSPENDING from the version that failed testSecret",
                extra={**fields, "error_code": exc.code},
            )
            return
        logger.info("removed AWSPENDING from the version that failed testSecret", extra=fields)

    # -- helpers -------------------------------------------------------------------

    def _current(self, ctx: StepContext) -> Value:
        current = self._versions.read(ctx.secret_id, CURRENT)
        if current is None:
            raise SecretShapeInvalid(f"secret {ctx.name!r} has no AWSCURRENT value")
        return current

    def _pending(self, ctx: StepContext) -> Value:
        pending = self._versions.read(ctx.secret_id, PENDING, ctx.token)
        if pending is None:
            raise PendingValueMissing(
                f"version {ctx.token} of secret {ctx.name} holds no value: createSecret first"
            )
        return pending

    @staticmethod
    def _outcome(
        ctx: StepContext, step: str, action: str, details: tuple[str, ...] = ()
    ) -> StepOutcome:
        return StepOutcome(step, ctx.name, ctx.token, action, details)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kinds={sorted(self._kinds)})"
