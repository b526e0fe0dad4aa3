"""A form's submission as a pydantic model of the relay's own checks: the contract only.

``sekisho openapi`` takes each form's JSON Schema from this model, whose validators are
the very checks :func:`~sekisho.forms.submission.parse_submission` applies, so the
contract cannot drift from what the intake accepts. The intake never imports this
module (nor pydantic).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema, create_model
from pydantic_core import PydanticCustomError

from sekisho.policy import FormField, FormPolicy

from .fields import checker, is_blank
from .problems import FieldProblem
from .schema import field_schema
from .submission import _DETAILS, PerForm


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


# The form's pydantic model of the same checks: what the contract's schema comes from.
_model_for = PerForm(_build_model)
