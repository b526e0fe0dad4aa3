"""The pieces every operation of the contract is built from: bodies, answers, problems."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sekisho.errors import NotFound, SekishoError
from sekisho.http.problems import PROBLEM_CONTENT_TYPE
from sekisho.http.resolver import JSON_CONTENT_TYPE, SECURITY_HEADERS
from sekisho.policy.constants import LIST_TYPES

REF = "#/components/schemas/{model}"


def json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def security_headers() -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in SECURITY_HEADERS}


def component_headers() -> dict[str, Any]:
    # On every answer of the relay, problems and preflights included.
    return {
        name: {"required": True, "schema": {"type": "string", "const": value}}
        for name, value in SECURITY_HEADERS.items()
    }


def json_answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": description,
        "headers": security_headers(),
        "content": {JSON_CONTENT_TYPE: {"schema": schema}},
    }


def problems(errors: Iterable[type[SekishoError]]) -> dict[str, Any]:
    by_status: dict[int, set[str]] = defaultdict(set)
    every: list[type[SekishoError]] = [NotFound, *errors]
    for error in every:
        by_status[error.status].add(error.code)
    answers = {}
    for status, codes in sorted(by_status.items()):
        schema = {
            "allOf": [
                {"$ref": REF.format(model="Problem")},
                {
                    "properties": {
                        "status": {"const": status},
                        "code": {"enum": sorted(codes)},
                    }
                },
            ]
        }
        headers = security_headers()
        if status == 429:
            headers["Retry-After"] = {
                "required": True,
                "description": "seconds to wait",
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            }
        answers[str(status)] = {
            "description": ", ".join(sorted(codes)),
            "headers": headers,
            "content": {PROBLEM_CONTENT_TYPE: {"schema": schema}},
        }
    return answers


def cell(field_type: str) -> dict[str, Any]:
    if field_type in LIST_TYPES:
        return {"type": "array", "items": {"type": "string"}}
    if field_type in STRUCTURED:
        return {"description": f"kintone's {field_type} value"}
    return {"type": "string", "description": f"kintone {field_type}"}


# Values kintone gives as objects or lists of objects, handed on as they are.
STRUCTURED = frozenset(
    {
        "USER_SELECT",
        "ORGANIZATION_SELECT",
        "GROUP_SELECT",
        "STATUS_ASSIGNEE",
        "CREATOR",
        "MODIFIER",
        "FILE",
        "SUBTABLE",
        "CATEGORY",
    }
)


def identifier(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)
