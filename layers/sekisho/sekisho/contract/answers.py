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
from sekisho.entries.errors import CapacityFull
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
from sekisho.intake.receipts import RECEIPT_PATTERN
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
    receipt: str = Field(
        description=(
            "the submission's receipt, to be read aloud or typed back: 10 random symbols"
            " of Crockford's base32 and a check symbol, as XXXX-XXXX-XXC; a replay of a"
            " submission accepted before short receipts answers its UUID"
        ),
        pattern=f"^{RECEIPT_PATTERN}$",
    )
    status: Literal["recorded", "queued"]
    waitlisted: Literal[True] | None = Field(
        None, description="present when the form was full and the entry is waitlisted"
    )


class SeatCounter(_Answer):
    capacity: int = Field(ge=1, description="the seats there are")
    left: int = Field(ge=0, description="the seats left, a few seconds ago")


class FormSeats(_Answer):
    counts: str = Field(description="`entries`, or the number field whose value an entry takes")
    total: SeatCounter | None = Field(description="the form's own seats, if it has any")
    by: str | None = Field(None, description="the choice field the seats are per choice of")
    choices: dict[str, SeatCounter] | None = Field(None, description="seats per choice")


class FormFacts(_Answer):
    form: str
    open: bool = Field(description="whether a submission is taken now")
    state: str = Field(description="`open`, or why it is not (a problem code)")
    opens: str | None = Field(description="the application period's start, ISO 8601")
    closes: str | None = Field(description="the application period's end, ISO 8601")
    next_open: str | None = Field(description="when a closed form opens next, if it will")
    hours: dict[str, object] | None = Field(description="opening hours: days, from, to, zone")
    seats: FormSeats | None = Field(description="null for a form without capacity")


class ReceiptState(_Answer):
    status: Literal["queued", "recorded", "refused"]
    reason: str | None = Field(None, description="for refused: the stable code of why")
    waitlisted: Literal[True] | None = None


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
CORRECTION_ERRORS: tuple[type[SekishoError], ...] = (*ENTRY_ERRORS, RevisionRequired, CapacityFull)
CAPACITY_ERRORS: tuple[type[SekishoError], ...] = (CapacityFull,)
FACTS_ERRORS: tuple[type[SekishoError], ...] = _COMMON
RECEIPT_ERRORS: tuple[type[SekishoError], ...] = (RateLimited, *_COMMON)


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
