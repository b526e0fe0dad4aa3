"""The one error hierarchy of the relay.

Every error the relay raises carries an HTTP status and a stable machine ``code``; the
HTTP layer turns any of them into an RFC 9457 problem document with :meth:`problem`.
Upstream detail (kintone's codes and messages) stays on the exception for logs and is
never part of the problem a browser sees.
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_TYPE_BASE = "urn:sekisho:problem:"


class SekishoError(Exception):
    """The root of the hierarchy; a kind of error declares its problem in its class line,
    ``class Gone(SekishoError, code="gone", status=410, title="It is gone")``, and inherits
    from its base whatever of ``code``, ``status`` and ``title`` it leaves out."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"

    def __init_subclass__(
        cls,
        *,
        code: str | None = None,
        status: int | None = None,
        title: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code
        if status is not None:
            cls.status = status
        if title is not None:
            cls.title = title

    def __init__(self, detail: str | None = None, *, errors: list[dict[str, Any]] | None = None):
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = errors

    def problem(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "code": self.code,
        }
        if self.detail:
            doc["detail"] = self.detail
        if self.errors:
            doc["errors"] = self.errors
        return doc


class ValidationFailed(
    SekishoError, code="validation_failed", status=400, title="The request is not valid"
): ...


class NotFound(SekishoError, code="not_found", status=404, title="Not found"): ...


class PayloadTooLarge(
    SekishoError, code="payload_too_large", status=413, title="The request body is too large"
): ...


class UnsupportedMediaType(
    SekishoError, code="unsupported_media_type", status=415, title="The request body must be JSON"
): ...


class RateLimited(SekishoError, code="rate_limited", status=429, title="Too many requests"): ...


class RouteBudgetExhausted(
    RateLimited,
    code="route_budget_exhausted",
    title="This route has used its kintone budget for now",
):
    """The route spent its declared kintone budget (``guard.budget``) for this window,
    across every caller: no one gets through until the window ends (``retry_after``)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("try again when the budget's window ends")
        self.retry_after = max(1, int(retry_after))


class ConfigurationError(
    SekishoError, code="configuration_error", status=500, title="The relay is misconfigured"
):
    """The deployment is wrong (policy, settings): an operator's problem, not the caller's."""

    def problem(self) -> dict[str, Any]:
        # The detail names policy entries; a browser gets only the code.
        doc = super().problem()
        doc.pop("detail", None)
        return doc


class UpstreamError(
    SekishoError, code="upstream_error", status=502, title="The upstream service failed"
):
    """kintone answered with something the relay cannot use."""

    def problem(self) -> dict[str, Any]:
        # NOTE: kintone's code and message never reach a browser; they are logged instead.
        return {
            "type": PROBLEM_TYPE_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "code": self.code,
        }


class UpstreamUnavailable(
    UpstreamError,
    code="upstream_unavailable",
    status=503,
    title="The upstream service is unavailable",
):
    """kintone is down, busy or slow: the request may succeed later."""


class OutOfTime(UpstreamUnavailable):
    """Too little of this invocation is left to wait for kintone: the intake queues the
    submission instead, a queue consumer leaves the message for a later invocation."""


class RouteDisabled(
    SekishoError, code="route_disabled", status=503, title="This route is switched off"
):
    """An operator switched the route off (policy ``enabled: false`` or the SSM switch)."""

    outcome = "route_disabled"
