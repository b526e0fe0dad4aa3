"""The rotator: the four steps, each kind of secret, and the least-privilege check."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

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
    count: Callable[[str], None] = lambda outcome: None,
) -> Rotator:
    check = LeastPrivilegeCheck(policy, kintone_base_url)
    return Rotator(versions, default_kinds(check), clock=clock, count=count)
