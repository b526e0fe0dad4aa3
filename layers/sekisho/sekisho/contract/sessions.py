"""The contract of signed-in visitors' routes: sign-in, session views, entries."""

from __future__ import annotations

from typing import Any

from sekisho.errors import SekishoError
from sekisho.forms.contract_model import submission_schema
from sekisho.policy.model import Policy
from sekisho.policy.routes import FormPolicy, ViewPolicy
from sekisho.sessions.caller import COOKIE_NAME

from .answers import (
    CODE_REQUEST_ERRORS,
    CORRECTION_ERRORS,
    ENTRY_ERRORS,
    SESSION_FILE_ERRORS,
    SESSION_VIEW_ERRORS,
    SIGN_IN_ERRORS,
    SIGN_OUT_ERRORS,
    when_errors,
)
from .parts import REF, cell, identifier, json_answer, json_body, problems, security_headers

# The 403s a route's `when` adds to what its kind of route answers.
Errors = tuple[type[SekishoError], ...]
# Either carries the session: pages send the cookie, API callers the bearer token.
SESSION_SECURITY: list[dict[str, list[str]]] = [{"sessionBearer": []}, {"sessionCookie": []}]
SECURITY_SCHEMES = {
    "sessionBearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "sessionCookie": {"type": "apiKey", "in": "cookie", "name": COOKIE_NAME},
}
_EMAIL = {"type": "string", "format": "email", "minLength": 3, "maxLength": 254}
_REF_PARAMETER = {
    "name": "ref",
    "in": "path",
    "required": True,
    "description": "an entry's ref, as a session view listed it",
    "schema": {"type": "string", "pattern": "^[1-9][0-9]{0,18}\\.[A-Za-z0-9_-]{22}$"},
}
_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "description": "the revision the caller last saw",
    "schema": {"type": "string", "pattern": '^"?[0-9]{1,19}"?$'},
}


def session_paths(policy: Policy) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for name, view in sorted(policy.views.items()):
        if view.session is not None and "FILE" in {view.field_type(c) for c in view.fields}:
            also = when_errors(view.when, session=True)
            paths[f"/views/{name}/files/{{ticket}}"] = {"get": session_file(name, also)}
    for name, realm in sorted(policy.realms.items()):
        also = when_errors(realm.when)
        paths[f"/sessions/{name}/code"] = {"post": _request_code(name, also)}
        paths[f"/sessions/{name}"] = {"post": _sign_in(name, also), "delete": _sign_out(name)}
    for name, form in sorted(policy.forms.items()):
        if form.editable is None:
            continue
        paths[f"/forms/{name}/entries/{{ref}}"] = {"patch": _correct(name, form)}
        if form.cancel is not None:
            also = when_errors(form.when, session=True)
            paths[f"/forms/{name}/entries/{{ref}}/cancel"] = {"post": _cancel(name, also)}
    return paths


def session_view(name: str, view: ViewPolicy) -> dict[str, Any]:
    record = {
        "type": "object",
        "additionalProperties": False,
        "required": ["ref", "revision", *view.fields],
        "properties": {
            "ref": {"type": "string", "description": "the entry, for its form's entries routes"},
            "revision": {"type": "string", "pattern": "^[0-9]+$"},
            **{code: _session_cell(view.field_type(code)) for code in view.fields},
        },
    }
    answer = {
        "type": "object",
        "additionalProperties": False,
        "required": ["records", "next"],
        "properties": {
            "records": {"type": "array", "maxItems": view.limit, "items": record},
            "next": {"type": ["string", "null"], "description": "the next page's cursor"},
        },
    }
    body = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"cursor": {"type": ["string", "null"], "maxLength": 4096}},
    }
    return {
        "operationId": f"list_{identifier(name)}",
        "summary": f"List {name}",
        "description": (
            f"The signed-in visitor's own records of realm {view.session}, {view.limit} a "
            "page: every predicate comes from the session's claims."
        ),
        "tags": ["sessions"],
        "security": SESSION_SECURITY,
        "requestBody": json_body(body),
        "responses": {"200": json_answer("a page of the visitor's records", answer)}
        | problems(SESSION_VIEW_ERRORS + when_errors(view.when, session=True)),
    }


def _session_cell(field_type: str) -> dict[str, Any]:
    if field_type != "FILE":
        return cell(field_type)
    return {
        "type": "array",
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "size", "href"],
            "properties": {
                "name": {"type": "string"},
                "size": {"type": "integer", "minimum": 0},
                "href": {
                    "type": "string",
                    "description": "relative to the view's URL; this session only, 5 minutes",
                },
            },
        },
    }


