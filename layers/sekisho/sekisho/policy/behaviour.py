"""What a policy rule can answer, once its values are known to be valid.

Each class here is mixed into two classes of the same name: the pydantic model that
validates the reviewed file (:mod:`~sekisho.policy.models` and its siblings), and the
frozen class a function's cold start restores from the reviewed snapshot
(:mod:`~sekisho.policy.snapshot`), which never loads pydantic. The relay's code reads a
policy only through fields and these methods, so both answer alike by construction.

The classes declare no fields and no annotations: pydantic would take a mixin's
annotations for fields of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import IPv4Network, IPv6Network
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from sekisho.errors import ConfigurationError, NotFound

from .constants import (
    BUILTIN_FIELDS,
    CLAIM_PREFIX,
    EMAIL_MAX_LENGTH,
    OPERATION_PERMISSIONS,
    TEXT_MAX_LENGTH,
    WINDOWS,
)

if TYPE_CHECKING:
    from typing import Literal

    Section = Literal["views", "forms", "webhooks", "actions"]


class RateBehaviour:
    __slots__ = ()

    def __str__(self) -> str:
        for unit, seconds in WINDOWS.items():
            if self.window_seconds == seconds:
                return f"{self.count}/{unit}"
        return f"{self.count}/{self.window_seconds}s"

    @property
    def per_day(self) -> int:
        """The most events this rate admits in a day of back-to-back windows."""
        return -(-self.count * WINDOWS["day"] // self.window_seconds)


class AppBehaviour:
    __slots__ = ()

    @property
    def field_types(self) -> Mapping[str, str]:
        """Declared fields plus kintone's built-in ``$id`` and ``$revision``."""
        return MappingProxyType({**self.fields, **BUILTIN_FIELDS})


class MatchRuleBehaviour:
    __slots__ = ()

    @property
    def claim(self) -> str | None:
        """The claim the value comes from, or None when the browser sends it."""
        return self.source.removeprefix(CLAIM_PREFIX) if self.source != "body" else None

    def accepts(self, value: str) -> bool:
        """Does ``value`` have the declared shape (length, and pattern if any)?"""
        if not 1 <= len(value) <= self.max_length:
            return False
        return self.pattern is None or self.pattern.fullmatch(value) is not None


class ViewBehaviour:
    __slots__ = ()

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


class WebhookBehaviour:
    __slots__ = ()

    def action_for(self, event_type: str | None) -> tuple[str, Any] | None:
        """The action (name, policy) that takes ``event_type``; None when none does."""
        for name, action in self.actions.items():
            if event_type in action.events:
                return name, action
        return None

    @property
    def networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return tuple(self.allow_ips or ())


class FormFieldBehaviour:
    __slots__ = ()

    @property
    def length_limit(self) -> int:
        """The most characters a text value may have, declared or kintone's own."""
        default = EMAIL_MAX_LENGTH if self.type == "email" else TEXT_MAX_LENGTH
        return self.max_length if self.max_length is not None else default

    @property
    def file_limit(self) -> int:
        """The most files a file field takes (one unless declared)."""
        return self.max_files if self.max_files is not None else 1


class FormBehaviour:
    __slots__ = ()

    @property
    def file_fields(self) -> dict[str, Any]:
        return {name: field for name, field in self.fields.items() if field.type == "file"}


class ActionBehaviour:
    __slots__ = ()

    @property
    def write_permissions(self) -> frozenset[str]:
        return OPERATION_PERMISSIONS[self.operation]

    def allows(self, pointer: str, value: Any) -> bool:
        """Does the event's ``value`` at ``pointer`` meet the action's condition there?

        Exact and by JSON type, as a reviewer reads the policy: ``1`` is not ``"1"``,
        ``true`` is not ``1`` (Python's bool is an int), ``1.0`` is not ``1``.
        """
        try:
            allowed = self.when[pointer]
        except (KeyError, TypeError):
            # Fail closed: a caller asking about a pointer the condition does not name
            # has a bug, and an unknown pointer must never read as "allowed".
            raise ConfigurationError(f"the action's condition does not read {pointer}") from None
        return any(type(value) is type(option) and value == option for option in allowed)


class PolicyBehaviour:
    __slots__ = ()

    def view(self, name: str) -> Any:
        """The view called ``name``; :class:`~sekisho.errors.NotFound` if there is none."""
        try:
            return self.views[name]
        except (KeyError, TypeError):
            raise NotFound() from None

    def form(self, name: str) -> Any:
        try:
            return self.forms[name]
        except (KeyError, TypeError):
            raise NotFound() from None

    def webhook(self, name: str) -> Any:
        try:
            return self.webhooks[name]
        except (KeyError, TypeError):
            raise NotFound() from None

    def secret_names(self, section: Section) -> frozenset[str]:
        """Every secret ``section`` names: the allowlist of that function's secret store."""
        if section == "views":
            return frozenset(view.token_secret for view in self.views.values())
        if section == "forms":
            names = {form.token_secret for form in self.forms.values()}
            names.update(f.captcha.secret for f in self.forms.values() if f.captcha)
            return frozenset(names)
        if section == "webhooks":
            names = {hook.secret for hook in self.webhooks.values()}
            names.update(h.refetch.token_secret for h in self.webhooks.values() if h.refetch)
            return frozenset(names)
        if section == "actions":
            # The actions' own tokens, and the refetch token of a source with actions: an
            # event queued while kintone was down carries no record, so it is read then.
            names = set()
            for hook in self.webhooks.values():
                for action in hook.actions.values():
                    names.add(action.token_secret)
                    if action.read_secret is not None:
                        names.add(action.read_secret)
                if hook.actions and hook.refetch is not None:
                    names.add(hook.refetch.token_secret)
            return frozenset(names)
        raise ConfigurationError(f"the policy has no section {section!r}")
