"""The policy's validation schema: authorization as data, no rule means deny.

Each class validates the rule of the same name in :mod:`sekisho.policy.model`, the one
runtime form; :func:`~sekisho.policy.validation.convert.runtime` turns a validated
object into it. Every schema class is frozen, strict (YAML's ``"1"`` is not the app
``1``) and forbids unknown keys, so a typo in the reviewed file is an error rather than
a silently ignored rule. Lists are read into tuples, as the runtime classes hold them.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    Field,
    IPvAnyNetwork,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from sekisho.kintone.query import MAX_LIMIT

from ..constants import DEFAULT_DAILY_BUDGET, DEFAULT_MATCH_MAX_LENGTH, DEFAULT_VIEW_LIMIT
from .actions import ActionKey, ActionPolicy, FieldSource  # noqa: F401 - every class by name
from .base import StrictModel as _Strict
from .base import no_duplicates as _no_duplicates
from .convert import runtime
from .forms import CaptchaPolicy, FormField, FormGuardPolicy, FormPolicy  # noqa: F401
from .names import (
    AppId,
    Condition,
    DeclaredFieldCode,
    FieldCode,
    FieldType,
    MatchKey,
    MatchSource,
    RouteName,
    SecretName,
)
from .partners import (  # noqa: F401 - every class by name
    ClientCertificate,
    PartnerPolicy,
    PartnerQuota,
    PartnerRoutes,
)
from .rate import Budget, Rate
from .references import reference_issues
from .reply import ReplyPolicy  # noqa: F401 - every class by name
from .sessions import (  # noqa: F401 - every class by name
    CancelPolicy,
    EditablePolicy,
    EntryLock,
    EntryOwner,
    RealmGuard,
    RealmPolicy,
)
from .when import OpeningHours, WhenPolicy  # noqa: F401 - every class by name

# Each schema class has the name of the runtime class it validates (policy.model.MODELS).

LockoutScope = Literal["value", "value_and_network"]
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


# ------------------------------------------------------------------------------ kintone


class KintoneSettings(_Strict):
    base_url: str
    # kintone's requests per app per day (10,000 on the Standard course; past it a warning
    # mail, and cybozu may stop the traffic). `sekisho check` warns when the routes of one
    # app may together spend more than this (their guard budgets).
    daily_budget: int = Field(DEFAULT_DAILY_BUDGET, ge=1, le=10_000_000)

    @field_validator("base_url")
    @classmethod
    def _origin_only(cls, value: str) -> str:
        parts = urlsplit(value)
        loopback = parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS
        if parts.scheme != "https" and not loopback:
            raise ValueError("must be https:// (plain http only for a loopback emulator)")
        if not parts.hostname or parts.username or parts.password:
            raise ValueError("must name a host, without credentials")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("must be the domain's origin, without a path or query")
        return f"{parts.scheme}://{parts.netloc}"


class AppPolicy(_Strict):
    """A kintone app: its field codes and types (needed to compile predicates and lint)."""

    name: str = Field(min_length=1, max_length=64)
    fields: dict[DeclaredFieldCode, FieldType] = Field(min_length=1)


# ------------------------------------------------------------------------------- views


class MatchRule(_Strict):
    """One required predicate: the record's ``code`` must equal the supplied value."""

    code: FieldCode
    pattern: re.Pattern[str] | None = None  # applied with re.fullmatch
    max_length: int = Field(DEFAULT_MATCH_MAX_LENGTH, ge=1, le=1000)
    # `body` (the browser sends it) or `claim:<name>` (the authorizer's verified claim).
    source: MatchSource = Field("body", alias="from")


class GuardPolicy(_Strict):
    per_ip: Rate = Rate(count=30, window_seconds=3600)
    failures_per_key: Rate = Rate(count=5, window_seconds=3600)
    # What a lockout is counted by: the submitted value alone (anyone's misses lock the
    # value for everyone), or the value within the client's network (/24, IPv6 /48), so
    # a stranger elsewhere cannot lock a victim out; docs/security-model.md weighs both.
    lockout: LockoutScope = "value"
    # kintone requests this route may make in a window, counted across every caller
    # (N/hour or N/day); past it 429 route_budget_exhausted until the window ends.
    budget: Budget | None = None


