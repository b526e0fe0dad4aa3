"""The policy: one reviewed YAML file says who may do what; no rule means deny.

Names are loaded on first use (PEP 562): the models and the YAML loader bring pydantic
and PyYAML, which a function that starts from the reviewed snapshot never needs
(``sekisho.policy.snapshot``), so importing this package must not load them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sekisho.lazy import lazy_exports

_EXPORTS = {
    "ActionKey": ".actions",
    "ActionPolicy": ".actions",
    "FieldSource": ".actions",
    "CONTENT_TYPE_EXTENSIONS": ".constants",
    "MAX_REQUEST_FILE_BYTES": ".constants",
    "KINTONE_TYPES": ".forms",
    "CaptchaPolicy": ".forms",
    "FormField": ".forms",
    "FormGuardPolicy": ".forms",
    "FormPolicy": ".forms",
    "Finding": ".lint",
    "lint_policy": ".lint",
    "BUNDLED_POLICY": ".loader",
    "POLICY_ENV": ".loader",
    "PolicyError": ".loader",
    "PolicyIssue": ".loader",
    "clear_policy_cache": ".loader",
    "load_policy": ".loader",
    "parse_policy": ".loader",
    "read_policy": ".loader",
    "resolve_policy_path": ".loader",
    "AppPolicy": ".models",
    "GuardPolicy": ".models",
    "KintoneSettings": ".models",
    "MatchRule": ".models",
    "Policy": ".models",
    "ViewPolicy": ".models",
    "WebhookPolicy": ".models",
    "WebhookRefetch": ".models",
    "Rate": ".rate",
    "ReviewedPolicy": ".snapshot",
    "SnapshotError": ".snapshot",
    "load_reviewed": ".snapshot",
    "policy_digest": ".snapshot",
    "write_snapshot": ".snapshot",
}

__all__ = [
    "BUNDLED_POLICY",
    "CONTENT_TYPE_EXTENSIONS",
    "KINTONE_TYPES",
    "MAX_REQUEST_FILE_BYTES",
    "POLICY_ENV",
    "ActionKey",
    "ActionPolicy",
    "AppPolicy",
    "CaptchaPolicy",
    "FieldSource",
    "Finding",
    "FormField",
    "FormGuardPolicy",
    "FormPolicy",
    "GuardPolicy",
    "KintoneSettings",
    "MatchRule",
    "Policy",
    "PolicyError",
    "PolicyIssue",
    "Rate",
    "ReviewedPolicy",
    "SnapshotError",
    "ViewPolicy",
    "WebhookPolicy",
    "WebhookRefetch",
    "clear_policy_cache",
    "lint_policy",
    "load_policy",
    "load_reviewed",
    "parse_policy",
    "policy_digest",
    "read_policy",
    "resolve_policy_path",
    "write_snapshot",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

if TYPE_CHECKING:
    from .actions import ActionKey, ActionPolicy, FieldSource
    from .constants import CONTENT_TYPE_EXTENSIONS, MAX_REQUEST_FILE_BYTES
    from .forms import KINTONE_TYPES, CaptchaPolicy, FormField, FormGuardPolicy, FormPolicy
    from .lint import Finding, lint_policy
    from .loader import (
        BUNDLED_POLICY,
        POLICY_ENV,
        PolicyError,
        PolicyIssue,
        clear_policy_cache,
        load_policy,
        parse_policy,
        read_policy,
        resolve_policy_path,
    )
    from .models import (
        AppPolicy,
        GuardPolicy,
        KintoneSettings,
        MatchRule,
        Policy,
        ViewPolicy,
        WebhookPolicy,
        WebhookRefetch,
    )
    from .rate import Rate
    from .snapshot import (
        ReviewedPolicy,
        SnapshotError,
        load_reviewed,
        policy_digest,
        write_snapshot,
    )
