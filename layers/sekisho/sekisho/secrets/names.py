"""Declared secret names and the names a stack keeps them under.

The policy names each secret once, for every deployment (``sekisho/kintone/deals-view``);
a stack keeps it under its own prefix, so several stacks can share one account and
region: with the prefix ``sekisho-dev`` the secret read and written is
``sekisho-dev/sekisho/kintone/deals-view``. The prefix is deployment, not policy: the
template passes it to every function as ``SEKISHO_SECRET_PREFIX`` (the stack name unless
its SecretNamePrefix parameter says otherwise), and unset or empty means no prefix.

Everything inside sekisho speaks declared names (the store's allowlist, errors, logs);
only the call to Secrets Manager uses the full name. :func:`declared_name` goes back the
other way, for what Secrets Manager itself names (the rotation function's event carries
the secret's ARN), and refuses a secret outside the prefix: another stack's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import SecretOutsidePrefix, SecretPrefixInvalid

if TYPE_CHECKING:
    pass

PREFIX_VARIABLE = "SEKISHO_SECRET_PREFIX"
PREFIX_OPTION = "--secret-prefix"
# Secrets Manager's name characters, in "/"-separated parts: no empty part, so no
# leading, trailing or doubled "/" (the template's SecretNamePrefix pattern is the same).
_PREFIX = re.compile(r"[A-Za-z0-9_+=.@-]+(/[A-Za-z0-9_+=.@-]+)*")
MAX_PREFIX_CHARS = 256
# arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<6 random characters>
_ARN = re.compile(
    r"arn:[a-z-]+:secretsmanager:[a-z0-9-]*:[0-9]*:secret:(?P<name>.+)-[A-Za-z0-9]{6}"
)


def check_prefix(value: str) -> str:
    """``value`` when it can prefix secret names ("" for none), else ValueError."""
    if value and (len(value) > MAX_PREFIX_CHARS or not _PREFIX.fullmatch(value)):
        raise ValueError(
            f"a secret name prefix is up to {MAX_PREFIX_CHARS} of A-Z a-z 0-9 _+=.@- in "
            "parts separated by single slashes, with none at either end"
        )
    return value


def secret_prefix(env: Mapping[str, str] | None = None) -> str:
    """The prefix ``SEKISHO_SECRET_PREFIX`` names ("" when unset or empty)."""
    return _checked((os.environ if env is None else env).get(PREFIX_VARIABLE, ""), PREFIX_VARIABLE)


def _checked(value: str, source: str) -> str:
    try:
        return check_prefix(value)
    except ValueError as exc:
        # The prefix is configuration, never a secret: it may be shown.
        raise SecretPrefixInvalid(f"{source} {value!r}: {exc}") from None


def resolve_prefix(prefix: str | None) -> str:
    """``prefix``, checked; None: the environment's (:func:`secret_prefix`)."""
    return secret_prefix() if prefix is None else _checked(prefix, "the secret name prefix")


def full_name(declared: str, prefix: str | None = None) -> str:
    """The name Secrets Manager keeps ``declared`` under (``prefix``: the environment's)."""
    chosen = resolve_prefix(prefix)
    return f"{chosen}/{declared}" if chosen else declared


def is_arn(secret: str) -> bool:
    return _ARN.fullmatch(secret) is not None


def declared_name(secret: str, prefix: str | None = None) -> str:
    """The declared name of a secret Secrets Manager names by its full name or its ARN.

    A secret outside the prefix is another stack's (or no stack's):
    :class:`SecretOutsidePrefix`, naming the secret and the prefix.
    """
    chosen = resolve_prefix(prefix)
    match = _ARN.fullmatch(secret)
    name = match.group("name") if match else secret
    if not chosen:
        return name
    declared = name.removeprefix(f"{chosen}/")
    if declared == name or not declared:
        raise SecretOutsidePrefix(
            f"secret {name!r} is not under this stack's secret name prefix {chosen!r}/"
        )
    return declared


def secret_id(secret: str, prefix: str | None = None) -> str:
    """What to send as ``SecretId`` for ``secret``: a declared name under the prefix, or
    an ARN as it is, once it is known to be under the prefix."""
    if is_arn(secret):
        declared_name(secret, prefix)
        return secret
    return full_name(secret, prefix)


class PrefixedSecretsManager:
    """A Secrets Manager client that takes and gives declared names.

    Every call's ``SecretId`` is resolved with :func:`secret_id`, and the ``Name`` of
    every answer is the declared one, so code written in declared names (rotation, the
    local stack's helpers) runs unchanged under any prefix. Anything else (``meta``,
    paginators) is the client's own.
    """

    def __init__(self, client: Any, prefix: str | None = None) -> None:
        self._client = client
        self.prefix = resolve_prefix(prefix)

    def __getattr__(self, attribute: str) -> Any:
        found = getattr(self._client, attribute)
        if (
            attribute.startswith("_")
            or attribute in ("meta", "get_paginator")
            or not callable(found)
        ):
            return found

        def call(*args: Any, **params: Any) -> Any:
            if isinstance(params.get("SecretId"), str):
                params["SecretId"] = secret_id(params["SecretId"], self.prefix)
            answer = found(*args, **params)
            if isinstance(answer, dict) and isinstance(answer.get("Name"), str):
                answer = {**answer, "Name": declared_name(answer["Name"], self.prefix)}
            return answer

        return call

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prefix={self.prefix!r})"


def prefixed(client: Any, prefix: str | None = None) -> PrefixedSecretsManager:
    """``client`` speaking declared names under ``prefix`` (None: the environment's)."""
    return PrefixedSecretsManager(client, prefix)
