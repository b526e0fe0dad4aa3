"""The Lambda proxy integration (REST API, payload 1.0): HTTP to event, result dict to HTTP."""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import parse_qsl

from .cfn import ACCOUNT_ID
from .routing import Match

# The router sets these from the body it sends; a handler's copy would be wrong or unsafe.
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})


class MalformedResponse(ValueError):
    """The handler's result is not a proxy response: API Gateway answers 502."""


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str  # path and query exactly as the client sent them
    headers: list[tuple[str, str]]  # in order, with the client's casing
    body: bytes
    peer_ip: str  # the TCP peer: the only client address API Gateway vouches for
    protocol: str = "HTTP/1.1"
    scheme: str = "http"  # the listener's: https on the mutual TLS one
    # The verified client certificate's facts, as API Gateway's mutual TLS hands them on.
    client_cert: Mapping[str, Any] | None = None

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def query_string(self) -> str:
        return self.target.partition("?")[2]

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return values[-1] if values else None


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def is_binary(content_type: str | None, binary_media_types: tuple[str, ...]) -> bool:
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    return any(fnmatchcase(media_type, pattern) for pattern in binary_media_types)


def _body(request: HttpRequest, binary_media_types: tuple[str, ...]) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    if not is_binary(request.header("Content-Type"), binary_media_types):
        try:
            return request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass  # bytes that are not text travel base64-encoded, as API Gateway sends them
    return base64.b64encode(request.body).decode("ascii"), True


def _multi(
    pairs: list[tuple[str, str]],
) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """API Gateway's pair of maps: the last value of each name, and every value in order."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return (single or None), (multi or None)


def _with_gateway_headers(request: HttpRequest) -> list[tuple[str, str]]:
    """The client's headers plus what API Gateway's edge appends to them."""
    forwarded = [(k, v) for k, v in request.headers if k.lower() == "x-forwarded-for"]
    headers = [(k, v) for k, v in request.headers if k.lower() != "x-forwarded-for"]
    # The client's own X-Forwarded-For is kept, with the real peer appended after it, so a
    # handler that trusts the header's first entry sees exactly what an attacker can forge.
    name = forwarded[0][0] if forwarded else "X-Forwarded-For"
    headers.append((name, ", ".join([*(v for _, v in forwarded), request.peer_ip])))
    if request.scheme == "https":
        # What the connection was, whatever the client wrote: the partner verifier rebuilds
        # @target-uri from it.
        headers = [(k, v) for k, v in headers if k.lower() != "x-forwarded-proto"]
        headers.append(("X-Forwarded-Proto", "https"))
    elif request.header("X-Forwarded-Proto") is None:
        headers.append(("X-Forwarded-Proto", "http"))
    return headers


def proxy_event(
    request: HttpRequest, match: Match, request_id: str, now: float | None = None
) -> dict[str, Any]:
    now = time.time() if now is None else now
    route = match.route
    api = route.api
    headers, multi_headers = _multi(_with_gateway_headers(request))
    query, multi_query = _multi(parse_qsl(request.query_string, keep_blank_values=True))
    body, is_base64 = _body(request, api.binary_media_types)
    host = request.header("Host") or ""
    return {
        "resource": route.path,
        # REST APIs keep the path percent-encoded; path parameters arrive decoded.
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": match.path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourceId": secrets.token_hex(3),
            "resourcePath": route.path,
            "httpMethod": request.method,
            "extendedRequestId": secrets.token_urlsafe(12),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            # As a custom domain with an empty base path has it: the local URLs carry no
            # stage, and the partner verifier rebuilds @target-uri from this path.
            "path": request.path,
            "accountId": ACCOUNT_ID,
            "protocol": request.protocol,
            "stage": api.stage,
            "domainPrefix": host.split(".", 1)[0],
            "requestTimeEpoch": int(now * 1000),
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": request.peer_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": request.header("User-Agent"),
                "user": None,
                **({"clientCert": dict(request.client_cert)} if request.client_cert else {}),
            },
            "domainName": host,
            "apiId": api.api_id,
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str | int | float):
        return str(value)
    raise MalformedResponse(f"header value of type {type(value).__name__}")


def _status(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise MalformedResponse("statusCode is missing or not a number")
    try:
        status = int(value)
    except ValueError as exc:
        raise MalformedResponse("statusCode is not a number") from exc
    if not 100 <= status <= 599:
        raise MalformedResponse("statusCode is out of range")
    return status


def http_answer(result: Any) -> HttpAnswer:
    """The HTTP answer API Gateway makes of a proxy integration's result."""
    if not isinstance(result, dict):
        raise MalformedResponse("the result is not an object")
    status = _status(result.get("statusCode"))
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise MalformedResponse("headers must be objects")
    headers: list[tuple[str, str]] = []
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedResponse("multiValueHeaders values must be lists")
        headers += [(str(name), _header_value(value)) for value in values]
    # A name present in both maps takes its values from multiValueHeaders only.
    seen = {name.lower() for name, _ in headers}
    headers += [(str(k), _header_value(v)) for k, v in single.items() if k.lower() not in seen]
    headers = [(k, v) for k, v in headers if k.lower() not in _FRAMING_HEADERS]
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    body = result.get("body")
    if body is None:
        data = b""
    elif not isinstance(body, str):
        raise MalformedResponse("body must be a string")
    elif result.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body, validate=True)
        except binascii.Error as exc:
            raise MalformedResponse("isBase64Encoded body is not base64") from exc
    else:
        data = body.encode("utf-8")
    return HttpAnswer(status, headers, data)
