"""A browser's form submission, parsed into exactly what the relay may write to kintone.

The body is ``{"fields": {<browser name>: <value>}}`` and nothing else. The form's
browser fields are the only names taken: a name the form does not declare is refused,
never dropped — kintone itself silently ignores unknown field codes, so a typo or a probe
would otherwise vanish without a word — and presets and the receipt field are not browser
fields, so sending them is refused the same way. Values come out as kintone wants them,
keyed by kintone field code, with the presets added.

Each field's check (:func:`~sekisho.forms.fields.checker`) is built once per form and
policy object and applied here directly. The contract's JSON Schema comes from a pydantic
model of the same checks (:mod:`sekisho.forms.contract_model`, for ``sekisho openapi``
only): the intake function never loads pydantic.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sekisho.errors import ValidationFailed
from sekisho.policy.constants import MAX_REQUEST_FILE_BYTES

from .fields import Check, checker, is_blank
from .files import Attachment
from .problems import CODES, FieldProblem
from .reply_address import reply_checked
from .uploads import UploadRef

if TYPE_CHECKING:
    from sekisho.policy import FormPolicy

__all__ = ["Attachment", "PerForm", "Submission", "parse_submission"]

# Enough for any honest form; a body of ten thousand unknown keys gets a short answer.
MAX_REPORTED_ERRORS = 50
_MODEL_CACHE_SIZE = 64
_DETAILS = {"required": "this field is required", "unknown": "the form has no such field"}


@dataclass(frozen=True)
class Submission:
    form: str
    # kintone code -> kintone value (str / list[str]); presets included; the receipt and
    # file fields are not (the relay adds the receipt, files travel as attachments).
    record: dict[str, Any]
    attachments: tuple[Attachment, ...]
    honeypot: bool  # the honeypot field was filled: answer as usual, record nothing
    # The direct uploads named (upload: direct fields); the intake checks their objects.
    uploads: tuple[UploadRef, ...] = ()


def parse_submission(form_name: str, form: FormPolicy, body: Mapping[str, Any]) -> Submission:
    """Check ``body`` against ``form``; :class:`~sekisho.errors.ValidationFailed` (400)
    lists every refused field as ``{"pointer", "code", "detail"}``."""
    fields = _fields_of(body)
    if form.honeypot is not None:
        fields = dict(fields)
        if not is_blank(fields.pop(form.honeypot, None)):
            # Nothing else is looked at: a bot learns nothing from a field error.
            return Submission(form_name, {}, (), honeypot=True)
    values, problems = _check_fields(_checks_for(form_name, form), form, fields)
    if problems:
        raise ValidationFailed(
            "the form's fields are not valid", errors=problems[:MAX_REPORTED_ERRORS]
        )
    record: dict[str, Any] = {}
    attachments: list[Attachment] = []
    uploads: list[UploadRef] = []
    for (name, field), value in zip(form.fields.items(), values, strict=True):
        if value is None:
            continue
        if field.type == "file" and field.upload == "direct":
            uploads.extend(dataclasses.replace(ref, name=name) for ref in value)
        elif field.type == "file":
            attachments.extend(value)
        else:
            record[field.code] = value
    _check_request_total(form, attachments)
    for code, preset in form.presets.items():
        record[code] = list(preset) if isinstance(preset, tuple) else preset
    return Submission(form_name, record, tuple(attachments), honeypot=False, uploads=tuple(uploads))


def _fields_of(body: Mapping[str, Any]) -> Mapping[str, Any]:
    errors = [
        _error(f"/{_escape(str(key))}", "unknown", "the body has no such member")
        for key in body
        if key != "fields"
    ]
    if "fields" not in body:
        errors.append(_error("/fields", "required", 'the body is {"fields": {...}}'))
    fields = body.get("fields")
    if "fields" in body and not isinstance(fields, dict):
        errors.append(_error("/fields", "type", "must be an object"))
    if errors or not isinstance(fields, dict):
        raise ValidationFailed(
            'the body must be {"fields": {...}} and nothing else',
            errors=errors[:MAX_REPORTED_ERRORS],
        )
    return fields


def _escape(name: str) -> str:
    # RFC 6901: a member name in a JSON pointer.
    return name.replace("~", "~0").replace("/", "~1")


def _error(pointer: str, code: str, detail: str) -> dict[str, str]:
    return {"pointer": pointer, "code": code, "detail": detail}


def _check_fields(
    checks: tuple[Check, ...], form: FormPolicy, fields: Mapping[str, Any]
) -> tuple[list[Any], list[dict[str, str]]]:
    """Each declared field's value (None when blank), and every problem: the declared
    fields' in declaration order, then the unknown names in the order they came."""
    values: list[Any] = []
    problems: list[dict[str, str]] = []
    for (name, field), check in zip(form.fields.items(), checks, strict=True):
        value = fields.get(name)
        if is_blank(value):
            if field.required:
                problems.append(_field_error(name, "required", _DETAILS["required"]))
            values.append(None)
            continue
        try:
            values.append(check(value))
        except FieldProblem as problem:
            if problem.code in CODES:
                problems.append(_field_error(name, problem.code, problem.detail))
            else:  # not raised by the checks; kept generic rather than guessed at
                problems.append(_field_error(name, "type", "has the wrong type"))
            values.append(None)
    problems.extend(
        _field_error(str(name), "unknown", _DETAILS["unknown"])
        for name in fields
        if name not in form.fields
    )
    return values, problems


def _field_error(name: str, code: str, detail: str) -> dict[str, str]:
    return _error(f"/fields/{_escape(name)}", code, detail)


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


class PerForm:
    """What is built once per (form name, policy object): its checks, its model.

    Keyed by identity: a policy model holds dicts, so it has no hash, and the cache keeps
    the form alive, so its id cannot be reused by another object while the entry exists.
    """

    def __init__(self, build: Callable[[str, FormPolicy], Any]) -> None:
        self._build = build
        self._built: OrderedDict[tuple[str, int], tuple[FormPolicy, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, form_name: str, form: FormPolicy) -> Any:
        key = (form_name, id(form))
        with self._lock:
            hit = self._built.get(key)
            if hit is not None and hit[0] is form:
                self._built.move_to_end(key)
                return hit[1]
        built = self._build(form_name, form)
        with self._lock:
            self._built[key] = (form, built)
            while len(self._built) > _MODEL_CACHE_SIZE:
                self._built.popitem(last=False)
        return built


# The form's checks in declaration order: what a submission is checked with.
_checks_for = PerForm(
    lambda _name, form: tuple(
        reply_checked(form, name, checker(field)) for name, field in form.fields.items()
    )
)
