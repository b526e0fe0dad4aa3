"""The quarantine of direct uploads: ``uploads/<form>/<id>`` in the attachment bucket.

A browser writes an object there with a presigned POST whose conditions fix the key, the
size, the content type and the metadata (the browser field, the file name, the SHA-256 it
declared). Nothing there is trusted until checked: the intake reads the head and the
first bytes before it accepts a submission naming the object, the deliverer every byte
before kintone sees them. Unclaimed objects expire with the bucket's lifecycle rule.

``S3UploadObjects`` for AWS and ``InMemoryUploadObjects``, its twin in tests; both fail
with botocore's exceptions.
"""

from __future__ import annotations

import hashlib
import threading
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import ClientError

from sekisho import aws

from .queue import failure

UPLOAD_PREFIX = "uploads/"
# A presigned POST is good for ten minutes: long enough for a slow line to start a 100 MB
# upload, short enough that a leaked one is soon worthless.
UPLOAD_EXPIRES_SECONDS = 600
# Enough for every magic the direct types have (WebP's is at bytes 8-11).
HEAD_BYTES = 1024
_CHUNK = 1024 * 1024
# The intake and the deliverer may not list the bucket, so a missing key is 403 as well.
_ABSENT_CODES = frozenset({"NoSuchKey", "404", "NotFound", "AccessDenied", "403"})
_CHANGED_CODES = frozenset({"PreconditionFailed", "412"})
META_FIELD, META_NAME, META_SHA256 = "field", "name", "sha256"
# An upload is tagged unclaimed by its signed POST and expires after a day unless a
# submission claims it; a claimed one waits as long as a queued attachment does (the
# bucket's lifecycle rules), so a delivery held up by a long kintone outage finds it.
CLAIM_TAG = "sekisho"
UNCLAIMED, CLAIMED = "unclaimed", "claimed"


def _tagging_xml(value: str) -> str:
    tag = f"<Tag><Key>{CLAIM_TAG}</Key><Value>{value}</Value></Tag>"
    return f"<Tagging><TagSet>{tag}</TagSet></Tagging>"


def upload_key(form: str, upload_id: str) -> str:
    return f"{UPLOAD_PREFIX}{form}/{upload_id}"


def meta_name(filename: str) -> str:
    """A file name as S3 metadata holds it: percent-encoded, since metadata travels as
    HTTP headers (ASCII) and a Japanese name would not survive."""
    return urllib.parse.quote(filename, safe="")


def name_from_meta(value: str) -> str:
    return urllib.parse.unquote(value, errors="strict")


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: Mapping[str, str]


@dataclass(frozen=True)
class ObjectHead:
    size: int
    content_type: str
    metadata: Mapping[str, str]
    etag: str


@dataclass(frozen=True)
class ObjectDigest:
    """What a full read of an object found."""

    size: int
    sha256: str
    head: bytes
    etag: str


class UploadObjects(Protocol):
    def presign(
        self, key: str, *, size: int, content_type: str, metadata: Mapping[str, str]
    ) -> PresignedPost: ...

    def head(self, key: str) -> ObjectHead | None: ...

    def first_bytes(self, key: str, count: int = HEAD_BYTES) -> bytes | None: ...

    def digest(self, key: str) -> ObjectDigest | None:
        """Read the whole object once, holding only a chunk at a time."""
        ...

    def read(self, key: str, etag: str) -> bytes | None:
        """The object's bytes if it is still the one ``etag`` names, else None."""
        ...

    def delete(self, keys: Sequence[str]) -> None: ...

    def claim(self, key: str) -> bool:
        """Mark the object claimed by a submission; False when one already claimed it."""
        ...

    def release(self, key: str) -> None:
        """Undo a claim whose submission was not accepted after all."""
        ...


def _digest(chunks: Any, etag: str) -> ObjectDigest:
    hasher, size, head = hashlib.sha256(), 0, b""
    for chunk in chunks:
        hasher.update(chunk)
        size += len(chunk)
        if len(head) < HEAD_BYTES:
            head += chunk[: HEAD_BYTES - len(head)]
    return ObjectDigest(size, hasher.hexdigest(), head, etag)


