"""RFC 9457 problem responses from the relay's one error hierarchy."""

from __future__ import annotations

import json

from aws_lambda_powertools.event_handler import Response

from sekisho.errors import SekishoError

PROBLEM_CONTENT_TYPE = "application/problem+json; charset=utf-8"


def problem_response(error: SekishoError) -> Response[str]:
    headers: dict[str, str] = {}
    retry_after = getattr(error, "retry_after", None) or (60 if error.status == 429 else None)
    if retry_after:
        headers["Retry-After"] = str(retry_after)
    # An error may name headers of its own (WWW-Authenticate on a 401).
    headers.update(getattr(error, "headers", None) or {})
    return Response(
        status_code=error.status,
        content_type=PROBLEM_CONTENT_TYPE,
        body=json.dumps(error.problem(), ensure_ascii=False),
        headers=headers,
    )
