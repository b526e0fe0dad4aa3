"""Intake forms in the policy: the only fields a browser may send, and how each is checked.

A form names the browser fields (each mapped to one kintone field code, with a type and
limits), server presets a browser can neither send nor override, and the unique field the
relay writes each submission's receipt to. What needs the app's declared field types
(a form type stored in a fitting kintone type, the receipt field's type) is checked by
:mod:`~sekisho.policy.references` once the whole policy is known.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, PlainValidator, field_validator, model_validator

from ..constants import (
    CONTENT_TYPE_EXTENSIONS,
    DIRECT_UPLOAD_TYPES,
    EMAIL_MAX_LENGTH,
    MAX_DIRECT_UPLOAD_BYTES,
    MAX_REQUEST_FILE_BYTES,
    TEXT_MAX_LENGTH,
)
from .base import StrictModel, no_duplicates
from .capacity import CapacityPolicy, WaitlistPolicy, check_capacity
from .names import AppId, FieldCode, FormFieldName, SecretName
from .rate import Budget, Rate
from .reply import ReplyPolicy, check_reply
from .sessions import CancelPolicy, EditablePolicy, check_edit_rules
from .when import WhenPolicy

FormFieldType = Literal[
    "text", "textarea", "email", "number", "date", "datetime", "choice", "multi_choice", "file"
]

# The kintone field types a browser field of each form type may be stored in.
KINTONE_TYPES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "text": frozenset({"SINGLE_LINE_TEXT", "LINK"}),
        "email": frozenset({"SINGLE_LINE_TEXT", "LINK"}),
        "textarea": frozenset({"MULTI_LINE_TEXT"}),
        "number": frozenset({"NUMBER"}),
        "date": frozenset({"DATE"}),
        "datetime": frozenset({"DATETIME"}),
        "choice": frozenset({"DROP_DOWN", "RADIO_BUTTON"}),
        "multi_choice": frozenset({"CHECK_BOX", "MULTI_SELECT"}),
        "file": frozenset({"FILE"}),
    }
)

# The limits the relay's own checks share (request file bytes, text lengths, checkable
# content types) are in sekisho.policy.constants, which the relay reads without pydantic.
MAX_FILES_PER_FIELD = 10
MAX_DECIMALS = 10

_TEXT_TYPES = ("text", "textarea", "email")
# Which option applies to which form type; any other combination is a policy error.
_APPLIES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "min_length": _TEXT_TYPES,
        "max_length": _TEXT_TYPES,
        "pattern": _TEXT_TYPES,
        "min": ("number",),
        "max": ("number",),
        "decimals": ("number",),
        "options": ("choice", "multi_choice"),
        "max_items": ("multi_choice",),
        "max_bytes": ("file",),
        "content_types": ("file",),
        "max_files": ("file",),
    }
)


def _option_text(value: str) -> str:
    # Browser values are compared after NFC and trimming; an option written otherwise
    # could never be chosen.
    if not value or unicodedata.normalize("NFC", value).strip() != value:
        raise ValueError("an option must be non-empty, NFC-normalised and without outer spaces")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
        raise ValueError("an option must not contain control characters")
    return value


def _checkable_content_type(value: str) -> str:
    if value not in CONTENT_TYPE_EXTENSIONS:
        known = ", ".join(sorted(CONTENT_TYPE_EXTENSIONS))
        raise ValueError(f"the relay cannot check a file's bytes against {value} (known: {known})")
    return value


OptionText = Annotated[str, AfterValidator(_option_text)]
ContentType = Annotated[str, AfterValidator(_checkable_content_type)]
Number = int | float


def _preset_value(value: Any) -> str | tuple[str, ...]:
    # One message for both shapes, rather than pydantic's one per member of a union.
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError("a preset is a string, or a non-empty list of strings for check boxes")


PresetValue = Annotated[str | tuple[str, ...], PlainValidator(_preset_value)]


class FormField(StrictModel):
    """A field a browser may send: the kintone field it fills, its type and its limits."""

    code: FieldCode
    type: FormFieldType
    required: bool = False
    min_length: int | None = Field(None, ge=1, le=TEXT_MAX_LENGTH)
    max_length: int | None = Field(None, ge=1, le=TEXT_MAX_LENGTH)
    pattern: re.Pattern[str] | None = None  # applied with re.fullmatch
    min: Number | None = None
    max: Number | None = None
    decimals: int | None = Field(None, ge=0, le=MAX_DECIMALS)  # most digits after the point
    options: Annotated[tuple[OptionText, ...], Field(strict=False, min_length=1)] | None = None
    max_items: int | None = Field(None, ge=1)
    # An inline file's limit (MAX_REQUEST_FILE_BYTES) is checked with `upload` below.
    max_bytes: int | None = Field(None, ge=1, le=MAX_DIRECT_UPLOAD_BYTES)
    content_types: Annotated[tuple[ContentType, ...], Field(strict=False, min_length=1)] | None = (
        None
    )
    max_files: int | None = Field(None, ge=1, le=MAX_FILES_PER_FIELD)
    # `direct`: sent to S3 by a presigned POST first (POST /forms/{form}/uploads).
    upload: Literal["inline", "direct"] = "inline"

    @field_validator("min", "max")
    @classmethod
    def _finite(cls, value: Number | None) -> Number | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @field_validator("options", "content_types")
    @classmethod
    def _distinct(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if value is None else no_duplicates(value)

    @model_validator(mode="after")
    def _options_fit_the_type(self) -> FormField:
        for option, types in _APPLIES.items():
            if getattr(self, option) is not None and self.type not in types:
                raise ValueError(f"{option} does not apply to a {self.type} field")
        if self.type in ("choice", "multi_choice") and self.options is None:
            raise ValueError(f"a {self.type} field needs options")
        if self.type == "file" and (self.max_bytes is None or self.content_types is None):
            raise ValueError(
                "a file field needs max_bytes and content_types: without both, any file of "
                "any size and type could be stored"
            )
        check_upload(self.type, self.upload, self.max_bytes, self.content_types)
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        if (
            self.min_length is not None
            and self.max_length is not None
            and self.min_length > self.max_length
        ):
            raise ValueError("min_length is greater than max_length")
        if self.type == "email" and (self.max_length or 0) > EMAIL_MAX_LENGTH:
            raise ValueError(f"an email address is at most {EMAIL_MAX_LENGTH} characters")
        if self.max_items is not None and self.options and self.max_items > len(self.options):
            raise ValueError("max_items is greater than the number of options")
        return self


def check_upload(
    field_type: str, upload: str, max_bytes: int | None, content_types: tuple[str, ...] | None
) -> None:
    """How a file field's bytes travel: inline within the JSON body's limit, direct only
    for the types the intake can check from an object's first bytes."""
    if upload == "direct" and field_type != "file":
        raise ValueError(f"upload: direct does not apply to a {field_type} field")
    if field_type != "file" or max_bytes is None:
        return
    if upload == "inline" and max_bytes > MAX_REQUEST_FILE_BYTES:
        raise ValueError(
            f"an inline file travels as base64 in the JSON body: max_bytes is at most "
            f"{MAX_REQUEST_FILE_BYTES}; declare upload: direct for a larger file "
            f"(up to {MAX_DIRECT_UPLOAD_BYTES})"
        )
    unchecked = sorted(set(content_types or ()) - DIRECT_UPLOAD_TYPES)
    if upload == "direct" and unchecked:
        raise ValueError(
            f"a direct upload is checked by its first bytes, which cannot tell "
            f"{', '.join(unchecked)}; allowed: {', '.join(sorted(DIRECT_UPLOAD_TYPES))}"
        )


