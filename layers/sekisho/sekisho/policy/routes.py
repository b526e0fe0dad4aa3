"""The rules of the policy's routes as the relay runs them: views, webhooks and their
actions, forms, and the rates their guards count in (:class:`Rule` classes; the whole
policy, :class:`~sekisho.policy.model.Policy`, holds them)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from ipaddress import IPv4Network, IPv6Network
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from sekisho.errors import ConfigurationError

from .constants import (
    CLAIM_PREFIX,
    DEFAULT_MATCH_MAX_LENGTH,
    DEFAULT_VIEW_LIMIT,
    EMAIL_MAX_LENGTH,
    OPERATION_PERMISSIONS,
    TEXT_MAX_LENGTH,
)
from .rate import Rate, per_hour
from .rule import Rule, fresh
from .when import WHEN_RULES, WhenPolicy

if TYPE_CHECKING:
    from .capacity import CapacityPolicy, WaitlistPolicy
    from .reply import ReplyPolicy
    from .sessions import CancelPolicy, EditablePolicy

Network = IPv4Network | IPv6Network
Scalar = str | int | bool

# ------------------------------------------------------------------------------- views


class MatchRule(Rule):
    """One required predicate: the record's ``code`` must equal the supplied value."""

    code: str
    pattern: re.Pattern[str] | None = None  # applied with re.fullmatch
    max_length: int = DEFAULT_MATCH_MAX_LENGTH
    # `body` (the browser sends it) or `claim:<name>` (a verified claim); `from:` in YAML.
    source: str = "body"

    @property
    def claim(self) -> str | None:
        """The claim the value comes from, or None when the browser sends it."""
        return self.source.removeprefix(CLAIM_PREFIX) if self.source != "body" else None

    def accepts(self, value: str) -> bool:
        """Does ``value`` have the declared shape (length, and pattern if any)?"""
        if not 1 <= len(value) <= self.max_length:
            return False
        return self.pattern is None or self.pattern.fullmatch(value) is not None


class GuardPolicy(Rule):
    """A view's guard: requests per IP, misses per value, lockout scope, kintone budget."""

    per_ip: Rate = fresh(lambda: per_hour(30))
    failures_per_key: Rate = fresh(lambda: per_hour(5))
    # What a lockout is counted by: the value alone, or the value within the client's
    # network (/24, IPv6 /48); docs/security-model.md weighs both.
    lockout: Literal["value", "value_and_network"] = "value"
    # kintone requests this route may make in a window, across every caller.
    budget: Rate | None = None


class ViewPolicy(Rule):
    """A lookup: required exact predicates, a fixed condition, a projection, a limit."""

    app: int
    token_secret: str
    match: dict[str, MatchRule]
    where: str | None = None
    fields: tuple[str, ...]
    limit: int = DEFAULT_VIEW_LIMIT
    guard: GuardPolicy = fresh(GuardPolicy)
    single_predicate: Literal["allowed"] | None = None
    # false: the route answers 503 route_disabled (the reviewed kill switch).
    enabled: bool = True
    # A realm: the view lists the signed-in visitor's own records (claims fill every
    # predicate), a page at a time, in `order` of kintone's $id.
    session: str | None = None
    order: Literal["newest_first", "oldest_first"] = "newest_first"
    # `partner`: only a partner's signed call reaches it (POST /views/<name>, PartnerFunction);
    # its claim predicates come from the partner's declared claims.
    caller: Literal["browser", "partner"] = "browser"
    # When, from where (and for a session view, to whom) the view answers.
    when: WhenPolicy | None = None
    # Derived: the view's app's field types, set by the Policy that holds the view.
    _field_types: Mapping[str, str]

    def _derive(self) -> None:
        object.__setattr__(self, "_field_types", MappingProxyType({}))

    @property
    def predicate_codes(self) -> tuple[str, ...]:
        """Field codes of every match rule, in declaration order."""
        return tuple(rule.code for rule in self.match.values())

    @property
    def field_types(self) -> Mapping[str, str]:
        return self._field_types

    def field_type(self, code: str) -> str:
        """The kintone type of ``code`` as the view's app declares it."""
        try:
            return self._field_types[code]
        except KeyError:
            raise ConfigurationError(f"field {code!r} is not declared in app {self.app}") from None


# ---------------------------------------------------------------------------- webhooks


class WebhookRefetch(Rule):
    """Re-read the notified record with a view token and trust only that (kintone);
    ``fields`` is the slice of it the queued event carries (plus ``$id``, ``$revision``)."""

    app: int
    token_secret: str
    fields: tuple[str, ...]


class FieldSource(Rule):
    """Where one written field's value comes from: a pointer into the event (``from:``),
    or a fixed value (``set:``)."""

    pointer: str | None = None
    fixed: str | int | tuple[str, ...] | None = None


class ActionKey(Rule):
    """The record an update changes: the one whose unique ``field`` equals the event's
    value at ``pointer``."""

    field: str
    pointer: str


