"""API tokens in the local kintone, for demonstrating a token renewal end to end.

kintone has no API to create or delete app API tokens: an administrator does both in the
app's settings. The emulator stands in for that administrator through its admin API
(`/_emulator/tokens`), so on the local stack the whole order of operations can be played:

1. `python -m devstack kintone-token --app 2 --permissions add` creates a token, the way
   an administrator would in kintone, and prints it once on standard output, to be piped
   into `sekisho token stage <secret>` (a demo token that works only in this emulator);
2. `make rotate SECRET=<secret>` tests it and makes it current;
3. `python -m devstack retire-token <secret>` deletes the token the rotation retired
   (AWSPREVIOUS) from the emulator, without ever showing it.

Secrets are named by their declared names; `prefix` is the stack's secret name prefix
they are kept under in moto ("" for none). Nothing here logs a token, and no error text
carries one.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

import requests
from botocore.exceptions import BotoCoreError, ClientError

from sekisho.secrets.names import full_name

from .demo_secrets import KINTONE_TOKEN
from .errors import DevstackError

ADMIN_TOKENS = "/_emulator/tokens"
TIMEOUT_SECONDS = 10
PREVIOUS = "AWSPREVIOUS"
CURRENT = "AWSCURRENT"
# What kintone's settings screen generates: 40 letters and digits.
TOKEN_CHARS = 40
_ALPHABET = string.ascii_letters + string.digits
_ABSENT = "ResourceNotFoundException"


class KintoneTokenError(DevstackError):
    """A token cannot be created or retired; the message never holds a token."""


@dataclass(frozen=True)
class Retired:
    secret: str
    stage: str
    deleted: bool  # False: the emulator no longer had it


def new_token_value() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(TOKEN_CHARS))


def _admin(
    http: requests.Session, method: str, kintone_url: str, body: dict[str, Any]
) -> requests.Response:
    try:
        return http.request(
            method, f"{kintone_url}{ADMIN_TOKENS}", json=body, timeout=TIMEOUT_SECONDS
        )
    except requests.RequestException as exc:
        # Not the exception's text: a body holding a token could be quoted in it one day.
        raise KintoneTokenError(
            f"the kintone emulator at {kintone_url} cannot be reached ({type(exc).__name__}): "
            "is the stack running?"
        ) from exc


def _refusal(answer: requests.Response) -> str:
    """The admin API's own reason (it never repeats a token), else the status."""
    try:
        message = answer.json().get("message")
    except (ValueError, AttributeError):
        message = None
    return message if isinstance(message, str) else f"HTTP {answer.status_code}"


def create_token(
    http: requests.Session, kintone_url: str, app: int, permissions: Collection[str]
) -> str:
    """A fresh, active token of `app` with exactly `permissions`, made in the emulator."""
    token = new_token_value()
    answer = _admin(
        http,
        "POST",
        kintone_url,
        {"token": token, "app": app, "permissions": sorted(permissions), "active": True},
    )
    if answer.status_code != requests.codes.ok:
        raise KintoneTokenError(f"the emulator refused the token: {_refusal(answer)}")
    return token


def _value(secretsmanager: Any, name: str, stage: str) -> dict[str, Any] | None:
    """The JSON object at `stage` of `name`, or None when there is no such version."""
    try:
        text = secretsmanager.get_secret_value(SecretId=name, VersionStage=stage)["SecretString"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == _ABSENT:
            return None
        raise KintoneTokenError(f"{stage} of {name} cannot be read from moto") from exc
    except (BotoCoreError, KeyError) as exc:
        raise KintoneTokenError(f"{stage} of {name} cannot be read from moto") from exc
    try:
        value = json.loads(text)
    except ValueError:
        # Not chained: the decode error keeps the whole document, the secret.
        raise KintoneTokenError(f"{stage} of {name} is not JSON") from None
    return value if isinstance(value, dict) else None


def _token_of(value: dict[str, Any] | None) -> str | None:
    if value is None or value.get("kind") != KINTONE_TOKEN:
        return None
    token = value.get("token")
    return token if isinstance(token, str) and token else None


def _secret_names(secretsmanager: Any) -> Iterator[str]:
    try:
        for page in secretsmanager.get_paginator("list_secrets").paginate():
            for entry in page.get("SecretList", []):
                yield str(entry["Name"])
    except (BotoCoreError, ClientError) as exc:
        raise KintoneTokenError("the secrets cannot be listed from moto") from exc


def _shown(name: str, prefix: str) -> str:
    """A secret as the operator names it: declared when under the prefix, else in full."""
    declared = name.removeprefix(f"{prefix}/") if prefix else name
    return declared or name


def holders(secretsmanager: Any, token: str, prefix: str = "") -> list[str]:
    """Every secret whose AWSCURRENT is this token: deleting it would break their routes
    (a secret of another prefix too, named in full)."""
    return [
        _shown(name, prefix)
        for name in _secret_names(secretsmanager)
        if _token_of(_value(secretsmanager, name, CURRENT)) == token
    ]


def retire_token(
    secretsmanager: Any,
    http: requests.Session,
    kintone_url: str,
    secret: str,
    *,
    stage: str = PREVIOUS,
    prefix: str = "",
) -> Retired:
    """Delete from the emulator the kintone token that `secret` (a declared name, kept
    under `prefix`) holds at `stage`, unless some secret still holds it as AWSCURRENT."""
    value = _value(secretsmanager, full_name(secret, prefix), stage)
    if value is None:
        raise KintoneTokenError(
            f"{secret} has no {stage} version: is the name right, and was it rotated?"
        )
    token = _token_of(value)
    if token is None:
        raise KintoneTokenError(f"{stage} of {secret} is not a {KINTONE_TOKEN} with a token")
    still_used = holders(secretsmanager, token, prefix)
    if still_used:
        raise KintoneTokenError(
            f"the {stage} token of {secret} is still AWSCURRENT of {', '.join(still_used)}: "
            "not deleted (rotate those first)"
        )
    answer = _admin(http, "DELETE", kintone_url, {"token": token})
    if answer.status_code == requests.codes.ok:
        return Retired(secret, stage, deleted=True)
    if answer.status_code == requests.codes.bad_request:
        # The admin API's only refusal of a well-formed delete: no such token (any more).
        return Retired(secret, stage, deleted=False)
    raise KintoneTokenError(f"the emulator refused the deletion: {_refusal(answer)}")
