"""RFC 9457 problem responses from the relay's one error hierarchy."""

from __future__ import annotations

import json

from aws_lambda_powertools.event_handler import Response

from sekisho.errors import SekishoError

PROBLEM_CONTENT_TYPE = "application/problem+json; charset=utf-8"


def problem_response(error: SekishoError) -> Response:
    headers = {}
    if error.status == 429:
        headers["Retry-After"] = "60"
    return Response(
        status_code=error.status,
        content_type=PROBLEM_CONTENT_TYPE,
        body=json.dumps(error.problem(), ensure_ascii=False),
        headers=headers,
    )
