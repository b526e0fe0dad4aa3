"""Requests and answers as the routes see them, and kintone's way of reading parameters."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from .errors import KintoneApiError, validation_error

JSON_TYPE = "application/json; charset=utf-8"
_ARRAY_KEY = re.compile(r"(?P<name>[^\[\]]+)\[(?P<index>\d*)\]")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query_string: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json_body(self) -> dict[str, Any]:
        """The JSON object in the body; an empty body is an empty object."""
        if not self.body.strip():
            return {}
        try:
            data = json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise KintoneApiError(400, "CB_IJ01", "Invalid JSON string.") from exc
        if not isinstance(data, dict):
            raise KintoneApiError(400, "CB_IJ01", "Invalid JSON string.")
        return data

    def params(self) -> dict[str, Any]:
        """URL parameters, overlaid by a JSON body when there is one (kintone takes both)."""
        merged = query_params(self.query_string)
        merged.update(self.json_body())
        return merged


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return Response(status, body, JSON_TYPE, dict(headers or {}))


def error_response(error: KintoneApiError) -> Response:
    return json_response(error.body(), error.status, error.headers)


def query_params(query_string: str) -> dict[str, Any]:
    """kintone's URL parameters: `fields[0]=a&fields[1]=b` is the list ["a", "b"]."""
    scalars: dict[str, Any] = {}
    arrays: dict[str, list[tuple[int, str]]] = {}
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        match = _ARRAY_KEY.fullmatch(key)
        if match:
            index = int(match["index"]) if match["index"] else len(arrays.get(match["name"], []))
            arrays.setdefault(match["name"], []).append((index, value))
        else:
            scalars.setdefault(key, value)
    for name, items in arrays.items():
        scalars[name] = [value for _, value in sorted(items, key=lambda item: item[0])]
    return scalars


def int_param(params: dict[str, Any], key: str) -> int:
    number = optional_int_param(params, key)
    if number is None:
        raise validation_error({key: ["Required field."]})
    return number


def optional_int_param(params: dict[str, Any], key: str) -> int | None:
    value = params.get(key)
    if value is None or value == "":
        return None
    number = _as_int(value)
    if number is None:
        raise validation_error({key: ["Enter an integer value."]})
    return number


def int_list_param(params: dict[str, Any], key: str, *, max_items: int) -> list[int]:
    values = params.get(key)
    if values is None or values == []:
        raise validation_error({key: ["Required field."]})
    if not isinstance(values, list):
        raise validation_error({key: ["Enter an array."]})
    if len(values) > max_items:
        raise validation_error({key: [f"Up to {max_items} items can be specified."]})
    numbers = [_as_int(value) for value in values]
    bad = {f"{key}[{i}]": ["Enter an integer value."] for i, n in enumerate(numbers) if n is None}
    if bad:
        raise validation_error(bad)
    return [n for n in numbers if n is not None]


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,18}", value.strip()):
        return int(value)
    return None


def bool_param(params: dict[str, Any], key: str) -> bool:
    value = params.get(key)
    return value is True or (isinstance(value, str) and value.lower() == "true")


def str_param(params: dict[str, Any], key: str) -> str:
    value = params.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise validation_error({key: ["Enter a string."]})
    return value


def str_list_param(params: dict[str, Any], key: str) -> list[str]:
    value = params.get(key)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise validation_error({key: ["Enter an array of strings."]})
    return value
