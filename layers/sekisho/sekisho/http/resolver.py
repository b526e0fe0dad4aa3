"""One Powertools REST resolver setup for every route of the relay."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.utilities.typing import LambdaContext

from sekisho import metrics
from sekisho.errors import NotFound, SekishoError
from sekisho.safe_traceback import log_unexpected

from .problems import problem_response

# A child of the function's Powertools Logger (service "sekisho"): same JSON lines.
logger = logging.getLogger(__name__)

# Every answer of the relay: nothing cached by a browser or a proxy, nothing sniffed,
# nothing framed, no Referer leaking the page that called us.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}


JSON_CONTENT_TYPE = "application/json; charset=utf-8"


def _to_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class HttpSettings:
    allowed_origins: tuple[str, ...] = ()
    max_body_bytes: int = 16 * 1024
    allow_headers: tuple[str, ...] = ("Idempotency-Key",)
    preflight_max_age: int = 600
    # The metrics' route of a request, from its matched path parameters and its path (names
    # the policy declares).
    route_of: Callable[[Mapping[str, str], str], str] = lambda params, path: metrics.UNDECLARED


class SekishoResolver(APIGatewayRestResolver):
    """Adds the security headers and ``Vary: Origin`` to every response, the problem
    responses of exception handlers and preflights included, and counts every answer
    (the Requests and Refusals metrics) under the route it was for."""

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        # Undeclared until a route matches (_name_route); Requests and Refusals once answered.
        with metrics.route_scope(metrics.UNDECLARED):
            try:
                response = self._secured(super().resolve(event, context))
            except BaseException:
                metrics.answered({"statusCode": 500})
                raise
            metrics.answered(response)
        return response

    @staticmethod
    def _secured(response: dict[str, Any]) -> dict[str, Any]:
        multi = "multiValueHeaders" in response
        headers = response["multiValueHeaders"] if multi else response.setdefault("headers", {})

        def put(name: str, value: str) -> None:
            headers[name] = [value] if multi else value

        for name, value in SECURITY_HEADERS.items():
            if name not in headers:
                put(name, value)
        # The answer depends on the Origin (CORS), so caches must key on it.
        put("Vary", "Origin")
        content_type = headers.get("Content-Type")
        if content_type in ("application/json", ["application/json"]):
            put("Content-Type", JSON_CONTENT_TYPE)
        return response


def _client_ip(app: APIGatewayRestResolver) -> str | None:
    """The caller's address as API Gateway saw it (never X-Forwarded-For)."""
    identity = (app.current_event.raw_event.get("requestContext") or {}).get("identity") or {}
    ip = identity.get("sourceIp")
    return ip if isinstance(ip, str) else None


def create_resolver(settings: HttpSettings) -> SekishoResolver:
    origins = list(settings.allowed_origins)
    cors = None
    if origins:
        cors = CORSConfig(
            allow_origin=origins[0],
            extra_origins=origins[1:],
            allow_headers=list(settings.allow_headers),
            max_age=settings.preflight_max_age,
        )
    app = SekishoResolver(cors=cors, serializer=_to_json)

    def _name_route(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
        # Powertools' matched parameters: a literal path (/views/my-applications) has none
        # in the event's pathParameters.
        request = app.request
        metrics.name_route(settings.route_of(request.path_parameters, app.current_event.path))
        return next_middleware(app)

    def _relay_error(error: SekishoError) -> Response[str]:
        if error.status >= 500:
            logger.error(
                "request failed",
                extra={"code": error.code, "error": type(error).__name__}
                | getattr(error, "log_fields", dict)(),
            )
        else:
            # The client, so "refusals by code and client" (a saved query) needs no join.
            logger.info(
                "request refused",
                extra={"code": error.code, "status": error.status, "client_ip": _client_ip(app)},
            )
        return problem_response(error)

    def _no_route(_: Exception) -> Response[str]:
        return problem_response(NotFound())

    def _unexpected(error: Exception) -> Response[str]:
        # A bug, not a caller's fault: log the stack, answer a problem without detail.
        # Its type and frames only: the message may quote a header value (a token).
        log_unexpected(logger, "unhandled error", error)
        return problem_response(SekishoError())

    # Registered by call, not as decorators: Powertools' registrations are unannotated, and
    # a decorator typed Any would leave each handler untyped.
    app.exception_handler(SekishoError)(_relay_error)
    app.not_found(_no_route)
    app.exception_handler(Exception)(_unexpected)
    app.use([_name_route])
    return app
