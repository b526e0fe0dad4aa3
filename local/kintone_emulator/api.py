"""kintone's REST routes: each reads its parameters, checks the token and calls `records`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import auth, records
from .emulator import Emulator
from .errors import KintoneApiError, validation_error
from .multipart import form_part
from .schema import AppDef, FieldDef
from .wire import (
    Request,
    Response,
    bool_param,
    int_list_param,
    int_param,
    json_response,
    optional_int_param,
    str_list_param,
    str_param,
)

Route = Callable[[Emulator, Request], Response]
MAX_DELETE_IDS = 100


# kintone's reference for "Get Form Fields": the live settings need record view, record
# add or app management; the pre-live (preview) settings need app management.
LIVE_SETTINGS_READ = frozenset({"view", "add", "manage"})
PREVIEW_SETTINGS_READ = "manage"


def _app_for(
    emulator: Emulator, request: Request, params: dict[str, Any], permission: str | frozenset[str]
) -> AppDef:
    # kintone rejects a bad token before it validates the parameters.
    tokens = auth.valid_tokens(emulator.store, request.header(auth.TOKEN_HEADER))
    return auth.authorize(emulator.store, tokens, int_param(params, "app"), permission)


def get_record(emulator: Emulator, request: Request) -> Response:
    params = request.params()
    app = _app_for(emulator, request, params, "view")
    return json_response(
        {"record": records.get_record(emulator.store, app, int_param(params, "id"))}
    )


def add_record(emulator: Emulator, request: Request) -> Response:
    params = request.params()
    app = _app_for(emulator, request, params, "add")
    record = records.add_record(emulator.store, app, params.get("record"))
    emulator.webhooks.notify("ADD_RECORD", app, record, emulator.base_url)
    return json_response({"id": record["$id"]["value"], "revision": record["$revision"]["value"]})


def update_record(emulator: Emulator, request: Request) -> Response:
    params = request.params()
    app = _app_for(emulator, request, params, "edit")
    record_id = int_param(params, "id")
    revision = optional_int_param(params, "revision")
    record = records.update_record(emulator.store, app, record_id, params.get("record"), revision)
    emulator.webhooks.notify("UPDATE_RECORD", app, record, emulator.base_url)
    return json_response({"revision": record["$revision"]["value"]})


def get_records(emulator: Emulator, request: Request) -> Response:
    params = request.params()
    app = _app_for(emulator, request, params, "view")
    selection = records.select_records(
        emulator.store,
        app,
        str_param(params, "query"),
        str_list_param(params, "fields"),
        fold=emulator.controls.fold,
    )
    total = str(selection.total_count) if bool_param(params, "totalCount") else None
    return json_response({"records": selection.records, "totalCount": total})


def delete_records(emulator: Emulator, request: Request) -> Response:
    params = request.params()
    app = _app_for(emulator, request, params, "delete")
    ids = int_list_param(params, "ids", max_items=MAX_DELETE_IDS)
    revisions = None
    if params.get("revisions") not in (None, []):
        revisions = int_list_param(params, "revisions", max_items=MAX_DELETE_IDS)
        if len(revisions) != len(ids):
            raise validation_error({"revisions": ["Specify as many revisions as ids."]})
    records.delete_records(emulator.store, app, ids, revisions)
    return json_response({})


def upload_file(emulator: Emulator, request: Request) -> Response:
    # Uploading needs a valid token of any app, but no permission: attaching does.
    auth.valid_tokens(emulator.store, request.header(auth.TOKEN_HEADER))
    part = form_part(request.header("Content-Type"), request.body, "file")
    if part is None:
        raise validation_error({"file": ["Required field."]})
    file_key = emulator.store.put_temp_file(part.filename, part.content_type, part.data)
    return json_response({"fileKey": file_key})


def download_file(emulator: Emulator, request: Request) -> Response:
    tokens = auth.valid_tokens(emulator.store, request.header(auth.TOKEN_HEADER))
    file_key = str_param(request.params(), "fileKey")
    if not file_key:
        raise validation_error({"fileKey": ["Required field."]})
    # Only attached files can be downloaded; an uploaded key alone is not enough.
    stored = emulator.store.attached_file(file_key)
    if stored is None or stored.app is None:
        raise records.file_not_found(file_key)
    auth.authorize(emulator.store, tokens, stored.app, "view")
    return Response(200, stored.data, stored.content_type)


def form_fields(emulator: Emulator, request: Request) -> Response:
    return _form_fields(emulator, request, LIVE_SETTINGS_READ)


def preview_form_fields(emulator: Emulator, request: Request) -> Response:
    # The emulator has no pending settings: the pre-live form is the live one. What the
    # route adds is kintone's check, app management, which the token probe relies on.
    return _form_fields(emulator, request, PREVIEW_SETTINGS_READ)


def _form_fields(
    emulator: Emulator, request: Request, permission: str | frozenset[str]
) -> Response:
    params = request.params()
    app = _app_for(emulator, request, params, permission)
    properties = {
        code: _field_property(spec)
        for code, spec in app.fields.items()
        # kintone's form API does not list $id and $revision.
        if spec.type not in {"__ID__", "__REVISION__"}
    }
    return json_response({"properties": properties, "revision": "1"})


def _field_property(spec: FieldDef) -> dict[str, Any]:
    prop: dict[str, Any] = {"type": spec.type, "code": spec.code, "label": spec.label}
    prop["noLabel"] = False
    if spec.is_system:
        return prop
    prop["required"] = spec.required
    if spec.type in {"SINGLE_LINE_TEXT", "NUMBER", "LINK", "DATE", "DATETIME"}:
        prop["unique"] = spec.unique
    if spec.type in {"SINGLE_LINE_TEXT", "MULTI_LINE_TEXT", "LINK"}:
        prop["maxLength"] = "" if spec.max_length is None else str(spec.max_length)
        prop["minLength"] = ""
    if spec.type == "NUMBER":
        prop["minValue"] = spec.min_value or ""
        prop["maxValue"] = spec.max_value or ""
    if spec.type in {"DROP_DOWN", "RADIO_BUTTON", "CHECK_BOX"}:
        prop["options"] = {
            name: {"label": name, "index": str(index)} for index, name in enumerate(spec.options)
        }
    prop["defaultValue"] = [] if spec.type in {"CHECK_BOX", "FILE"} else ""
    return prop


ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/k/v1/record.json"): get_record,
    ("POST", "/k/v1/record.json"): add_record,
    ("PUT", "/k/v1/record.json"): update_record,
    ("GET", "/k/v1/records.json"): get_records,
    ("DELETE", "/k/v1/records.json"): delete_records,
    ("POST", "/k/v1/file.json"): upload_file,
    ("GET", "/k/v1/file.json"): download_file,
    ("GET", "/k/v1/app/form/fields.json"): form_fields,
    ("GET", "/k/v1/preview/app/form/fields.json"): preview_form_fields,
}


def no_such_api() -> KintoneApiError:
    return KintoneApiError(404, "CB_NO01", "The specified API is not found.")


def route(method: str, path: str) -> Route:
    found = ROUTES.get((method, path))
    if found is None:
        raise no_such_api()
    return found
