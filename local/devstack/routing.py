"""Which route a request reaches, chosen the way a REST API walks its resource tree."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from .cfn import Resolver, resources
from .errors import TemplateError
from .sam import API_TYPE, ApiSpec, Route

ANY = "ANY"
# How OpenAPI spells ANY in an API's DefinitionBody.
ANY_METHOD_KEY = "x-amazon-apigateway-any-method"
_OPENAPI_METHODS = frozenset({"get", "head", "post", "put", "patch", "delete", "options"})
# What API Gateway's ANY stands for; any other method reaches no route.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LITERAL, _PARAMETER, _GREEDY = 0, 1, 2


@dataclass(frozen=True)
class Match:
    route: Route
    # API Gateway hands path parameters over decoded, and null when the resource has none.
    path_parameters: dict[str, str] | None


@dataclass(frozen=True)
class MockMethod:
    """A method of an Api's DefinitionBody whose integration is a MOCK: API Gateway answers
    it from the integration response alone, and no function runs."""

    api: ApiSpec
    path: str
    method: str  # upper case; ANY matches every method no other declaration takes
    status: int
    headers: Mapping[str, str]  # header name -> mapping expression ("'literal'", ...)
    templates: Mapping[str, str]  # content type -> body template
    # The content types a request template exists for, and what happens to the others.
    request_types: frozenset[str] = field(default_factory=frozenset)
    passthrough: str = "when_no_match"


def mock_methods(
    template: Mapping[str, Any], resolver: Resolver, api_specs: Mapping[str, ApiSpec]
) -> list[MockMethod]:
    """The MOCK methods of every declared Api's DefinitionBody, intrinsics resolved.

    A mock answers the integration response its request template's statusCode selects;
    only the `default` response is read, which is what a mock with one answer declares.
    """
    found = []
    for logical_id, properties in resources(template, resolver, API_TYPE):
        body = resolver.resolve(properties.get("DefinitionBody")) or {}
        if logical_id not in api_specs or not isinstance(body, Mapping):
            continue
        for path, methods in (body.get("paths") or {}).items():
            for key, operation in (methods or {}).items():
                method = ANY if key == ANY_METHOD_KEY else str(key).upper()
                if key != ANY_METHOD_KEY and key not in _OPENAPI_METHODS:
                    continue
                integration = (operation or {}).get("x-amazon-apigateway-integration") or {}
                if str(integration.get("type", "")).lower() != "mock":
                    continue
                found.append(_mock(api_specs[logical_id], str(path), method, integration))
    return found


def _mock(api: ApiSpec, path: str, method: str, integration: Mapping[str, Any]) -> MockMethod:
    where = f"{api.logical_id} {method} {path}"
    response = (integration.get("responses") or {}).get("default")
    if not isinstance(response, Mapping) or "statusCode" not in response:
        raise TemplateError(f"{where}: a mock needs a default response with a statusCode")
    prefix = "method.response.header."
    parameters = response.get("responseParameters") or {}
    return MockMethod(
        api=api,
        path=path,
        method=method,
        status=int(response["statusCode"]),
        headers={
            str(name)[len(prefix) :]: str(value)
            for name, value in parameters.items()
            if str(name).startswith(prefix)
        },
        templates={str(k): str(v) for k, v in (response.get("responseTemplates") or {}).items()},
        request_types=frozenset(
            str(k).lower() for k in (integration.get("requestTemplates") or {})
        ),
        passthrough=str(integration.get("passthroughBehavior") or "when_no_match").lower(),
    )


def _segments(path: str) -> list[str]:
    parts = path.split("/")[1:]
    if parts and parts[-1] == "":
        parts.pop()
    return parts


def _kind(segment: str) -> int:
    if segment.startswith("{") and segment.endswith("+}"):
        return _GREEDY
    if segment.startswith("{") and segment.endswith("}"):
        return _PARAMETER
    return _LITERAL


def _bind(template: list[str], request: list[str]) -> dict[str, str] | None:
    bound: dict[str, str] = {}
    for index, segment in enumerate(template):
        kind = _kind(segment)
        if kind == _GREEDY:
            rest = request[index:]
            if not rest:
                return None
            bound[segment[1:-2]] = unquote("/".join(rest))
            return bound
        if index >= len(request) or not request[index]:
            return None
        value = unquote(request[index])
        if kind == _PARAMETER:
            bound[segment[1:-1]] = value
        elif value != segment:
            return None
    return bound if len(template) == len(request) else None


class RouteTable:
    def __init__(self, routes: Iterable[Route], mocks: Iterable[MockMethod] = ()) -> None:
        self._by_path: dict[str, dict[str, Route]] = defaultdict(dict)
        self._mocks: dict[str, dict[str, MockMethod]] = defaultdict(dict)
        for mock in mocks:
            self._mocks[mock.path][mock.method] = mock
        for route in routes:
            methods = self._by_path[route.path]
            if route.method in methods:
                taken = methods[route.method].function
                raise TemplateError(
                    f"{route.method} {route.path} is declared by both {taken} and {route.function}"
                )
            methods[route.method] = route

    def __iter__(self) -> Iterator[Route]:
        return (route for methods in self._by_path.values() for route in methods.values())

    def _resource(self, path: str) -> tuple[str, dict[str, str]] | None:
        """The most specific resource the path reaches, and its bound path parameters."""
        request = _segments(path)
        best: tuple[tuple[int, ...], str, dict[str, str]] | None = None
        for template_path in dict.fromkeys([*self._by_path, *self._mocks]):
            template = _segments(template_path)
            bound = _bind(template, request)
            if bound is None:
                continue
            # Literal beats {param} beats {proxy+}, segment by segment from the root.
            rank = tuple(_kind(segment) for segment in template)
            if best is None or rank < best[0]:
                best = (rank, template_path, bound)
        if best is None:
            return None
        _, template_path, bound = best
        return template_path, bound

    def match(self, method: str, path: str) -> Match | None:
        found = self._resource(path)
        if found is None:
            return None
        template_path, bound = found
        # The most specific resource wins even when it lacks the method: API Gateway does
        # not fall back to a broader resource, it answers "Missing Authentication Token"
        # (or the resource's mock, below).
        methods = self._by_path.get(template_path, {})
        route = methods.get(method.upper())
        if route is None and self._mocks.get(template_path, {}).get(method.upper()):
            return None  # the method is the mock's own
        if route is None and method.upper() in HTTP_METHODS:
            route = methods.get(ANY)
        if route is None:
            return None
        return Match(route, bound or None)

    def mock(self, method: str, path: str) -> MockMethod | None:
        """The mock that answers a request no function route takes, if the resource has one:
        its own method first, then its ANY (for the methods ANY stands for)."""
        found = self._resource(path)
        if found is None or self.match(method, path) is not None:
            return None
        mocks = self._mocks.get(found[0], {})
        mock = mocks.get(method.upper())
        if mock is None and method.upper() in HTTP_METHODS:
            mock = mocks.get(ANY)
        return mock
