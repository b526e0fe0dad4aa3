"""A partner's request read from API Gateway's proxy event, as the gate verifies it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from sekisho.http.request import raw_body

from .message import SignedMessage, target_uri


def _headers(event: Mapping[str, Any]) -> dict[str, str]:
    multi = event.get("multiValueHeaders") or {}
    if multi:
        return {str(k).lower(): ", ".join(str(v) for v in values) for k, values in multi.items()}
    return {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}


def _query(event: Mapping[str, Any]) -> str | None:
    # API Gateway hands on the query decoded; a partner route takes none, and one sent
    # is re-encoded here, so a signature over another spelling of it fails.
    multi = event.get("multiValueQueryStringParameters") or {}
    return urlencode(multi, doseq=True) or None


def signed_message(app: APIGatewayRestResolver, *, max_bytes: int) -> SignedMessage:
    event: Mapping[str, Any] = app.current_event.raw_event
    context = event.get("requestContext") or {}
    headers = _headers(event)
    identity = context.get("identity") or {}
    cert = identity.get("clientCert")
    return SignedMessage(
        method=str(event.get("httpMethod") or ""),
        url=target_uri(
            scheme=headers.get("x-forwarded-proto"),
            host=headers.get("host"),
            path=str(context.get("path") or event.get("path") or ""),
            query=_query(event),
        ),
        headers=headers,
        body=raw_body(app, max_bytes=max_bytes),
        client_cert=cert if isinstance(cert, dict) else None,
    )
