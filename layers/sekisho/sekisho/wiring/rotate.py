"""RotateFunction: Secrets Manager's four rotation steps, for every secret of the stack."""

from __future__ import annotations

import functools

from sekisho import metrics, runtime
from sekisho.rotation.steps import Rotator
from sekisho.rotation.versions import SecretVersions
from sekisho.rotation.wiring import build_rotator
from sekisho.secrets.aws import secretsmanager_client
from sekisho.secrets.names import prefixed


@functools.cache
def rotator() -> Rotator:
    """The Lambda's rotator: the bundled policy says what each kintone token may do."""
    return build_rotator(
        runtime.policy(),
        runtime.kintone_base_url(),
        # The event's ARN is checked against SEKISHO_SECRET_PREFIX; names come back declared.
        SecretVersions(prefixed(secretsmanager_client())),
        count=metrics.rotation,
    )
