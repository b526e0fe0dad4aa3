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
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"

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


class ValidationFailed(SekishoError):
    status = 400
    code = "validation_failed"
    title = "The request is not valid"


class NotFound(SekishoError):
    status = 404
    code = "not_found"
    title = "Not found"


class PayloadTooLarge(SekishoError):
    status = 413
    code = "payload_too_large"
    title = "The request body is too large"


class UnsupportedMediaType(SekishoError):
    status = 415
    code = "unsupported_media_type"
    title = "The request body must be JSON"


class RateLimited(SekishoError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"


class RouteBudgetExhausted(RateLimited):
    """The route spent its declared kintone budget (``guard.budget``) for this window,
    across every caller: no one gets through until the window ends (``retry_after``)."""

    code = "route_budget_exhausted"
    title = "This route has used its kintone budget for now"

    def __init__(self, retry_after: int) -> None:
        super().__init__("try again when the budget's window ends")
        self.retry_after = max(1, int(retry_after))


class ConfigurationError(SekishoError):
    """The deployment is wrong (policy, settings): an operator's problem, not the caller's."""

    status = 500
    code = "configuration_error"
    title = "The relay is misconfigured"

    def problem(self) -> dict[str, Any]:
        # The detail names policy entries; a browser gets only the code.
        doc = super().problem()
        doc.pop("detail", None)
        return doc


class UpstreamError(SekishoError):
    """kintone answered with something the relay cannot use."""

    status = 502
    code = "upstream_error"
    title = "The upstream service failed"

    def problem(self) -> dict[str, Any]:
        # NOTE: kintone's code and message never reach a browser; they are logged instead.
        return {
            "type": PROBLEM_TYPE_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "code": self.code,
        }


class UpstreamUnavailable(UpstreamError):
    """kintone is down, busy or slow: the request may succeed later."""

    status = 503
    code = "upstream_unavailable"
    title = "The upstream service is unavailable"


class RouteDisabled(SekishoError):
    """An operator switched the route off (policy ``enabled: false`` or the SSM switch)."""

    status = 503
    code = "route_disabled"
    title = "This route is switched off"
    outcome = "route_disabled"
