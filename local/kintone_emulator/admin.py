"""The emulator's own control API under /_emulator/: no token, no limits, no maintenance."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .control import DEFAULT_STALL_MS, Faults
from .emulator import Emulator
from .schema import PERMISSIONS, TokenDef
from .wire import Request, Response, json_response

PREFIX = "/_emulator/"
MAX_LATENCY_MS = 60_000
_RATES = ("rate_429", "rate_503", "rate_reset", "rate_timeout")


class AdminInputError(ValueError):
    pass


AdminRoute = Callable[[Emulator, dict[str, Any]], Any]


def handle(emulator: Emulator, request: Request) -> Response:
    route = ROUTES.get((request.method, request.path))
    if route is None:
        return _problem(404, "EMU_NOT_FOUND", f"no admin route {request.method} {request.path}")
    try:
        return json_response(route(emulator, _body(request)))
    except AdminInputError as exc:
        return _problem(400, "EMU_BAD_INPUT", str(exc))


def _problem(status: int, code: str, message: str) -> Response:
    return json_response({"code": code, "message": message}, status)


def _body(request: Request) -> dict[str, Any]:
    if not request.body.strip():
        return {}
    try:
        data = json.loads(request.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AdminInputError("the body is not JSON") from exc
    if not isinstance(data, dict):
        raise AdminInputError("the body must be a JSON object")
    return data


def _get(body: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    if key not in body:
        if default is ...:
            raise AdminInputError(f"{key} is required")
        return default
    value = body[key]
    # bool is an int to Python, never to this API.
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _kinds(kind)):
        raise AdminInputError(f"{key} has the wrong type")
    return value


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def reset(emulator: Emulator, _body: dict[str, Any]) -> Any:
    emulator.reset()
    return {}


def maintenance(emulator: Emulator, body: dict[str, Any]) -> Any:
    emulator.controls.maintenance = _get(body, "enabled", bool)
    return {"enabled": emulator.controls.maintenance}


def limits(emulator: Emulator, body: dict[str, Any]) -> Any:
    concurrency = _get(body, "concurrency", int)
    if concurrency < 1:
        raise AdminInputError("concurrency must be at least 1")
    emulator.controls.concurrency = concurrency
    return {"concurrency": concurrency}


def faults(emulator: Emulator, body: dict[str, Any]) -> Any:
    # The whole fault setting is replaced; a key left out is off.
    rates = {key: float(_get(body, key, (int, float), 0)) for key in _RATES}
    if not all(0 <= rate <= 1 for rate in rates.values()):
        raise AdminInputError("rates must be between 0 and 1")
    if rates["rate_reset"] + rates["rate_timeout"] > 1:
        raise AdminInputError("rate_reset and rate_timeout together must not exceed 1")
    latency_ms = _get(body, "latency_ms", int, 0)
    stall_ms = _get(body, "stall_ms", int, DEFAULT_STALL_MS)
    for key, value in (("latency_ms", latency_ms), ("stall_ms", stall_ms)):
        if not 0 <= value <= MAX_LATENCY_MS:
            raise AdminInputError(f"{key} must be between 0 and {MAX_LATENCY_MS}")
    seed = _get(body, "seed", (int, type(None)), None)
    setting = Faults(
        rates["rate_429"],
        rates["rate_503"],
        latency_ms,
        seed,
        rate_reset=rates["rate_reset"],
        rate_timeout=rates["rate_timeout"],
        stall_ms=stall_ms,
    )
    emulator.controls.set_faults(setting)
    return setting.as_dict()


def stats(emulator: Emulator, _body: dict[str, Any]) -> Any:
    return emulator.controls.stats()


def put_token(emulator: Emulator, body: dict[str, Any]) -> Any:
    token = _get(body, "token", str)
    app = _get(body, "app", int)
    permissions = _get(body, "permissions", list, ["view"])
    if not token or "," in token or token != token.strip():
        raise AdminInputError("token must be non-empty, without commas or outer spaces")
    if emulator.store.app(app) is None:
        raise AdminInputError(f"there is no app {app}")
    if not all(isinstance(p, str) for p in permissions) or not set(permissions) <= PERMISSIONS:
        raise AdminInputError(f"permissions must be a subset of {sorted(PERMISSIONS)}")
    definition = TokenDef(token, app, frozenset(permissions), _get(body, "active", bool, True))
    emulator.store.put_token(definition)
    return {
        "token": definition.token,
        "app": definition.app,
        "permissions": sorted(definition.permissions),
        "active": definition.active,
    }


def delete_token(emulator: Emulator, body: dict[str, Any]) -> Any:
    token = _get(body, "token", str)
    if not emulator.store.delete_token(token):
        raise AdminInputError("there is no such token")
    return {}


def add_webhook(emulator: Emulator, body: dict[str, Any]) -> Any:
    app = _get(body, "app", int)
    if emulator.store.app(app) is None:
        raise AdminInputError(f"there is no app {app}")
    events = _get(body, "events", list, ["ADD_RECORD", "UPDATE_RECORD"])
    try:
        registration = emulator.webhooks.register(app, _get(body, "url", str), tuple(events))
    except (ValueError, TypeError) as exc:
        raise AdminInputError(str(exc)) from exc
    return registration.as_dict()


def list_webhooks(emulator: Emulator, _body: dict[str, Any]) -> Any:
    return {"webhooks": emulator.webhooks.registrations()}


def collation(emulator: Emulator, body: dict[str, Any]) -> Any:
    emulator.controls.fold = _get(body, "fold", bool)
    return {"fold": emulator.controls.fold}


def settings(emulator: Emulator, _body: dict[str, Any]) -> Any:
    return emulator.controls.settings()


ROUTES: dict[tuple[str, str], AdminRoute] = {
    ("POST", PREFIX + "reset"): reset,
    ("POST", PREFIX + "maintenance"): maintenance,
    ("POST", PREFIX + "limits"): limits,
    ("POST", PREFIX + "faults"): faults,
    ("GET", PREFIX + "stats"): stats,
    ("GET", PREFIX + "settings"): settings,
    ("POST", PREFIX + "tokens"): put_token,
    ("DELETE", PREFIX + "tokens"): delete_token,
    ("POST", PREFIX + "webhooks"): add_webhook,
    ("GET", PREFIX + "webhooks"): list_webhooks,
    ("POST", PREFIX + "collation"): collation,
}
