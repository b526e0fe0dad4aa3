"""The emulator's outgoing webhooks, pointed at the local router.

Every kintone source of the policy that refetches from an app, and that the template
routes, gets a webhook on that app in the emulator, the way an app administrator would
set one up in kintone: `POST /webhooks/<source>?token=<the source's secret>`. The URL
holds the secret, so only the source, the app and the secret's name are ever shown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from botocore.exceptions import BotoCoreError, ClientError

from kintone_emulator.webhooks import EVENTS, Webhooks
from sekisho.errors import ConfigurationError
from sekisho.policy.model import Policy
from webhook_senders import sign

from .errors import SecretsFileError
from .routing import RouteTable

KINTONE_SCHEME = "kintone"


@dataclass(frozen=True)
class KintoneWebhook:
    source: str
    app: int
    secret_name: str
    events: tuple[str, ...] = EVENTS

    @property
    def path(self) -> str:
        return _path(self.source)

    def describe(self) -> str:
        return (
            f"app {self.app} {'/'.join(self.events)} → {self.path} (token from {self.secret_name})"
        )


def _path(source: str) -> str:
    return f"/webhooks/{quote(source, safe='')}"


def routed_sources(policy: Policy, table: RouteTable) -> list[str]:
    """The policy's webhook sources that the template has a route for."""
    return [source for source in policy.webhooks if table.match("POST", _path(source))]


def kintone_webhooks(policy: Policy, table: RouteTable) -> list[KintoneWebhook]:
    """The kintone sources the emulator can notify: the app they refetch from is the app
    whose records they hear about."""
    routed = routed_sources(policy, table)
    return [
        KintoneWebhook(source, hook.refetch.app, hook.secret)
        for source, hook in policy.webhooks.items()
        if source in routed and hook.scheme == KINTONE_SCHEME and hook.refetch is not None
    ]


def read_secret(secretsmanager: Any, name: str) -> dict[str, Any]:
    """A secret's AWSCURRENT value, parsed; the error names the secret, never a value."""
    try:
        text = secretsmanager.get_secret_value(SecretId=name)["SecretString"]
    except (BotoCoreError, ClientError, KeyError) as exc:
        raise SecretsFileError(
            f"the secret {name} cannot be read from the local Secrets Manager "
            "(local/devstack/secrets.yaml must create it)"
        ) from exc
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise SecretsFileError(f"the secret {name} is not JSON") from None
    if not isinstance(value, dict):
        raise SecretsFileError(f"the secret {name} is not a JSON object")
    return value


def token_query(secret: Mapping[str, Any], name: str) -> dict[str, str]:
    """The query a kintone sender puts on the URL: the senders' own rule, not a copy."""
    try:
        return dict(sign(KINTONE_SCHEME, b"", secret, now=0).query)
    except (ConfigurationError, KeyError, ValueError, TypeError) as exc:
        # The senders read the secret's keys directly; a wrong shape is a KeyError there.
        raise SecretsFileError(f"the secret {name} is not a kintone webhook token") from exc


def register_kintone_webhooks(
    webhooks: Webhooks,
    secretsmanager: Any,
    router_url: str,
    hooks: Sequence[KintoneWebhook],
) -> None:
    for hook in hooks:
        query = token_query(read_secret(secretsmanager, hook.secret_name), hook.secret_name)
        # Kept across an emulator reset: it is part of the stack, like the seed.
        webhooks.register(
            hook.app, f"{router_url}{hook.path}?{urlencode(query)}", hook.events, keep_on_reset=True
        )
