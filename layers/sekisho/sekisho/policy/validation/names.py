"""The constrained names a policy is written in: routes, keys, field codes, secrets.

Checked with Python's ``re.fullmatch`` rather than pydantic's ``pattern`` (Rust regex):
the field-code rule must be exactly the query compiler's, and ``fullmatch`` leaves no
``$``-before-a-trailing-newline gap.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, Field

from sekisho.kintone.condition import parse_condition
from sekisho.kintone.syntax import _FIELD_CODE, QueryDeclarationError

from ..constants import BUILTIN_FIELDS

# Route names appear in URLs (/views/{view}); match keys are what a browser sends.
_ROUTE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_MATCH_KEY = re.compile(r"[a-z][a-z0-9_]{0,31}")
_SECRET_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
# Claim names as Cognito and OIDC authorizers spell them (sub, email, custom:partner_id).
_CLAIM_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_:.-]{0,127}")

# Every field type kintone's form API reports, by what a field's value is in a record: one
# string, or (NOT_TEXT_VALUE_TYPES) a list or an object, which an action's condition (a
# text, a number or a boolean) can never equal. A typo here would otherwise silently
# disable the type rules that depend on it.
TEXT_VALUE_TYPES = frozenset(
    {
        "SINGLE_LINE_TEXT",
        "MULTI_LINE_TEXT",
        "RICH_TEXT",
        "NUMBER",
        "CALC",
        "RADIO_BUTTON",
        "DROP_DOWN",
        "DATE",
        "TIME",
        "DATETIME",
        "LINK",
        "RECORD_NUMBER",
        "CREATED_TIME",
        "UPDATED_TIME",
        "STATUS",
    }
)
NOT_TEXT_VALUE_TYPES = frozenset(
    {
        "CHECK_BOX",
        "MULTI_SELECT",
        "FILE",
        "USER_SELECT",
        "ORGANIZATION_SELECT",
        "GROUP_SELECT",
        "SUBTABLE",
        "REFERENCE_TABLE",
        "CREATOR",
        "MODIFIER",
        "STATUS_ASSIGNEE",
        "CATEGORY",
    }
)
KINTONE_FIELD_TYPES = TEXT_VALUE_TYPES | NOT_TEXT_VALUE_TYPES


def _matching(pattern: re.Pattern[str], what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"not a valid {what} (allowed: {pattern.pattern})")
        return value

    return check


def _field_code(value: str) -> str:
    if not _FIELD_CODE.fullmatch(value):
        raise ValueError("not a usable kintone field code")
    return value


def _declared_field_code(value: str) -> str:
    if value in BUILTIN_FIELDS:
        raise ValueError(f"{value} is built in; it need not be declared")
    return _field_code(value)


def _field_type(value: str) -> str:
    if value not in KINTONE_FIELD_TYPES:
        raise ValueError("not a kintone field type (for example SINGLE_LINE_TEXT, NUMBER)")
    return value


def _claim_source(value: str) -> str:
    if value == "body":
        return value
    prefix, _, claim = value.partition(":")
    if prefix != "claim" or not _CLAIM_NAME.fullmatch(claim):
        raise ValueError("must be 'body' or 'claim:<claim name>'")
    return value


def _condition_syntax(value: str) -> str:
    # Syntax only here; field types are checked with the app's (references).
    try:
        parse_condition(value)
    except QueryDeclarationError as exc:
        raise ValueError(str(exc)) from exc
    return value


RouteName = Annotated[str, AfterValidator(_matching(_ROUTE_NAME, "route name"))]
# A fixed kintone condition (a view's where, a realm's active).
Condition = Annotated[str, AfterValidator(_condition_syntax)]
MatchKey = Annotated[str, AfterValidator(_matching(_MATCH_KEY, "match key"))]
FormFieldName = Annotated[str, AfterValidator(_matching(_MATCH_KEY, "form field name"))]
SecretName = Annotated[str, AfterValidator(_matching(_SECRET_NAME, "secret name"))]
FieldCode = Annotated[str, AfterValidator(_field_code)]
DeclaredFieldCode = Annotated[str, AfterValidator(_declared_field_code)]
FieldType = Annotated[str, AfterValidator(_field_type)]
MatchSource = Annotated[str, AfterValidator(_claim_source)]
ClaimName = Annotated[str, AfterValidator(_matching(_CLAIM_NAME, "claim name"))]
AppId = Annotated[int, Field(gt=0)]
