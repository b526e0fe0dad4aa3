"""An Api's resource policy, as far as it decides by the client's address and the route.

API Gateway evaluates it before any function runs: an explicit Deny wins, and without an
Allow nothing passes. Locally only `aws:SourceIp` conditions (IpAddress, NotIpAddress) are
understood, which is what an IP allowlist uses; a statement with any other condition is
skipped with a warning rather than guessed at.

A statement's Resource (or NotResource) scopes it to stages, methods and paths, matched
against the request's execute-api ARN (see `invoke_arn`) with IAM's wildcards: `*` any run
of characters, `/` included, `?` one character. `execute-api:/...` is API Gateway's short
form for "this API": it stands for the request's own ARN up to the API id.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import re
from collections.abc import Mapping
from typing import Any

from .cfn import ACCOUNT_ID, REGION

log = logging.getLogger(__name__)

_INVOKE_ACTIONS = {"*", "execute-api:*", "execute-api:invoke"}
_SHORT_FORM = "execute-api:/"
_warned: set[str] = set()


def invoke_arn(api_id: str, stage: str, method: str, path: str) -> str:
    """The ARN API Gateway authorises a request against: ``.../{stage}/{METHOD}{path}``.

    ``path`` is the request's path below the stage, as the client sent it (``/`` first).
    """
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{api_id}/{stage}/{method.upper()}{path}"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    address = ipaddress.ip_address(text)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _in_ranges(source_ip: str, ranges: Any) -> bool:
    address = _address(source_ip)
    for cidr in _as_list(ranges):
        network = ipaddress.ip_network(str(cidr), strict=False)
        if address.version == network.version and address in network:
            return True
    return False


def _condition_holds(condition: Mapping[str, Any], source_ip: str) -> bool | None:
    """True or False for address conditions; None when the statement needs more than that."""
    for operator, tests in condition.items():
        if operator not in ("IpAddress", "NotIpAddress") or set(tests) != {"aws:SourceIp"}:
            return None
        inside = _in_ranges(source_ip, tests["aws:SourceIp"])
        if inside != (operator == "IpAddress"):
            return False
    return True


@functools.lru_cache(maxsize=256)
def _pattern(glob: str) -> re.Pattern[str]:
    # IAM's wildcards only: `[`, `]` and the rest are literal characters in an ARN.
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile("".join(parts), re.DOTALL)


def _covers(pattern: Any, resource: str) -> bool:
    pattern = str(pattern)
    if pattern.startswith(_SHORT_FORM):
        api_arn = resource.split("/", 1)[0]
        pattern = f"{api_arn}/{pattern[len(_SHORT_FORM) :]}"
    return _pattern(pattern).fullmatch(resource) is not None


def _in_scope(statement: Mapping[str, Any], resource: str | None) -> bool:
    # Without the request's ARN every statement is taken to cover it, whatever it names:
    # the reading of a caller that does not say which route it is deciding for.
    if resource is None:
        return True
    if "NotResource" in statement:
        return not any(_covers(p, resource) for p in _as_list(statement["NotResource"]))
    return any(_covers(p, resource) for p in _as_list(statement.get("Resource", [])))


def _applies(statement: Mapping[str, Any], source_ip: str, resource: str | None) -> bool | None:
    actions = {str(action).lower() for action in _as_list(statement.get("Action", []))}
    if not actions & _INVOKE_ACTIONS or not _in_scope(statement, resource):
        return False
    return _condition_holds(statement.get("Condition") or {}, source_ip)


def refuses(policy: Mapping[str, Any] | None, source_ip: str, resource: str | None = None) -> bool:
    """Whether the resource policy denies execute-api:Invoke to this client address on
    ``resource`` (the request's `invoke_arn`; None: on every route alike)."""
    if not policy:
        return False
    allowed = False
    for statement in _as_list(policy.get("Statement", [])):
        applies = _applies(statement, source_ip, resource)
        if applies is None:
            sid = str(statement.get("Sid", "(no Sid)"))
            if sid not in _warned:
                _warned.add(sid)
                log.warning("resource policy statement %s is not checked locally", sid)
            continue
        if applies and statement.get("Effect") == "Deny":
            return True
        allowed = allowed or (applies and statement.get("Effect") == "Allow")
    return not allowed