class ViewPolicy(_Strict):
    """A lookup: required exact predicates, a fixed condition, a projection, a limit."""

    app: AppId
    token_secret: SecretName
    match: dict[MatchKey, MatchRule]
    where: Condition | None = None
    fields: Annotated[tuple[FieldCode, ...], Field(strict=False, min_length=1)]
    limit: int = Field(DEFAULT_VIEW_LIMIT, ge=1, le=MAX_LIMIT)
    guard: GuardPolicy = GuardPolicy()
    single_predicate: Literal["allowed"] | None = None
    # false: the route answers 503 route_disabled (the reviewed kill switch).
    enabled: bool = True
    # A realm: the view lists the signed-in visitor's own records, every predicate
    # filled from the session's claims, paged by kintone's $id in `order`.
    session: RouteName | None = None
    order: Literal["newest_first", "oldest_first"] = "newest_first"
    # partner: only partners' signed calls reach it (partners.<id>.routes.views).
    caller: Literal["browser", "partner"] = "browser"
    when: WhenPolicy | None = None

    @field_validator("match")
    @classmethod
    def _at_least_one_predicate(cls, value: dict[str, MatchRule]) -> dict[str, MatchRule]:
        if not value:
            raise ValueError(
                "a view needs at least one predicate: without one it returns every record"
            )
        return value

    @field_validator("fields")
    @classmethod
    def _distinct_fields(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _no_duplicates(value)


# ---------------------------------------------------------------------------- webhooks


class WebhookRefetch(_Strict):
    """Re-read the notified record with a view token and trust only that (kintone).

    ``fields`` is what the queued event carries of the record (plus ``$id`` and
    ``$revision``): a view token reads every field, so the slice is declared here, as a
    view's projection is.
    """

    app: AppId
    token_secret: SecretName
    fields: Annotated[tuple[FieldCode, ...], Field(strict=False, min_length=1)]


class WebhookPolicy(_Strict):
    scheme: Literal["standard", "stripe", "github", "box", "slack", "kintone"]
    secret: SecretName
    refetch: WebhookRefetch | None = None
    allow_ips: Annotated[tuple[IPvAnyNetwork, ...], Field(strict=False, min_length=1)] | None = None
    # How long after a rotation (the current secret's ``rotated_at``) a delivery signed
    # with the previous version still passes; senders retry for up to three days.
    grace_seconds: int = Field(default=86_400, ge=0, le=7 * 86_400)
    # false: deliveries are answered 503 route_disabled (senders retry later).
    enabled: bool = True
    # What a verified event of this source changes in kintone (ActionFunction).
    actions: dict[RouteName, ActionPolicy] = Field(default_factory=dict)
    # When and from where deliveries are taken (with allow_ips, both must admit them).
    when: WhenPolicy | None = None

    @model_validator(mode="after")
    def _refetch_is_kintone(self) -> WebhookPolicy:
        if self.refetch is not None and self.scheme != "kintone":
            raise ValueError("refetch re-reads kintone records: only scheme kintone has it")
        return self

    @model_validator(mode="after")
    def _actions_are_unambiguous(self) -> WebhookPolicy:
        if not self.actions:
            return self
        if self.scheme == "github":
            # GitHub signs the body but not X-GitHub-Event, the only place its event type is.
            raise ValueError("github signs no event type: an action could be triggered by a header")
        if self.scheme == "kintone" and self.refetch is None:
            # kintone signs nothing; only a record re-read with the relay's token is trusted.
            raise ValueError("a kintone source with actions needs refetch")
        taken: dict[str, str] = {}
        for name, action in self.actions.items():
            for event_type in action.events:
                other = taken.setdefault(event_type, name)
                if other != name:
                    raise ValueError(f"event type {event_type} is taken by {other} and {name}")
        return self


# ------------------------------------------------------------------------------ policy


class Policy(_Strict):
    kintone: KintoneSettings
    apps: dict[AppId, AppPolicy] = Field(default_factory=dict)
    views: dict[RouteName, ViewPolicy] = Field(default_factory=dict)
    forms: dict[RouteName, FormPolicy] = Field(default_factory=dict)
    webhooks: dict[RouteName, WebhookPolicy] = Field(default_factory=dict)
    realms: dict[RouteName, RealmPolicy] = Field(default_factory=dict)
    partners: dict[RouteName, PartnerPolicy] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _references_resolve(self) -> Policy:
        issues = reference_issues(runtime(self))
        if issues:
            # One error per location, so the loader and `sekisho check` can say exactly
            # where each problem is (pydantic prefixes these when the model is nested).
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError("policy_reference", "{detail}", {"detail": msg}),
                        loc=loc,
                        input=None,
                    )
                    for loc, msg in issues
                ],
            )
        return self