def session_file(name: str, also: Errors = ()) -> dict[str, Any]:
    binary = {"schema": {"type": "string", "format": "binary"}}
    ranged = {
        "Content-Disposition": {"required": True, "schema": {"type": "string"}},
        "Accept-Ranges": {"required": True, "schema": {"type": "string", "const": "bytes"}},
    }
    return {
        "operationId": f"file_{identifier(name)}",
        "summary": f"Download a file of {name}",
        "description": (
            "A file a page of the view linked, for the session it was listed to. Send "
            "Accept: application/octet-stream (API Gateway decodes binary answers by the "
            "first Accept type)."
        ),
        "tags": ["sessions"],
        "security": SESSION_SECURITY,
        "parameters": [
            {"name": "ticket", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": "Range", "in": "header", "required": False, "schema": {"type": "string"}},
        ],
        "responses": {
            "200": {
                "description": "the file",
                "headers": security_headers() | ranged,
                "content": {"application/octet-stream": binary, "*/*": binary},
            },
            "206": {
                "description": "the range asked for",
                "headers": security_headers()
                | ranged
                | {"Content-Range": {"required": True, "schema": {"type": "string"}}},
                "content": {"application/octet-stream": binary, "*/*": binary},
            },
        }
        | problems(SESSION_FILE_ERRORS + also),
    }


def _request_code(realm: str, also: Errors) -> dict[str, Any]:
    body = {
        "type": "object",
        "additionalProperties": False,
        "required": ["email"],
        "properties": {"email": _EMAIL},
    }
    return {
        "operationId": f"request_code_{identifier(realm)}",
        "summary": f"Mail a sign-in code ({realm})",
        "description": (
            "The same 202, at the same time, whether or not the address can sign in; a "
            "known address is mailed a 6-digit code."
        ),
        "tags": ["sessions"],
        "requestBody": json_body(body),
        "responses": {"202": json_answer("accepted", {"$ref": REF.format(model="CodeRequested")})}
        | problems(CODE_REQUEST_ERRORS + also),
    }


def _sign_in(realm: str, also: Errors) -> dict[str, Any]:
    body = {
        "type": "object",
        "additionalProperties": False,
        "required": ["email", "code"],
        "properties": {"email": _EMAIL, "code": {"type": "string", "pattern": "^[0-9]{6}$"}},
    }
    answer = json_answer("signed in", {"$ref": REF.format(model="SignedIn")})
    answer["headers"] = answer["headers"] | {
        "Set-Cookie": {"required": True, "schema": {"type": "string"}}
    }
    return {
        "operationId": f"sign_in_{identifier(realm)}",
        "summary": f"Sign in ({realm})",
        "tags": ["sessions"],
        "requestBody": json_body(body),
        "responses": {"201": answer} | problems(SIGN_IN_ERRORS + also),
    }


def _sign_out(realm: str) -> dict[str, Any]:
    return {
        "operationId": f"sign_out_{identifier(realm)}",
        "summary": f"Sign out ({realm})",
        "description": "The session is refused from now on, on every container.",
        "tags": ["sessions"],
        "security": SESSION_SECURITY,
        "responses": {"204": {"description": "signed out", "headers": security_headers()}}
        | problems(SIGN_OUT_ERRORS),
    }


def _correct(name: str, form: FormPolicy) -> dict[str, Any]:
    editable = form.editable
    assert editable is not None  # noqa: S101 - the caller checked
    schema = submission_schema(name, form)
    fields = schema["properties"]["fields"]
    editable_fields = {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "properties": {k: v for k, v in fields["properties"].items() if k in editable.fields},
    }
    body = {
        "type": "object",
        "additionalProperties": False,
        "required": ["fields"],
        "properties": {"fields": editable_fields},
        **({"$defs": schema["$defs"]} if "$defs" in schema else {}),
    }
    return {
        "operationId": f"correct_{identifier(name)}",
        "summary": f"Correct one's own entry of {name}",
        "tags": ["sessions"],
        "security": SESSION_SECURITY,
        "parameters": [_REF_PARAMETER, {**_IF_MATCH, "required": True}],
        "requestBody": json_body(body),
        "responses": {"200": json_answer("written", {"$ref": REF.format(model="Revision")})}
        | problems(CORRECTION_ERRORS + when_errors(form.when, session=True)),
    }


def _cancel(name: str, also: Errors) -> dict[str, Any]:
    return {
        "operationId": f"cancel_{identifier(name)}",
        "summary": f"Cancel one's own entry of {name}",
        "description": "Sets the form's declared status; nothing is ever deleted.",
        "tags": ["sessions"],
        "security": SESSION_SECURITY,
        "parameters": [_REF_PARAMETER, {**_IF_MATCH, "required": False}],
        "responses": {"200": json_answer("cancelled", {"$ref": REF.format(model="Cancelled")})}
        | problems(ENTRY_ERRORS + also),
    }
