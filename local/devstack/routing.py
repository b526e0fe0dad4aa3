"""Which route a request reaches, chosen the way a REST API walks its resource tree."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote

from .errors import TemplateError
from .sam import Route

ANY = "ANY"
# What API Gateway's ANY stands for; any other method reaches no route.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LITERAL, _PARAMETER, _GREEDY = 0, 1, 2


@dataclass(frozen=True)
class Match:
    route: Route
    # API Gateway hands path parameters over decoded, and null when the resource has none.
    path_parameters: dict[str, str] | None


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
    def __init__(self, routes: Iterable[Route]) -> None:
        self._by_path: dict[str, dict[str, Route]] = defaultdict(dict)
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

    def match(self, method: str, path: str) -> Match | None:
        request = _segments(path)
        best: tuple[tuple[int, ...], str, dict[str, str]] | None = None
        for template_path in self._by_path:
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
        # The most specific resource wins even when it lacks the method: API Gateway does
        # not fall back to a broader resource, it answers "Missing Authentication Token".
        methods = self._by_path[template_path]
        route = methods.get(method.upper())
        if route is None and method.upper() in HTTP_METHODS:
            route = methods.get(ANY)
        if route is None:
            return None
        return Match(route, bound or None)