class ActionPolicy(Rule):
    """A verified event of the declared types becomes one declared kintone write."""

    events: tuple[str, ...]
    # JSON pointer -> the values the event may have there; checked before anything else.
    when: dict[str, tuple[Scalar, ...]] | None = None
    app: int
    operation: Literal["add", "update", "upsert"]
    token_secret: str
    read_secret: str | None = None
    permissions: tuple[Literal["add", "edit"], ...] | None = None
    key: ActionKey | None = None
    receipt_field: str
    fields: dict[str, FieldSource]

    @property
    def write_permissions(self) -> frozenset[str]:
        return OPERATION_PERMISSIONS[self.operation]

    def allows(self, pointer: str, value: Any) -> bool:
        """Does the event's ``value`` at ``pointer`` meet the action's condition there?

        Exact and by JSON type, as a reviewer reads the policy: ``1`` is not ``"1"``,
        ``true`` is not ``1`` (Python's bool is an int), ``1.0`` is not ``1``.
        """
        try:
            allowed = self.when[pointer]  # type: ignore[index]  # None: TypeError below
        except (KeyError, TypeError):
            # Fail closed: a caller asking about a pointer the condition does not name
            # has a bug, and an unknown pointer must never read as "allowed".
            raise ConfigurationError(f"the action's condition does not read {pointer}") from None
        return any(type(value) is type(option) and value == option for option in allowed)


class WebhookPolicy(Rule):
    """A webhook source: its scheme, its secret, what it may change in kintone."""

    scheme: Literal["standard", "stripe", "github", "box", "slack", "kintone"]
    secret: str
    refetch: WebhookRefetch | None = None
    allow_ips: tuple[Network, ...] | None = None
    # How long after a rotation a delivery signed with the previous version still passes.
    grace_seconds: int = 86_400
    # false: deliveries are answered 503 route_disabled (senders retry later).
    enabled: bool = True
    actions: dict[str, ActionPolicy] = fresh(dict)
    when: WhenPolicy | None = None

    def action_for(self, event_type: str | None) -> tuple[str, ActionPolicy] | None:
        """The action (name, policy) that takes ``event_type``; None when none does."""
        for name, action in self.actions.items():
            if event_type in action.events:
                return name, action
        return None

    @property
    def networks(self) -> tuple[Network, ...]:
        return tuple(self.allow_ips or ())


# ------------------------------------------------------------------------------- forms


class FormField(Rule):
    """A field a browser may send: the kintone field it fills, its type and its limits."""

    code: str
    type: Literal[
        "text", "textarea", "email", "number", "date", "datetime", "choice", "multi_choice", "file"
    ]
    required: bool = False
    min_length: int | None = None
    max_length: int | None = None
    pattern: re.Pattern[str] | None = None  # applied with re.fullmatch
    min: int | float | None = None
    max: int | float | None = None
    decimals: int | None = None  # most digits after the point
    options: tuple[str, ...] | None = None
    max_items: int | None = None
    max_bytes: int | None = None
    content_types: tuple[str, ...] | None = None
    max_files: int | None = None
    # `direct`: the bytes go to S3 by a presigned POST (POST /forms/{form}/uploads) and
    # the submission names the upload; `inline`: base64 in the JSON body.
    upload: Literal["inline", "direct"] = "inline"

    @property
    def length_limit(self) -> int:
        """The most characters a text value may have, declared or kintone's own."""
        default = EMAIL_MAX_LENGTH if self.type == "email" else TEXT_MAX_LENGTH
        return self.max_length if self.max_length is not None else default

    @property
    def file_limit(self) -> int:
        """The most files a file field takes (one unless declared)."""
        return self.max_files if self.max_files is not None else 1


class CaptchaPolicy(Rule):
    """The CAPTCHA a form requires, and the secret its siteverify call uses."""

    provider: Literal["turnstile", "recaptcha"]
    secret: str  # the siteverify secret in Secrets Manager, by name


class FormGuardPolicy(Rule):
    """A form's guard: submissions per IP, and its kintone budget."""

    per_ip: Rate = fresh(lambda: per_hour(20))
    budget: Rate | None = None
    # Status reads of receipts per IP (a page polls after a 202 until it is recorded).
    receipts_per_ip: Rate = fresh(lambda: per_hour(600))


class FormPolicy(Rule):
    """An intake form: browser fields, server presets and a unique receipt field."""

    app: int
    token_secret: str  # a token with record ADD only
    receipt_field: str
    # A field a person never sees; a bot that fills it is answered as usual and ignored.
    honeypot: str | None = None
    captcha: CaptchaPolicy | None = None
    guard: FormGuardPolicy = fresh(FormGuardPolicy)
    fields: dict[str, FormField]
    # `set:` in YAML: values a browser can neither send nor override.
    presets: dict[str, str | tuple[str, ...]] = fresh(dict)
    enabled: bool = True
    # A signed-in visitor may correct (and cancel) their own entries.
    editable: EditablePolicy | None = None
    cancel: CancelPolicy | None = None
    # Seats taken before a submission is written or queued (409 capacity_full past them).
    capacity: CapacityPolicy | None = None
    waitlist: WaitlistPolicy | None = None
    # The form's period, hours and networks (its entry routes' too, and their claims).
    when: WhenPolicy | None = None
    # One confirmation mail per entry, sent by the deliverer once the record exists.
    reply: ReplyPolicy | None = None

    @property
    def file_fields(self) -> dict[str, FormField]:
        return {name: f for name, f in self.fields.items() if f.type == "file"}


# Every class a route's rule is made of (with the policy's own: policy.model.MODELS).
ROUTE_RULES: tuple[type[Rule], ...] = (
    MatchRule,
    GuardPolicy,
    Rate,
    ViewPolicy,
    WebhookRefetch,
    WebhookPolicy,
    ActionPolicy,
    ActionKey,
    FieldSource,
    FormPolicy,
    FormField,
    CaptchaPolicy,
    FormGuardPolicy,
    *WHEN_RULES,
)
