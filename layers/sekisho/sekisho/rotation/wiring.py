"""The rotation function's parts, built once per container (and once per CLI run)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from sekisho import runtime
from sekisho.secrets import secretsmanager_client

from .kinds import default_kinds
from .least_privilege import LeastPrivilegeCheck
from .steps import Rotator
from .versions import SecretVersions

if TYPE_CHECKING:
    from sekisho.policy import Policy


def build_rotator(
    policy: Policy,
    kintone_base_url: str,
    versions: SecretVersions,
    *,
    clock: Callable[[], float] = time.time,
) -> Rotator:
    check = LeastPrivilegeCheck(policy, kintone_base_url)
    return Rotator(versions, default_kinds(check), clock=clock)


@functools.cache
def rotator() -> Rotator:
    """The Lambda's rotator: the bundled policy says what each kintone token may do."""
    return build_rotator(
        runtime.policy(), runtime.kintone_base_url(), SecretVersions(secretsmanager_client())
    )
