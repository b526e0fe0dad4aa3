"""An Api's resource policy, as far as it decides by the client's address.

API Gateway evaluates it before any function runs: an explicit Deny wins, and without an
Allow nothing passes. Locally only `aws:SourceIp` conditions (IpAddress, NotIpAddress) are
understood, which is what an IP allowlist uses; a statement with any other condition is
skipped with a warning rather than guessed at.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)

_INVOKE_ACTIONS = {"*", "execute-api:*", "execute-api:invoke"}
_warned: set[str] = set()


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


def _applies(statement: Mapping[str, Any], source_ip: str) -> bool | None:
    actions = {str(action).lower() for action in _as_list(statement.get("Action", []))}
    if not actions & _INVOKE_ACTIONS:
        return False
    return _condition_holds(statement.get("Condition") or {}, source_ip)


def refuses(policy: Mapping[str, Any] | None, source_ip: str) -> bool:
    """Whether the resource policy denies execute-api:Invoke to this client address."""
    if not policy:
        return False
    allowed = False
    for statement in _as_list(policy.get("Statement", [])):
        applies = _applies(statement, source_ip)
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
