"""The attachment bucket: an accepted submission's files, until its record has them.

``S3AttachmentStore`` for AWS and ``InMemoryAttachmentStore``, its twin in tests; both
fail with botocore's exceptions.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Protocol

from botocore.exceptions import ClientError

from sekisho import aws

from .queue import failure

# S3 answers 403 rather than 404 for a missing key when the caller may not list the
# bucket; the deliverer's role may not, on purpose, so both mean "absent".
_ABSENT_CODES = frozenset({"NoSuchKey", "404", "NotFound", "AccessDenied", "403"})


class AttachmentStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, keys: Sequence[str]) -> None: ...


class S3AttachmentStore:
    """Objects in the attachment bucket; the bucket's default encryption applies."""

    def __init__(self, bucket: str, client: Any = None) -> None:
        self._bucket = bucket
        self._client = client

    @property
    def _s3(self) -> Any:
        return self._client or aws.client("s3")

    def put(self, key: str, data: bytes) -> None:
        # Served to nobody; the type stays opaque so no viewer ever renders it.
        self._s3.put_object(
            Bucket=self._bucket, Key=key, Body=data, ContentType="application/octet-stream"
        )

    def get(self, key: str) -> bytes | None:
        try:
            response = self._s3.get_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if aws.error_code(exc) in _ABSENT_CODES:
                return None
            raise
        data: bytes = response["Body"].read()
        return data

    def exists(self, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if aws.error_code(exc) in _ABSENT_CODES:
                return False
            raise
        return True

    def delete(self, keys: Sequence[str]) -> None:
        if keys:
            self._s3.delete_objects(
                Bucket=self._bucket,
                Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
            )


class InMemoryAttachmentStore:
    """The twin of :class:`S3AttachmentStore`. Set ``fail`` to make every call fail."""

    def __init__(self) -> None:
        self.fail = False
        self._lock = threading.Lock()
        self._objects: dict[str, bytes] = {}

    def put(self, key: str, data: bytes) -> None:
        with self._lock:
            self._check("PutObject")
            self._objects[key] = bytes(data)

    def get(self, key: str) -> bytes | None:
        with self._lock:
            self._check("GetObject")
            return self._objects.get(key)

    def exists(self, key: str) -> bool:
        with self._lock:
            self._check("HeadObject")
            return key in self._objects

    def delete(self, keys: Sequence[str]) -> None:
        with self._lock:
            self._check("DeleteObjects")
            for key in keys:
                self._objects.pop(key, None)

    def keys(self) -> list[str]:
        with self._lock:
            return sorted(self._objects)

    def _check(self, operation: str) -> None:
        if self.fail:
            raise failure("ServiceUnavailable", operation)
