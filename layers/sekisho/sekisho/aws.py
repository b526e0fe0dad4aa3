"""The one place sekisho builds boto3 clients, each service with its botocore Config.

A function holds one client per service for the container's life (:func:`client`);
boto3 honours AWS_ENDPOINT_URL, which is how the local stack points every client at
moto. Every timeout is short on purpose: a lookup or a submission waits on these calls,
and Lambda's defaults (60 s) would outlast API Gateway's 29 s. The SDK's standard retry
mode retries throttling. An operator command, which runs once, takes a client of its own
(:func:`fresh_client`): tests start moto before they call one.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal

import boto3
from botocore import useragent
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# The services sekisho calls: each has its Config below, and boto3's stubs know each name.
Service = Literal["dynamodb", "secretsmanager", "sqs", "s3", "ssm", "sesv2"]


def _fail_fast(connect: float, read: float, attempts: int) -> Config:
    return Config(
        connect_timeout=connect,
        read_timeout=read,
        retries={"mode": "standard", "max_attempts": attempts},
    )


CONFIGS: Mapping[Service, Config] = MappingProxyType(
    {
        # The guard's counters and, on the same client, the idempotency records and the
        # webhook and action ledgers: on every request's path.
        "dynamodb": _fail_fast(1, 2, 3),
        # A lookup may already hold the token (stale-if-error): the store decides.
        "secretsmanager": _fail_fast(2, 5, 3),
        # The outbox and the webhook queue: a 503 answer beats a timed-out one.
        "sqs": _fail_fast(2, 5, 3),
        # Signature V4 and virtual hosts named: a presigned POST (direct uploads) would
        # otherwise be signed with V2, which S3 refuses in newer regions, and point at the
        # global endpoint, which redirects a new bucket's POSTs for a day. (An endpoint
        # given as an IP address, moto's, still gets path-style URLs.)
        "s3": _fail_fast(2, 5, 3).merge(
            Config(signature_version="s3v4", s3={"addressing_style": "virtual"})
        ),
        # The kill switch, read at most every 30 s by a request that waits for it.
        "ssm": _fail_fast(1, 2, 2),
        # A sign-in code's mail, inside the code request's timing floor.
        "sesv2": _fail_fast(1, 3, 2),
    }
)


@functools.cache
def _remember_user_agent_components() -> None:
    # botocore builds each call's User-Agent twice, sanitising every component of it one
    # character at a time: about a sixth of a DynamoDB call's CPU in the client. The
    # function is pure and its inputs are the same few strings for a container's life.
    sanitize = useragent.sanitize_user_agent_string_component
    if not hasattr(sanitize, "cache_info"):
        useragent.sanitize_user_agent_string_component = functools.lru_cache(256)(sanitize)


def fresh_client(service: Service) -> Any:
    """A new client for ``service`` with its Config (a ``KeyError`` for a service sekisho
    does not use: a new one gets its Config here first)."""
    _remember_user_agent_components()
    return boto3.client(service, config=CONFIGS[service])


# What client() built, so that SnapStart's hooks can close their connections.
_built: list[Any] = []


@functools.cache
def client(service: Service) -> Any:
    """The container's one client for ``service``."""
    made = fresh_client(service)
    _built.append(made)
    return made


def close_connections() -> None:
    """Close every pooled connection of the container's clients; each opens a new one at
    its next call (a container restored from a SnapStart snapshot holds none of its own)."""
    for made in _built:
        made._endpoint.http_session.close()


def error_code(exc: ClientError | BotoCoreError) -> str:
    """AWS's error code of a failed call (``ThrottlingException``), else the exception's
    type (a connection error has no code): what a log line or an error message names."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "ClientError")
    return type(exc).__name__
