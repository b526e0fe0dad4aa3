"""The four rotation steps in this process, as the rotation function runs them: what
`python -m devstack rotate` (`make rotate`) runs on the local stack.

The driver plays Secrets Manager's part (a fresh ClientRequestToken, the steps in order,
stop at the first failure) and hands each step to the same :class:`Rotator` the Lambda
uses. It exists for the local stack, where moto cannot invoke a rotation function without
Docker, and so it lives here rather than in the layer; on AWS,
`aws secretsmanager rotate-secret --secret-id <name>` runs the deployed one.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

from sekisho.rotation.errors import RotationNotEnabled
from sekisho.rotation.steps import STEPS, RotationEvent, Rotator, StepOutcome
from sekisho.rotation.versions import SecretVersions

# What the template's RotationSchedule declares, for a local secret that has none.
LOCAL_ROTATION_DAYS = 90


def is_local_endpoint(url: str | None) -> bool:
    """Is this Secrets Manager on this machine (moto), rather than AWS?"""
    host = urlsplit(url or "").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def ensure_rotation_enabled(versions: SecretVersions, secret_id: str) -> bool:
    """Make Secrets Manager report rotation enabled, as the rotation function requires;
    True when this call had to turn it on.

    On AWS only the secret's RotationSchedule (a rotation function and a schedule) turns
    it on, so elsewhere this refuses. moto turns it on through RotateSecret with rotation
    rules, but without a function it also rotates at once: RotateImmediately=False makes
    that a new version holding the current value (the old one becomes AWSPREVIOUS), so
    every reader keeps the same value. With RotateImmediately=True moto would make an
    *empty* version current instead.
    """
    if versions.describe(secret_id).rotation_enabled:
        return False
    if not is_local_endpoint(versions.endpoint_url):
        raise RotationNotEnabled(
            f"secret {secret_id} is not enabled for rotation: deploy its RotationSchedule, "
            "then run `aws secretsmanager rotate-secret`"
        )
    versions.enable_rotation_without_function(secret_id, days=LOCAL_ROTATION_DAYS)
    if not versions.describe(secret_id).rotation_enabled:
        raise RotationNotEnabled(f"Secrets Manager did not enable rotation for {secret_id}")
    return True


def rotate(
    rotator: Rotator,
    secret_id: str,
    *,
    new_token: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> Iterator[StepOutcome]:
    """Run the four steps for a fresh token, yielding each outcome; the first failure
    propagates and leaves the secret as Secrets Manager would: AWSCURRENT unchanged (a
    value stored before a later step other than testSecret failed stays at AWSPENDING
    until the next rotation moves the label)."""
    token = new_token()
    for step in STEPS:
        yield rotator.handle(RotationEvent(secret_id, token, step), version_created=False)
