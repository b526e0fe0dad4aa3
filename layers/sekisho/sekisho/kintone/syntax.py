"""What the query compiler and the condition parser share: field codes and their error."""

from __future__ import annotations

import re

from sekisho.errors import ConfigurationError

# A field code as the relay accepts one in a declared predicate or condition.
_FIELD_CODE = re.compile(r"\$id|\$revision|[^\W\d][\w・＿]*")


class QueryDeclarationError(ConfigurationError):
    """A declared field, type, operator or condition is unusable: the policy is wrong."""