class S3UploadObjects:
    """The quarantine prefix of the attachment bucket."""

    def __init__(self, bucket: str, client: Any = None) -> None:
        self._bucket = bucket
        self._client = client

    @property
    def _s3(self) -> Any:
        return self._client or aws.client("s3")

    def presign(
        self, key: str, *, size: int, content_type: str, metadata: Mapping[str, str]
    ) -> PresignedPost:
        meta = {f"x-amz-meta-{name}": value for name, value in metadata.items()}
        fields = {"Content-Type": content_type, "tagging": _tagging_xml(UNCLAIMED), **meta}
        # Exact values for every field: S3 refuses a POST whose form differs from the
        # signed policy (another key, size, type or metadata), and one with a field the
        # policy does not list. The size is exact too: the browser knows File.size, and an
        # object of the size that was checked against max_bytes leaves nothing to guess.
        conditions: list[Any] = [
            ["content-length-range", size, size],
            *({name: value} for name, value in fields.items()),
        ]
        answer = self._s3.generate_presigned_post(
            Bucket=self._bucket,
            Key=key,
            Fields=fields,
            Conditions=conditions,
            ExpiresIn=UPLOAD_EXPIRES_SECONDS,
        )
        return PresignedPost(str(answer["url"]), dict(answer["fields"]))

    def head(self, key: str) -> ObjectHead | None:
        try:
            answer = self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if aws.error_code(exc) in _ABSENT_CODES:
                return None
            raise
        return ObjectHead(
            size=int(answer["ContentLength"]),
            content_type=str(answer.get("ContentType") or ""),
            metadata={str(k).lower(): str(v) for k, v in (answer.get("Metadata") or {}).items()},
            etag=str(answer.get("ETag") or ""),
        )

    def first_bytes(self, key: str, count: int = HEAD_BYTES) -> bytes | None:
        try:
            answer = self._s3.get_object(Bucket=self._bucket, Key=key, Range=f"bytes=0-{count - 1}")
        except ClientError as exc:
            if aws.error_code(exc) in _ABSENT_CODES:
                return None
            raise
        data: bytes = answer["Body"].read(count)
        return data

    def digest(self, key: str) -> ObjectDigest | None:
        try:
            answer = self._s3.get_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if aws.error_code(exc) in _ABSENT_CODES:
                return None
            raise
        return _digest(answer["Body"].iter_chunks(_CHUNK), str(answer.get("ETag") or ""))

    def read(self, key: str, etag: str) -> bytes | None:
        try:
            # IfMatch: the bytes uploaded are the bytes that were checked, even if a
            # presigned POST still valid wrote the key again in between.
            answer = self._s3.get_object(Bucket=self._bucket, Key=key, IfMatch=etag)
        except ClientError as exc:
            if aws.error_code(exc) in _ABSENT_CODES | _CHANGED_CODES:
                return None
            raise
        data: bytes = answer["Body"].read()
        return data

    def claim(self, key: str) -> bool:
        # Not atomic: two submissions racing on one id within milliseconds could both
        # pass, and the second delivery then finds the object gone (upload_refused).
        tags = self._s3.get_object_tagging(Bucket=self._bucket, Key=key).get("TagSet") or []
        if {"Key": CLAIM_TAG, "Value": CLAIMED} in tags:
            return False
        self._s3.put_object_tagging(
            Bucket=self._bucket,
            Key=key,
            Tagging={"TagSet": [{"Key": CLAIM_TAG, "Value": CLAIMED}]},
        )
        return True

    def release(self, key: str) -> None:
        self._s3.put_object_tagging(
            Bucket=self._bucket,
            Key=key,
            Tagging={"TagSet": [{"Key": CLAIM_TAG, "Value": UNCLAIMED}]},
        )

    def delete(self, keys: Sequence[str]) -> None:
        if keys:
            self._s3.delete_objects(
                Bucket=self._bucket,
                Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
            )


@dataclass
class _Stored:
    data: bytes
    content_type: str
    metadata: dict[str, str]
    etag: str


@dataclass
class InMemoryUploadObjects:
    """The twin of :class:`S3UploadObjects`: ``store`` writes an object as a browser's
    POST would; ``presigned`` keeps what each presign was asked for. Set ``fail`` to make
    every call fail."""

    fail: bool = False
    presigned: list[dict[str, Any]] = field(default_factory=list)
    claimed: set[str] = field(default_factory=set)
    _objects: dict[str, _Stored] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def store(self, key: str, data: bytes, content_type: str, metadata: Mapping[str, str]) -> None:
        etag = '"' + hashlib.md5(data).hexdigest() + '"'  # noqa: S324 - S3's ETag, not a MAC
        with self._lock:
            self._objects[key] = _Stored(bytes(data), content_type, dict(metadata), etag)

    def keys(self) -> list[str]:
        with self._lock:
            return sorted(self._objects)

    def presign(
        self, key: str, *, size: int, content_type: str, metadata: Mapping[str, str]
    ) -> PresignedPost:
        self._check("PresignPost")
        self.presigned.append(
            {"key": key, "size": size, "content_type": content_type, "metadata": dict(metadata)}
        )
        fields = {"key": key, "Content-Type": content_type}
        fields |= {f"x-amz-meta-{name}": value for name, value in metadata.items()}
        return PresignedPost("https://attachments.s3.example/", fields)

    def head(self, key: str) -> ObjectHead | None:
        self._check("HeadObject")
        with self._lock:
            stored = self._objects.get(key)
        if stored is None:
            return None
        return ObjectHead(len(stored.data), stored.content_type, stored.metadata, stored.etag)

    def first_bytes(self, key: str, count: int = HEAD_BYTES) -> bytes | None:
        self._check("GetObject")
        with self._lock:
            stored = self._objects.get(key)
        return None if stored is None else stored.data[:count]

    def digest(self, key: str) -> ObjectDigest | None:
        self._check("GetObject")
        with self._lock:
            stored = self._objects.get(key)
        if stored is None:
            return None
        chunks = [stored.data[i : i + _CHUNK] for i in range(0, len(stored.data), _CHUNK)]
        return _digest(chunks, stored.etag)

    def read(self, key: str, etag: str) -> bytes | None:
        self._check("GetObject")
        with self._lock:
            stored = self._objects.get(key)
        return None if stored is None or stored.etag != etag else stored.data

    def claim(self, key: str) -> bool:
        self._check("PutObjectTagging")
        with self._lock:
            if key in self.claimed:
                return False
            self.claimed.add(key)
            return True

    def release(self, key: str) -> None:
        self._check("PutObjectTagging")
        with self._lock:
            self.claimed.discard(key)

    def delete(self, keys: Sequence[str]) -> None:
        self._check("DeleteObjects")
        with self._lock:
            for key in keys:
                self._objects.pop(key, None)

    def _check(self, operation: str) -> None:
        if self.fail:
            raise failure("ServiceUnavailable", operation)
