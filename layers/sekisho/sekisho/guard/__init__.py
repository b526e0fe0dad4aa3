"""Rate limits and lockouts, counted in DynamoDB so every container sees the same counts.

``Guard`` is the one public class; stores only offer an atomic bounded increment and a
consistent read.
"""

from .dynamodb import DynamoGuardStore, dynamodb_client
from .errors import GuardMisconfigured, GuardUnavailable
from .guard import EXPIRY_GRACE_SECONDS, Guard, Rate
from .memory import InMemoryGuardStore
from .store import GuardStore, is_expired

__all__ = [
    "EXPIRY_GRACE_SECONDS",
    "DynamoGuardStore",
    "Guard",
    "GuardMisconfigured",
    "GuardStore",
    "GuardUnavailable",
    "InMemoryGuardStore",
    "Rate",
    "dynamodb_client",
    "is_expired",
]
