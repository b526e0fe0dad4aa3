"""Build API Gateway REST proxy events (payload v1) the way API Gateway sends them."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any


def rest_event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    path_parameters: dict[str, str] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    source_ip: str = "203.0.113.10",
    base64_body: bool = False,
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", **(headers or {})}
    if body is not None and not isinstance(body, (str, bytes)):
        body = json.dumps(body, ensure_ascii=False)
    if isinstance(body, str):
        body = body.encode("utf-8") if base64_body else body
    if isinstance(body, bytes):
        body = base64.b64encode(body).decode("ascii") if base64_body else body.decode("utf-8")
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource or path,
            "httpMethod": method,
            "path": f"/v1{path}",
            "stage": "v1",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": 1_763_700_000_000,
            "accountId": "123456789012",
            "apiId": "local",
            "protocol": "HTTP/1.1",
            "domainName": "127.0.0.1",
            "identity": {"sourceIp": source_ip, "userAgent": "pytest"},
            "authorizer": authorizer,
        },
        "body": body,
        "isBase64Encoded": base64_body,
    }
