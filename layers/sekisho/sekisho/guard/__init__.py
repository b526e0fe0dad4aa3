"""Rate limits and lockouts, counted in DynamoDB so every container sees the same counts.

``Guard`` is the one public class; stores only offer an atomic bounded increment and a
consistent read.

Names are loaded on first use (PEP 562): ``Guard`` does not bring boto3 with it; the
DynamoDB store does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sekisho.lazy import lazy_exports

_EXPORTS = {
    "DynamoGuardStore": ".dynamodb",
    "spend_or_refuse": ".budget",
    "EXPIRY_GRACE_SECONDS": ".guard",
    "BudgetSpend": ".guard",
    "Guard": ".guard",
    "Standing": ".guard",
    "client_network": ".network",
    "GuardMisconfigured": ".errors",
    "GuardStore": ".store",
    "GuardUnavailable": ".errors",
    "InMemoryGuardStore": ".memory",
    "Rate": ".guard",
    "dynamodb_client": ".dynamodb",
    "is_expired": ".store",
}

__all__ = [
    "EXPIRY_GRACE_SECONDS",
    "BudgetSpend",
    "DynamoGuardStore",
    "Guard",
    "GuardMisconfigured",
    "GuardStore",
    "GuardUnavailable",
    "InMemoryGuardStore",
    "Rate",
    "Standing",
    "client_network",
    "dynamodb_client",
    "is_expired",
    "spend_or_refuse",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

if TYPE_CHECKING:
    from .budget import spend_or_refuse
    from .dynamodb import DynamoGuardStore, dynamodb_client
    from .errors import GuardMisconfigured, GuardUnavailable
    from .guard import EXPIRY_GRACE_SECONDS, BudgetSpend, Guard, Rate, Standing
    from .memory import InMemoryGuardStore
    from .network import client_network
    from .store import GuardStore, is_expired
