"""The policy: one reviewed YAML file says who may do what; no rule means deny."""

from .actions import ActionKey, ActionPolicy, FieldSource
from .forms import (
    CONTENT_TYPE_EXTENSIONS,
    KINTONE_TYPES,
    MAX_REQUEST_FILE_BYTES,
    CaptchaPolicy,
    FormField,
    FormGuardPolicy,
    FormPolicy,
)
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
    "ViewPolicy",
    "WebhookPolicy",
    "WebhookRefetch",
    "clear_policy_cache",
    "lint_policy",
    "load_policy",
    "parse_policy",
    "read_policy",
    "resolve_policy_path",
]
