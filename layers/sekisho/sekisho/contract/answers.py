"""What each route answers: the bodies as pydantic models, the errors as error classes.

The problem document's statuses and codes come from the error classes of
:mod:`sekisho.errors` and the services' own modules, so the contract cannot name a code
the relay does not have. Which errors a route may answer is listed here, once per route
kind; the fuzzing test (tests/fuzz) fails when the relay answers anything else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from sekisho.access.errors import (
    ClaimsNotMet,
    Closed,
    NetworkNotAllowed,
    NotOpenYet,
    OutsideHours,
)
from sekisho.errors import (
    ConfigurationError,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    RouteBudgetExhausted,
    RouteDisabled,
    SekishoError,
    UnsupportedMediaType,
    UpstreamError,
    UpstreamUnavailable,
    ValidationFailed,
)
from sekisho.intake.errors import CaptchaFailed, IdempotencyKeyReused, RequestInProgress
from sekisho.sessions.errors import (
    CursorInvalid,
    EntryLocked,
    OriginRefused,
    RevisionMismatch,
    RevisionRequired,
    SessionInvalid,
    SessionRequired,
    SignInFailed,
)
from sekisho.sessions.files import FileTooLarge, RangeNotSatisfiable
from sekisho.webhooks.errors import DeliveryInProgress, SignatureInvalid, SourceForbidden

if TYPE_CHECKING:
    from sekisho.policy.when import WhenPolicy


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldError(_Answer):
    """One refused value of the request."""

    pointer: str = Field(description="RFC 6901 pointer into the request body")
    code: str = Field(description="stable: required, unknown, type, length, pattern, ...")
    detail: str = Field(description="for people; never echoes the value")


class Problem(_Answer):
    """An RFC 9457 problem document. ``code`` is stable; kintone's own messages and codes
    never appear in one."""

    type: str = Field(description="urn:sekisho:problem:<code>")
    title: str
    status: int
    code: str
    detail: str | None = None
    errors: list[FieldError] | None = None
    # A route's `when:` refusals say when to come back (RFC 9457 extension members).
    opens: AwareDatetime | None = Field(None, description="not_open_yet: when the route opens")
    closes: AwareDatetime | None = Field(None, description="closed: when the route closed")
    next_open: AwareDatetime | None = Field(
        None, description="not_open_yet, outside_hours: the next time the route is open"
    )


class FormReceipt(_Answer):
    receipt: str = Field(description="the submission's receipt, a UUID")
    status: Literal["recorded", "queued"]


class WebhookReceipt(_Answer):
    status: Literal["queued", "duplicate"]


class SlackChallenge(_Answer):
    challenge: str = Field(description="Slack's url_verification handshake, echoed")


# The errors each kind of route may answer, beyond 404 for a name the policy lacks.
_COMMON: tuple[type[SekishoError], ...] = (
    PayloadTooLarge,
    RouteDisabled,
    UpstreamUnavailable,
    UpstreamError,
    ConfigurationError,
)
LOOKUP_ERRORS: tuple[type[SekishoError], ...] = (
    ValidationFailed,
    NotFound,
    UnsupportedMediaType,
    RateLimited,
    RouteBudgetExhausted,
    *_COMMON,
)
FORM_ERRORS: tuple[type[SekishoError], ...] = (
    ValidationFailed,
    UnsupportedMediaType,
    RequestInProgress,
    IdempotencyKeyReused,
    RateLimited,
    RouteBudgetExhausted,
    *_COMMON,
)
CAPTCHA_ERRORS: tuple[type[SekishoError], ...] = (CaptchaFailed,)
WEBHOOK_ERRORS: tuple[type[SekishoError], ...] = (
    SignatureInvalid,
    DeliveryInProgress,
    *_COMMON,
)
ALLOW_IPS_ERRORS: tuple[type[SekishoError], ...] = (SourceForbidden,)


def when_errors(
    when: WhenPolicy | None, *, session: bool = False
) -> tuple[type[SekishoError], ...]:
    """The 403s a route's ``when`` may answer (``claims`` only on a session's routes)."""
    if when is None:
        return ()
    declared: list[tuple[object, type[SekishoError]]] = [
        (when.networks, NetworkNotAllowed),
        (when.opens, NotOpenYet),
        (when.closes, Closed),
        (when.hours, OutsideHours),
        (session and when.claims, ClaimsNotMet),
    ]
    return tuple(error for present, error in declared if present)


CODE_REQUEST_ERRORS: tuple[type[SekishoError], ...] = (
    ValidationFailed,
    UnsupportedMediaType,
    RateLimited,
    *_COMMON,
)
SIGN_IN_ERRORS: tuple[type[SekishoError], ...] = (*CODE_REQUEST_ERRORS, SignInFailed)
_SESSION: tuple[type[SekishoError], ...] = (SessionRequired, SessionInvalid, *_COMMON)
SIGN_OUT_ERRORS: tuple[type[SekishoError], ...] = (OriginRefused, *_SESSION)
SESSION_VIEW_ERRORS: tuple[type[SekishoError], ...] = (
    ValidationFailed,
    CursorInvalid,
    UnsupportedMediaType,
    RateLimited,
    RouteBudgetExhausted,
    *_SESSION,
)
ENTRY_ERRORS: tuple[type[SekishoError], ...] = (
    ValidationFailed,
    UnsupportedMediaType,
    RateLimited,
    OriginRefused,
    EntryLocked,
    RevisionMismatch,
    *_SESSION,
)
SESSION_FILE_ERRORS: tuple[type[SekishoError], ...] = (
    RateLimited,
    FileTooLarge,
    RangeNotSatisfiable,
    *_SESSION,
)
CORRECTION_ERRORS: tuple[type[SekishoError], ...] = (*ENTRY_ERRORS, RevisionRequired)


class CodeRequested(_Answer):
    status: Literal["code_requested"]
    expires_in: int = Field(description="seconds the mailed code is valid, if one was mailed")


class SignedIn(_Answer):
    token: str = Field(description="the session, for Authorization: Bearer (also set as a cookie)")
    expires_in: int = Field(description="seconds until the session ends; there is no refresh")


class Revision(_Answer):
    revision: str = Field(description="the entry's kintone revision after the write")


class Cancelled(_Answer):
    status: Literal["cancelled"]
    revision: str
