"""A browser's form submission, parsed into exactly what the relay may write to kintone.

The body is ``{"fields": {<browser name>: <value>}}`` and nothing else. Each form of the
policy becomes a pydantic model (built once per form and policy object) whose fields are
the form's browser fields: a name the form does not declare is refused, never dropped —
kintone itself silently ignores unknown field codes, so a typo or a probe would otherwise
vanish without a word — and presets and the receipt field are not browser fields, so
sending them is refused the same way. Values come out as kintone wants them, keyed by
kintone field code, with the presets added.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    WithJsonSchema,
    create_model,
)
from pydantic_core import PydanticCustomError

from sekisho.errors import ValidationFailed
from sekisho.policy import MAX_REQUEST_FILE_BYTES, FormField, FormPolicy

from .fields import checker, is_blank
from .files import Attachment
from .problems import CODES, FieldProblem
from .schema import field_schema

__all__ = ["Attachment", "Submission", "parse_submission", "submission_schema"]

# Enough for any honest form; a body of ten thousand unknown keys gets a short answer.
MAX_REPORTED_ERRORS = 50
_MODEL_CACHE_SIZE = 64
# pydantic's own error types, in the problem vocabulary.
_PYDANTIC_CODES = {"missing": "required", "extra_forbidden": "unknown"}
_DETAILS = {"required": "this field is required", "unknown": "the form has no such field"}


@dataclass(frozen=True)
class Submission:
    form: str
    # kintone code -> kintone value (str / list[str]); presets included; the receipt and
    # file fields are not (the relay adds the receipt, files travel as attachments).
    record: dict[str, Any]
    attachments: tuple[Attachment, ...]
    honeypot: bool  # the honeypot field was filled: answer as usual, record nothing


def parse_submission(form_name: str, form: FormPolicy, body: Mapping[str, Any]) -> Submission:
    """Check ``body`` against ``form``; :class:`~sekisho.errors.ValidationFailed` (400)
    lists every refused field as ``{"pointer", "code", "detail"}``."""
    fields = _fields_of(body)
    if form.honeypot is not None:
        fields = dict(fields)
        if not is_blank(fields.pop(form.honeypot, None)):
            # Nothing else is looked at: a bot learns nothing from a field error.
            return Submission(form_name, {}, (), honeypot=True)
    try:
        parsed = _model_for(form_name, form).model_validate(fields)
    except ValidationError as exc:
        raise ValidationFailed("the form's fields are not valid", errors=_problems(exc)) from exc
    record: dict[str, Any] = {}
    attachments: list[Attachment] = []
    for index, field in enumerate(form.fields.values()):
        value = getattr(parsed, _attribute(index))
        if value is None:
            continue
        if field.type == "file":
            attachments.extend(value)
        else:
            record[field.code] = value
    _check_request_total(form, attachments)
    for code, preset in form.presets.items():
        record[code] = list(preset) if isinstance(preset, tuple) else preset
    return Submission(form_name, record, tuple(attachments), honeypot=False)


def submission_schema(form_name: str, form: FormPolicy) -> dict[str, Any]:
    """The JSON Schema of a submission's body, from the model :func:`parse_submission`
    validates with (the contract in openapi.json)."""
    fields = _model_for(form_name, form).model_json_schema(by_alias=True)
    fields.pop("title", None)
    for member in fields["properties"].values():
        member.pop("title", None)  # pydantic's, made from the browser name
    if form.honeypot is not None:
        # On the page and in the contract alike, so a client that sends it is not refused;
        # a filled one gets the usual answer and records nothing.
        # Any value is taken, as a bot would send it: the answer is a receipt as usual.
        fields["properties"][form.honeypot] = {
            "description": (
                "leave it out or empty: a field the page hides from people. With any other "
                "value the answer is the usual one and nothing is recorded."
            )
        }
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["fields"],
        "properties": {"fields": fields},
    }


# ------------------------------------------------------------------------------ body


def _fields_of(body: Mapping[str, Any]) -> Mapping[str, Any]:
    errors = [
        _error(f"/{_escape(str(key))}", "unknown", "the body has no such member")
        for key in body
        if key != "fields"
    ]
    if "fields" not in body:
        errors.append(_error("/fields", "required", 'the body is {"fields": {...}}'))
    elif not isinstance(body["fields"], dict):
        errors.append(_error("/fields", "type", "must be an object"))
    if errors:
        raise ValidationFailed(
            'the body must be {"fields": {...}} and nothing else',
            errors=errors[:MAX_REPORTED_ERRORS],
        )
    return body["fields"]


def _escape(name: str) -> str:
    # RFC 6901: a member name in a JSON pointer.
    return name.replace("~", "~0").replace("/", "~1")


def _error(pointer: str, code: str, detail: str) -> dict[str, str]:
    return {"pointer": pointer, "code": code, "detail": detail}


def _problems(exc: ValidationError) -> list[dict[str, str]]:
    problems = []
    for error in exc.errors(include_input=False, include_url=False)[:MAX_REPORTED_ERRORS]:
        name = str(error["loc"][0]) if error["loc"] else ""
        if error["type"] in _PYDANTIC_CODES:
            code = _PYDANTIC_CODES[error["type"]]
            detail = _DETAILS[code]
        elif error["type"] in CODES:
            code, detail = error["type"], error["msg"]
        else:  # not raised by the checks; kept generic rather than guessed at
            code, detail = "type", "has the wrong type"
        problems.append(_error(f"/fields/{_escape(name)}", code, detail))
    return problems


def _check_request_total(form: FormPolicy, attachments: list[Attachment]) -> None:
    total = 0
    for attachment in attachments:
        total += len(attachment.data)
        if total > MAX_REQUEST_FILE_BYTES:
            name = next(n for n, f in form.fields.items() if f.code == attachment.field)
            raise ValidationFailed(
                "the form's fields are not valid",
                errors=[
                    _error(
                        f"/fields/{name}",
                        "file_size",
                        f"the files of one submission may total at most "
                        f"{MAX_REQUEST_FILE_BYTES} bytes",
                    )
                ],
            )


# ----------------------------------------------------------------------------- model


def _pydantic_check(field: FormField) -> Any:
    check = checker(field)
    required = field.required

    def validate(value: Any) -> Any:
        if is_blank(value):
            if required:
                raise PydanticCustomError("required", _DETAILS["required"])
            return None
        try:
            return check(value)
        except FieldProblem as problem:
            raise PydanticCustomError(problem.code, problem.detail) from None

    return PlainValidator(validate)


def _attribute(index: int) -> str:
    # Browser names stay aliases: a form field called "json" or "copy" must not shadow
    # pydantic's own attributes.
    return f"field_{index}"


def _build_model(form_name: str, form: FormPolicy) -> type[BaseModel]:
    definitions: dict[str, Any] = {}
    for index, (name, field) in enumerate(form.fields.items()):
        # The schema is what openapi.json says of the field; the validator decides.
        annotation = Annotated[Any, _pydantic_check(field), WithJsonSchema(field_schema(field))]
        default = ... if field.required else None
        definitions[_attribute(index)] = (annotation, Field(default, alias=name))
    return create_model(
        f"FormSubmission[{form_name}]",
        __config__=ConfigDict(extra="forbid", frozen=True, validate_by_name=False),
        **definitions,
    )


_models: OrderedDict[tuple[str, int], tuple[FormPolicy, type[BaseModel]]] = OrderedDict()
_models_lock = threading.Lock()


def _model_for(form_name: str, form: FormPolicy) -> type[BaseModel]:
    """The form's model, built once per (form name, policy object).

    Keyed by identity: a policy model holds dicts, so it has no hash, and the cache keeps
    the form alive, so its id cannot be reused by another object while the entry exists.
    """
    key = (form_name, id(form))
    with _models_lock:
        hit = _models.get(key)
        if hit is not None and hit[0] is form:
            _models.move_to_end(key)
            return hit[1]
    model = _build_model(form_name, form)
    with _models_lock:
        _models[key] = (form, model)
        while len(_models) > _MODEL_CACHE_SIZE:
            _models.popitem(last=False)
    return model
