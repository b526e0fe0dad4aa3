"""One verifier per webhook scheme, all with the same shape::

    verify(delivery, secret, *, now) -> Verified

``secret`` is one version of the source's secret (the service tries the current one,
then, inside the grace period, the previous one); ``now`` is Unix seconds. A verifier
raises only :class:`~sekisho.webhooks.errors.SignatureInvalid` subclasses for anything a
sender controls, and :class:`~sekisho.errors.ConfigurationError` for a secret of the
wrong shape.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from sekisho.errors import SekishoError

from ..delivery import Delivery, Verified
from ..errors import MalformedDelivery
from . import box, github, kintone, slack, standard, stripe

logger = logging.getLogger(__name__)

Verifier = Callable[..., Verified]


def _never_500(verify: Verifier) -> Verifier:
    """The last line of defence: a bug a sender's bytes can reach must still be a 401. The
    verifiers are written (and fuzzed) never to need it."""

    @functools.wraps(verify)
    def guarded(delivery: Delivery, secret: Mapping[str, Any], *, now: float) -> Verified:
        try:
            return verify(delivery, secret, now=now)
        except SekishoError:
            raise
        except Exception as exc:
            # The type only: a message could quote the sender's bytes.
            logger.error(
                "webhook verifier %s failed with %s", verify.__module__, type(exc).__name__
            )
            raise MalformedDelivery("the verifier could not read the delivery") from exc

    return guarded


VERIFIERS: Mapping[str, Verifier] = MappingProxyType(
    {
        "standard": _never_500(standard.verify),
        "stripe": _never_500(stripe.verify),
        "github": _never_500(github.verify),
        "box": _never_500(box.verify),
        "slack": _never_500(slack.verify),
        "kintone": _never_500(kintone.verify),
    }
)

__all__ = ["VERIFIERS", "Verifier"]

# The headers each scheme reads, by scheme (what openapi.json documents).
SCHEME_HEADERS: Mapping[str, tuple[tuple[str, bool], ...]] = MappingProxyType(
    {
        "standard": standard.HEADERS,
        "stripe": stripe.HEADERS,
        "github": github.HEADERS,
        "box": box.HEADERS,
        "slack": slack.HEADERS,
        "kintone": kintone.HEADERS,
    }
)
