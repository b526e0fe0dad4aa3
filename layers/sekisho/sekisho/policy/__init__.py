"""The policy: one reviewed YAML file says who may do what; no rule means deny.

- :mod:`.model` and :mod:`.routes`: the runtime classes every function uses (standard
  library only);
- :mod:`.snapshot` and :mod:`.reviewed`: the reviewed snapshot a cold start restores;
- :mod:`.source`: which file is read; :mod:`.errors`: what a bad policy raises;
- :mod:`.validation`: pydantic and PyYAML, for ``sekisho check``, ``make build`` and the
  local stack; importing this package never loads it.
"""

from __future__ import annotations

from .constants import CONTENT_TYPE_EXTENSIONS, MAX_REQUEST_FILE_BYTES
from .errors import PolicyError, PolicyIssue, SnapshotError
from .model import AppPolicy, KintoneSettings, Policy
from .rate import Rate
from .routes import (
    ActionKey,
    ActionPolicy,
    CaptchaPolicy,
    FieldSource,
    FormField,
    FormGuardPolicy,
    FormPolicy,
    GuardPolicy,
    MatchRule,
    ViewPolicy,
    WebhookPolicy,
    WebhookRefetch,
)
from .source import POLICY_ENV

__all__ = [
    "CONTENT_TYPE_EXTENSIONS",
    "MAX_REQUEST_FILE_BYTES",
    "POLICY_ENV",
    "ActionKey",
    "ActionPolicy",
    "AppPolicy",
    "CaptchaPolicy",
    "FieldSource",
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
    "SnapshotError",
    "ViewPolicy",
    "WebhookPolicy",
    "WebhookRefetch",
]