class CaptchaPolicy(StrictModel):
    provider: Literal["turnstile", "recaptcha"]
    secret: SecretName  # the siteverify secret in Secrets Manager, by name


class FormGuardPolicy(StrictModel):
    per_ip: Rate = Rate(count=20, window_seconds=3600)
    # Submissions this form may send kintone in a window, across every caller (N/hour or
    # N/day); past it 429 route_budget_exhausted until the window ends.
    budget: Budget | None = None
    # GET /forms/{form}/receipts/{receipt} per client IP (a page polls it after a 202).
    receipts_per_ip: Rate = Rate(count=600, window_seconds=3600)


class FormPolicy(StrictModel):
    """An intake form: browser fields, server presets and a unique receipt field."""

    app: AppId
    token_secret: SecretName  # a token with record ADD only
    receipt_field: FieldCode
    # A field a person never sees; a bot that fills it is answered as usual and ignored.
    honeypot: FormFieldName | None = None
    captcha: CaptchaPolicy | None = None
    guard: FormGuardPolicy = FormGuardPolicy()
    fields: dict[FormFieldName, FormField] = Field(min_length=1)
    # `set` in the file; a browser cannot send or override these values.
    presets: dict[FieldCode, PresetValue] = Field(default_factory=dict, alias="set")
    # false: the route answers 503 route_disabled (the reviewed kill switch).
    enabled: bool = True
    # A signed-in visitor may correct (and cancel) their own entries (SessionFunction).
    editable: EditablePolicy | None = None
    cancel: CancelPolicy | None = None
    # Seats taken atomically before a submission is written or queued.
    capacity: CapacityPolicy | None = None
    waitlist: WaitlistPolicy | None = None
    # The form's period, hours and networks; its entry routes' claims.
    when: WhenPolicy | None = None
    # One confirmation mail per entry, once its record exists (DeliverFunction).
    reply: ReplyPolicy | None = None

    @model_validator(mode="after")
    def _reply_stays_inside_the_form(self) -> FormPolicy:
        check_reply(self.reply, self.fields)
        return self

    @model_validator(mode="after")
    def _edits_stay_inside_the_form(self) -> FormPolicy:
        check_edit_rules(self.editable, self.cancel)
        check_capacity(self.capacity, self.waitlist, self.fields)
        if self.editable is None:
            return self
        for name in self.editable.fields:
            field = self.fields.get(name)
            if field is None:
                raise ValueError(f"editable field {name} is not a field of the form")
            if field.type == "file":
                # A correction rewrites a file field whole; files are sent once, at intake.
                raise ValueError(f"editable field {name} is a file: files cannot be corrected")
        return self
