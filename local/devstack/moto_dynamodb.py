"""moto's DynamoDB, fitted for the local stack's request rate (moto process only).

Every request of the stack reaches moto at least once (the guard's counter, the
idempotency records), and moto is one process: its CPU per call caps the whole stack.
Three of its per-call costs answer the same question over and over:

- each expression (an update's `ADD #n :amount ...`, a condition's
  `attribute_not_exists(pk) OR ...`) is tokenised and parsed again on every call, up to
  twice a call, though the relay sends a handful of distinct ones;
- a condition's parse also resolves its names and values, so it is kept per expression,
  names and values: the guard's `:now` changes once a second, so a counter's condition
  is parsed about once a second instead of on every request;
- every answer's request id is 52 characters drawn one `random.choice` at a time.

What each call answers, and every error it raises, is unchanged: a parse that fails is
not kept (the next call fails the same way), the update's AST is copied by moto's own
validator before it is resolved, and a condition's parser hands each caller fresh lists
of the names and values it found (moto's callers check, and extend, those).
"""

from __future__ import annotations

import functools
import json
import secrets
import string
import threading
from typing import Any

import moto.core.responses
import moto.utilities.aws_headers
from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.parsing.expressions import UpdateExpressionParser

# Distinct expressions the relay sends are few; the bound keeps a stranger's (a test's)
# variety from growing the process.
_CACHE_SIZE = 512
_ID_ALPHABET = string.ascii_letters + string.digits


def request_id(headerdict: dict[str, Any] | None = None) -> str:
    """moto's `gen_amzn_requestid_long`, drawn from one call of the OS's randomness."""
    value = "".join(_ID_ALPHABET[b % len(_ID_ALPHABET)] for b in secrets.token_bytes(52))
    if isinstance(headerdict, dict):
        headerdict["x-amzn-requestid"] = value
    return value


def _cached_parse(parse: Any) -> Any:
    kept: dict[tuple[str, str, str], tuple[Any, tuple[str, ...], tuple[str, ...]]] = {}
    lock = threading.Lock()

    @functools.wraps(parse)
    def cached(self: Any) -> Any:
        try:
            key = (
                self.condition_expression,
                json.dumps(self.expression_attribute_names, sort_keys=True),
                json.dumps(self.expression_attribute_values, sort_keys=True),
            )
        except (TypeError, ValueError):
            return parse(self)
        hit = kept.get(key)
        if hit is None:
            op = parse(self)
            hit = (op, tuple(self.expr_attr_names_found), tuple(self.expr_attr_values_found))
            with lock:
                if len(kept) >= _CACHE_SIZE:
                    kept.clear()
                kept[key] = hit
        op, names, values = hit
        self.expr_attr_names_found = list(names)
        self.expr_attr_values_found = list(values)
        return op

    return cached


def fit() -> None:
    """Apply the three savings to moto's modules (before the first request)."""
    moto.core.responses.gen_amzn_requestid_long = request_id
    moto.utilities.aws_headers.gen_amzn_requestid_long = request_id
    ConditionExpressionParser.parse = _cached_parse(ConditionExpressionParser.parse)
    make = UpdateExpressionParser.make.__func__

    @functools.lru_cache(maxsize=_CACHE_SIZE)
    def parsed_update(expression: str) -> Any:
        return make(UpdateExpressionParser, expression)

    UpdateExpressionParser.make = staticmethod(parsed_update)
