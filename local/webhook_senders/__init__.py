"""How each webhook sender signs a delivery: the other half of ``sekisho.webhooks.schemes``,
for tests, the events generator and the local stack's ``send`` command.

``sign(scheme, body, secret, now=...)`` gives the headers (and, for kintone, the query) a
real sender would attach to ``body``; ``demo_secret(scheme)`` makes a fresh random secret
of the shape the relay keeps in Secrets Manager for that scheme.
"""

from __future__ import annotations

from .demo import demo_secret
from .signing import SCHEMES, Signed, sign

__all__ = ["SCHEMES", "Signed", "demo_secret", "sign"]
