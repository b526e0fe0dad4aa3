"""The versions of one secret, as rotation reads and moves them.

A thin adapter over the Secrets Manager client: every read names its version stage (moto,
the local stack, does not move its default version when a label moves, so a read without
``VersionStage`` can return a stale value), values are JSON objects, and every failure
becomes a typed :class:`~sekisho.rotation.errors.RotationError` carrying the AWS error
code, never a value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sekisho import aws
from sekisho.secrets.value import json_object

from .errors import SecretShapeInvalid, SecretsManagerFailed

CURRENT = "AWSCURRENT"
PENDING = "AWSPENDING"
PREVIOUS = "AWSPREVIOUS"
# A custom label, not AWSPENDING: Secrets Manager gives AWSPENDING to the version of the
# rotation in progress, and an operator's staged value must not be mistaken for one.
STAGED = "SEKISHO_STAGED"

Value = dict[str, Any]
_ABSENT = frozenset({"ResourceNotFoundException"})


@dataclass(frozen=True)
class SecretMetadata:
    """What DescribeSecret says about a secret: its name, whether rotation is on, and the
    staging labels of each version."""

    arn: str
    name: str
    rotation_enabled: bool
    stages: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def version_with(self, stage: str) -> str | None:
        """The version carrying ``stage``; labels are unique per secret."""
        return next((v for v, labels in self.stages.items() if stage in labels), None)

    def labels(self, version_id: str) -> tuple[str, ...]:
        return self.stages.get(version_id, ())


def parse_value(raw: Any, name: str, where: str) -> Value:
    try:
        return json_object(raw)
    except ValueError as exc:
        raise SecretShapeInvalid(f"secret {name!r} ({where}) {exc}") from None


class SecretVersions:
    def __init__(self, client: Any) -> None:
        self._client = client

    @property
    def endpoint_url(self) -> str:
        return str(self._client.meta.endpoint_url)

    def describe(self, secret_id: str) -> SecretMetadata:
        answer = self._call(self._client.describe_secret, secret_id, SecretId=secret_id)
        stages = answer.get("VersionIdsToStages") or {}
        return SecretMetadata(
            arn=str(answer.get("ARN") or secret_id),
            name=str(answer.get("Name") or secret_id),
            rotation_enabled=answer.get("RotationEnabled") is True,
            stages={str(v): tuple(labels) for v, labels in stages.items()},
        )

    def read(self, secret_id: str, stage: str, version_id: str | None = None) -> Value | None:
        """The JSON object at ``stage`` (and ``version_id``), or None when there is none.

        An empty version (the one Secrets Manager makes for a rotation before createSecret
        has stored a value) reads as None too: ResourceNotFoundException either way.
        """
        params: dict[str, Any] = {"SecretId": secret_id, "VersionStage": stage}
        if version_id is not None:
            params["VersionId"] = version_id
        try:
            answer = self._client.get_secret_value(**params)
        except ClientError as exc:
            if aws.error_code(exc) in _ABSENT:
                return None
            raise self._failed("GetSecretValue", secret_id, exc) from exc
        except BotoCoreError as exc:
            raise self._failed("GetSecretValue", secret_id, exc) from exc
        return parse_value(answer.get("SecretString"), secret_id, stage)

    def put(
        self,
        secret_id: str,
        value: Value,
        *,
        stages: list[str],
        version_id: str | None = None,
        rotation_token: str | None = None,
    ) -> str:
        """Store ``value`` as a new version with ``stages``; returns its version id.

        Secrets Manager moves each label in ``stages`` from whichever version had it.
        """
        params: dict[str, Any] = {
            "SecretId": secret_id,
            "SecretString": json.dumps(value, ensure_ascii=False),
            "VersionStages": stages,
        }
        if version_id is not None:
            params["ClientRequestToken"] = version_id
        if rotation_token is not None:
            params["RotationToken"] = rotation_token
        answer = self._call(self._client.put_secret_value, secret_id, **params)
        return str(answer.get("VersionId") or version_id)

    def move_stage(
        self,
        secret_id: str,
        stage: str,
        *,
        to_version: str | None = None,
        from_version: str | None = None,
    ) -> None:
        params: dict[str, Any] = {"SecretId": secret_id, "VersionStage": stage}
        if to_version is not None:
            params["MoveToVersionId"] = to_version
        if from_version is not None:
            params["RemoveFromVersionId"] = from_version
        self._call(self._client.update_secret_version_stage, secret_id, **params)

    def enable_rotation_without_function(self, secret_id: str, *, days: int) -> None:
        """Turn rotation on where no rotation function can be invoked (moto, the local
        stack): see ``ensure_rotation_enabled`` in local/devstack/rotation_driver.py for
        why this is safe there and never used against AWS."""
        self._call(
            self._client.rotate_secret,
            secret_id,
            SecretId=secret_id,
            RotationRules={"AutomaticallyAfterDays": days},
            RotateImmediately=False,
        )

    # -- internals -----------------------------------------------------------------

    def _call(
        self, method: Callable[..., dict[str, Any]], secret_id: str, **params: Any
    ) -> dict[str, Any]:
        try:
            return method(**params)
        except (ClientError, BotoCoreError) as exc:
            operation = getattr(exc, "operation_name", None) or method.__name__
            raise self._failed(operation, secret_id, exc) from exc

    @staticmethod
    def _failed(
        operation: str, secret_id: str, exc: ClientError | BotoCoreError
    ) -> SecretsManagerFailed:
        code = aws.error_code(exc)
        return SecretsManagerFailed(f"{operation} on {secret_id!r} failed: {code}", aws_code=code)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
