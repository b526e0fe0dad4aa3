"""testSecret of a kintone token: it may do exactly what the policy declares, nothing more.

The probe itself (which requests prove a permission without writing anything) is
:mod:`sekisho.tokens`; this module only points it at the new token and turns a report
that is not ``ok`` into :class:`~sekisho.rotation.errors.TokenPrivilegeMismatch`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sekisho.kintone.client import KintoneClient
from sekisho.tokens import (
    INVALID_TOKEN,
    ProbeReport,
    declared_tokens,
    probe_client,
    probe_token,
)

from .errors import SecretShapeInvalid, TokenInvalid, TokenNotDeclared, TokenPrivilegeMismatch
from .versions import Value

if TYPE_CHECKING:
    from sekisho.policy import Policy

# (base URL, token) -> a client fit for probing: no retries, no token refresh. A busy or
# unreachable kintone makes a row "unknown", which fails the test; the staged token stays
# staged, and the next rotation tests it again.
ClientFactory = Callable[[str, str], KintoneClient]


def describe(report: ProbeReport) -> tuple[str, ...]:
    """One line per permission: expected, observed, verdict (no token, no record)."""
    return tuple(
        f"{row.permission}: expected {'allowed' if row.expected else 'denied'}, "
        f"observed {row.observed}{'' if row.ok else '  <-- MISMATCH'}"
        for row in report.rows
    )


class LeastPrivilegeCheck:
    def __init__(
        self,
        policy: Policy,
        base_url: str,
        *,
        client_factory: ClientFactory = probe_client,
    ) -> None:
        self._policy = policy
        self._base_url = base_url
        self._client_factory = client_factory

    def __call__(self, name: str, pending: Value) -> tuple[str, ...]:
        declared = declared_tokens(self._policy).get(name)
        if declared is None:
            raise TokenNotDeclared(
                f"the policy names no route using {name}: nothing declares what its token "
                "may do, so it cannot be proved least-privileged"
            )
        token = pending.get("token")
        if not isinstance(token, str) or not token:
            raise SecretShapeInvalid(f"secret {name!r} (AWSPENDING) has no non-empty 'token'")
        client = self._client_factory(self._base_url, token)
        report = probe_token(client, declared, self._policy.apps[declared.app])
        lines = (f"app {declared.app}, declared {sorted(declared.permissions)}", *describe(report))
        if report.ok:
            return lines
        if all(row.observed == INVALID_TOKEN for row in report.rows):
            raise TokenInvalid(
                f"kintone does not accept the new token for {name} (app {declared.app}): "
                "check it was copied whole, and that the app was updated after the token was "
                "created (kintone activates a token only then)",
                report=report,
            )
        # Neither excess nor missing: an undeclared permission kintone gave no clear
        # answer about (busy, unexpected error). Never a pass.
        explained = {*report.excess, *report.missing}
        unproved = [r.permission for r in report.rows if not r.ok and r.permission not in explained]
        raise TokenPrivilegeMismatch(
            f"the new token for {name} does not match the policy on app {declared.app}: "
            f"declared {sorted(declared.permissions)}, excess {list(report.excess)}, "
            f"missing {list(report.missing)}" + (f", unproved {unproved}" if unproved else ""),
            report=report,
        )
