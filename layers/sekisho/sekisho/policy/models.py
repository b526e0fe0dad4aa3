"""The policy as pydantic models: authorization as data, no rule means deny.

Every model is frozen, strict (YAML's ``"1"`` is not the app ``1``) and forbids unknown
keys, so a typo in the reviewed file is an error rather than a silently ignored rule.
Lists are read into tuples so a cached policy shared by every request of a container
cannot be changed by one of them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    Field,
    IPvAnyNetwork,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from sekisho.kintone.condition import parse_condition
from sekisho.kintone.query import MAX_LIMIT, QueryDeclarationError

from .actions import ActionPolicy
from .base import StrictModel as _Strict
from .base import no_duplicates as _no_duplicates
from .behaviour import (
    AppBehaviour,
    MatchRuleBehaviour,
    PolicyBehaviour,
    ViewBehaviour,
    WebhookBehaviour,
)
from .forms import FormPolicy
from .names import (
    AppId,
    DeclaredFieldCode,
    FieldCode,
    FieldType,
    MatchKey,
    MatchSource,
    RouteName,
    SecretName,
)
from .rate import Budget, Rate
from .references import reference_issues

DEFAULT_VIEW_LIMIT = 20
DEFAULT_DAILY_BUDGET = 10_000
LockoutScope = Literal["value", "value_and_network"]
DEFAULT_MATCH_MAX_LENGTH = 64
Section = Literal["views", "forms", "webhooks", "actions"]
SECTIONS: tuple[Section, ...] = ("views", "forms", "webhooks", "actions")
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


class AppPolicy(AppBehaviour, _Strict):
    """A kintone app: its field codes and types (needed to compile predicates and lint)."""

    name: str = Field(min_length=1, max_length=64)
    fields: dict[DeclaredFieldCode, FieldType] = Field(min_length=1)


# ------------------------------------------------------------------------------- views


class MatchRule(MatchRuleBehaviour, _Strict):
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


class ViewPolicy(ViewBehaviour, _Strict):
    """A lookup: required exact predicates, a fixed condition, a projection, a limit."""

    app: AppId
    token_secret: SecretName
    match: dict[MatchKey, MatchRule]
    where: str | None = None
    fields: Annotated[tuple[FieldCode, ...], Field(strict=False, min_length=1)]
    limit: int = Field(DEFAULT_VIEW_LIMIT, ge=1, le=MAX_LIMIT)
    guard: GuardPolicy = GuardPolicy()
    single_predicate: Literal["allowed"] | None = None
    # false: the route answers 503 route_disabled (the reviewed kill switch).
    enabled: bool = True

    # Set by Policy once the app is known to be declared.
    _field_types: Mapping[str, str] = PrivateAttr(default_factory=dict)

    @field_validator("match")
    @classmethod
    def _at_least_one_predicate(cls, value: dict[str, MatchRule]) -> dict[str, MatchRule]:
        if not value:
            raise ValueError(
                "a view needs at least one predicate: without one it returns every record"
            )
        return value

    @field_validator("where")
    @classmethod
    def _condition_parses(cls, value: str | None) -> str | None:
        if value is not None:
            # Syntax only here; field types are checked by Policy, which knows the app.
            try:
                parse_condition(value)
            except QueryDeclarationError as exc:
                raise ValueError(str(exc)) from exc
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


class WebhookPolicy(WebhookBehaviour, _Strict):
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


class Policy(PolicyBehaviour, _Strict):
    kintone: KintoneSettings
    apps: dict[AppId, AppPolicy] = Field(default_factory=dict)
    views: dict[RouteName, ViewPolicy] = Field(default_factory=dict)
    forms: dict[RouteName, FormPolicy] = Field(default_factory=dict)
    webhooks: dict[RouteName, WebhookPolicy] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _references_resolve(self) -> Policy:
        issues = reference_issues(self)
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
        for view in self.views.values():
            view._field_types = self.apps[view.app].field_types
        return self
