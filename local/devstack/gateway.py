"""API Gateway's own answers (unknown route, body too large, Lambda failure, timeout), and
the answers of an Api's MOCK integrations (a route's other methods: 405).

They honour the Api's GatewayResponses, so the CORS headers a template declares there show
up locally exactly where the browser would see them in AWS. Response templates are Velocity;
only `$context...` references are substituted, which is what a gateway response template
can use anyway (there is no integration payload).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from urllib.parse import parse_qsl

from .proxy import HttpAnswer, HttpRequest
from .routing import MockMethod
from .sam import ApiSpec, GatewayResponse

MISSING_AUTHENTICATION_TOKEN = "MISSING_AUTHENTICATION_TOKEN"  # noqa: S105 - a response type
REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
INTEGRATION_TIMEOUT = "INTEGRATION_TIMEOUT"
ACCESS_DENIED = "ACCESS_DENIED"
UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
# A Lambda error or a malformed proxy result is answered as the DEFAULT_5XX response.
LAMBDA_FAILURE = "DEFAULT_5XX"

_DEFAULTS: Mapping[str, tuple[int, str]] = {
    MISSING_AUTHENTICATION_TOKEN: (403, "Missing Authentication Token"),
    REQUEST_TOO_LARGE: (413, "Request Too Long"),
    INTEGRATION_TIMEOUT: (504, "Endpoint request timed out"),
    LAMBDA_FAILURE: (502, "Internal server error"),
    ACCESS_DENIED: (403, "User: anonymous is not authorized to perform: execute-api:Invoke"),
    UNSUPPORTED_MEDIA_TYPE: (415, "Unsupported Media Type"),
}

# $context.a.b or ${context.a.b}, optionally quiet ($!...); the braces must pair up, so a
# JSON object's closing brace right after a reference is left alone.
_REFERENCE = re.compile(r"\$(!?)(?:\{(context(?:\.\w+)+)\}|(context(?:\.\w+)+))")


def _customisation(api: ApiSpec | None, kind: str, status: int) -> GatewayResponse | None:
    if api is None:
        return None
    responses = api.gateway_responses
    family = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
    return responses.get(kind) or responses.get(family)


def _context(
    kind: str, message: str, api: ApiSpec | None, request: HttpRequest, request_id: str
) -> dict[str, str]:
    stage = api.stage if api else ""
    return {
        "context.error.message": message,
        "context.error.messageString": json.dumps(message),
        "context.error.responseType": kind,
        "context.error.validationErrorString": "",
        "context.requestId": request_id,
        "context.extendedRequestId": request_id,
        "context.httpMethod": request.method,
        "context.path": f"/{stage}{request.path}",
        "context.stage": stage,
        "context.apiId": api.api_id if api else "",
        "context.domainName": request.header("Host") or "",
        "context.identity.sourceIp": request.peer_ip,
        "context.identity.userAgent": request.header("User-Agent") or "",
    }


def render(template: str, context: Mapping[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        quiet, braced, bare = match.groups()
        name = braced or bare
        if name in context:
            return context[name]
        # Velocity prints an unknown reference as written, unless it is quiet.
        return "" if quiet else match.group(0)

    return _REFERENCE.sub(substitute, template)


def _header_value(expression: str, request: HttpRequest, context: Mapping[str, str]) -> str | None:
    if len(expression) >= 2 and expression[0] == expression[-1] == "'":
        return expression[1:-1]
    source, _, name = expression.rpartition(".")
    if source == "method.request.header":
        return request.header(name)
    if source == "method.request.querystring":
        values = [
            v for k, v in parse_qsl(request.query_string, keep_blank_values=True) if k == name
        ]
        return values[-1] if values else None
    return context.get(expression)


def gateway_answer(
    kind: str, api: ApiSpec | None, request: HttpRequest, request_id: str
) -> HttpAnswer:
    status, message = _DEFAULTS[kind]
    custom = _customisation(api, kind, status)
    context = _context(kind, message, api, request, request_id)
    content_type = "application/json"
    # API Gateway itself spells the key differently for a resource-policy refusal.
    key = "Message" if kind == ACCESS_DENIED else "message"
    body = json.dumps({key: message}, separators=(",", ":"))
    headers: list[tuple[str, str]] = []
    if custom is not None:
        status = custom.status or status
        if custom.templates:
            content_type = (
                "application/json"
                if "application/json" in custom.templates
                else next(iter(custom.templates))
            )
            body = render(custom.templates[content_type], context)
        for name, expression in custom.headers.items():
            value = _header_value(expression, request, context)
            if value is not None:
                headers.append((name, value))
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", content_type))
    headers.append(("x-amzn-RequestId", request_id))
    if kind == MISSING_AUTHENTICATION_TOKEN:
        headers.append(("x-amzn-ErrorType", "MissingAuthenticationTokenException"))
    return HttpAnswer(status, headers, body.encode("utf-8"))


def _media_type(request: HttpRequest) -> str:
    # With no Content-Type, API Gateway maps the request as application/json.
    value = request.header("Content-Type") or "application/json"
    return value.split(";", 1)[0].strip().lower()


def mock_answer(mock: MockMethod, request: HttpRequest, request_id: str) -> HttpAnswer:
    """What a MOCK integration answers: its default integration response, headers mapped and
    the body template rendered. A content type with no request template is refused as API
    Gateway does when the mock passes nothing through."""
    if mock.passthrough == "never" and _media_type(request) not in mock.request_types:
        return gateway_answer(UNSUPPORTED_MEDIA_TYPE, mock.api, request, request_id)
    context = _context("", "", mock.api, request, request_id)
    context["context.resourcePath"] = mock.path
    headers: list[tuple[str, str]] = []
    for name, expression in mock.headers.items():
        value = _header_value(expression, request, context)
        if value is not None:
            headers.append((name, value))
    content_type = "application/json"
    body = ""
    if mock.templates:
        selected = content_type if content_type in mock.templates else next(iter(mock.templates))
        body = render(mock.templates[selected], context)
        content_type = selected
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", content_type))
    headers.append(("x-amzn-RequestId", request_id))
    return HttpAnswer(mock.status, headers, body.encode("utf-8"))
