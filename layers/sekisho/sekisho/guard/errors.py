"""Guard failures. The guard fails closed: a relay that cannot count must not answer.

Messages say what failed, never a table name, a counter key or a value.
"""

from __future__ import annotations

from sekisho.errors import ConfigurationError, UpstreamUnavailable


class GuardUnavailable(UpstreamUnavailable):
    """The counter store failed (throttled, unreachable, contended)."""


class GuardMisconfigured(ConfigurationError):
    """The counter table is missing or the function may not use it, or a rate is unusable."""
