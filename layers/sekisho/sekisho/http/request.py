"""Reading what a caller sent, the way a security relay must."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from sekisho.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed

JSON_TYPES = frozenset({"application/json"})


def client_ip(app: APIGatewayRestResolver) -> str:
    """The TCP peer API Gateway saw. X-Forwarded-For is caller-controlled and never used."""
    return str(app.current_event.request_context.identity.source_ip or "")


def verified_claims(app: APIGatewayRestResolver) -> Mapping[str, str]:
    """Claims the API Gateway authorizer verified: Cognito's ``claims`` or a Lambda
    authorizer's context. Empty when the route has no authorizer; never read from the
    request itself."""
    raw = app.current_event.request_context.authorizer.raw_event or {}
    nested = raw.get("claims")
    claims = nested if isinstance(nested, dict) else raw
    return {str(k): str(v) for k, v in claims.items() if isinstance(v, (str, int))}


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two parsers that disagree on `{"a": 1, "a": 2}` are a classic filter bypass.
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValidationFailed("the JSON body repeats a key")
        out[key] = value
    return out


def _body_bytes(body: str, is_base64: bool) -> bytes:
    if is_base64:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValidationFailed("the body is not valid base64") from exc
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationFailed("the body is not valid UTF-8") from exc


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; Python's parser accepts them unless told otherwise.
    raise ValidationFailed("the body is not valid JSON")


def raw_body(app: APIGatewayRestResolver, *, max_bytes: int) -> bytes:
    """The request body's bytes as the caller sent them (what a signature covers)."""
    event = app.current_event
    data = _body_bytes(event.body or "", bool(event.is_base64_encoded))
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"the body must be at most {max_bytes} bytes")
    return data


def json_body(app: APIGatewayRestResolver, *, max_bytes: int) -> dict[str, Any]:
    """The request body as a JSON object: 415 unless the content type is JSON, 413 past
    ``max_bytes``, 400 unless it is one UTF-8 JSON object with no repeated keys."""
    event = app.current_event
    content_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type not in JSON_TYPES:
        raise UnsupportedMediaType("send the body as application/json")
    data = _body_bytes(event.body or "", bool(event.is_base64_encoded))
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"the body must be at most {max_bytes} bytes")
    try:
        body = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_reject_duplicate_keys,
            parse_constant=_refuse_constant,
        )
    except UnicodeDecodeError as exc:
        raise ValidationFailed("the body is not valid UTF-8") from exc
    # JSONDecodeError is a ValueError, and so is an integer past Python's digit limit.
    except (ValueError, RecursionError) as exc:
        raise ValidationFailed("the body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object")
    return body
