"""Direct uploads: ``POST /forms/{form}/uploads`` signs one S3 POST into the quarantine,
and a submission naming the upload is accepted only once its object is checked.

The route goes through the same gates as the form (the route switch, a per-IP guard with
a scope of its own, the body checked against the field), then answers a presigned POST
for one exact key, size, type and metadata, valid for ten minutes. The browser sends the
file to S3 itself: the bytes never pass through API Gateway or a Lambda's payload.

A submission naming uploads is checked synchronously, so a PNG sent as a PDF is refused
with 400 before anything is queued: each object must exist under the form's quarantine,
be the field's, have a declared type and a size within the field's limit, and start with
that type's magic bytes. The deliverer then reads every byte again
(:mod:`sekisho.intake.upload_delivery`) before kintone sees them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sekisho import aws
from sekisho.audit import audit
from sekisho.errors import (
    ConfigurationError,
    NotFound,
    RateLimited,
    RouteDisabled,
    ValidationFailed,
)
from sekisho.forms.files import bytes_match, clean_filename
from sekisho.forms.problems import FieldProblem
from sekisho.forms.uploads import UPLOAD_ID_BYTES, UploadRef, parse_upload_request
from sekisho.policy.constants import CONTENT_TYPE_EXTENSIONS
from sekisho.policy.rate import Rate
from sekisho.switches import RouteSwitches

from .errors import OutboxUnavailable, UploadsUnavailable
from .message import QueuedAttachment
from .upload_objects import (
    META_FIELD,
    META_NAME,
    META_SHA256,
    UPLOAD_EXPIRES_SECONDS,
    UploadObjects,
    meta_name,
    name_from_meta,
    upload_key,
)

if TYPE_CHECKING:
    from sekisho.forms import Submission
    from sekisho.guard.guard import Guard
    from sekisho.policy import FormField, FormPolicy, Policy

    from .outbox import Outbox
    from .request import IntakeRequest

logger = logging.getLogger(__name__)

# Under the forms' "form:" prefix (the intake role's DynamoDB condition), apart from the
# submissions' own counter.
UPLOAD_SCOPE_SUFFIX = "#upload"
_SHA256_CHARACTERS = frozenset("0123456789abcdef")
_NO_SUCH_UPLOAD = "names no upload of this field (never sent, expired or already used)"


@dataclass(frozen=True)
class UploadGrant:
    upload: str
    url: str
    fields: dict[str, str]
    expires_at: str

    def body(self) -> dict[str, Any]:
        return {
            "upload": self.upload,
            "url": self.url,
            "fields": self.fields,
            "expires_at": self.expires_at,
        }


def upload_rate(form: FormPolicy) -> Rate:
    """The form's per-IP rate, once for every file a submission may upload directly."""
    slots = sum(f.file_limit for f in form.fields.values() if f.upload == "direct")
    rate = form.guard.per_ip
    return Rate(rate.count * max(1, slots), rate.window_seconds)


def _new_id() -> str:
    return secrets.token_urlsafe(UPLOAD_ID_BYTES)


class UploadService:
    def __init__(
        self,
        policy: Policy,
        guard: Guard,
        objects: UploadObjects,
        *,
        switches: RouteSwitches | None = None,
        new_id: Callable[[], str] = _new_id,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._policy = policy
        self._guard = guard
        self._objects = objects
        self._switches = switches or RouteSwitches()
        self._new_id = new_id
        self._now = now

    def grant(self, request: IntakeRequest) -> UploadGrant:
        outcome, field, size = "failed", None, None
        scope = f"form:{request.form}{UPLOAD_SCOPE_SUFFIX}"
        try:
            form = self._policy.form(request.form)
            self._switches.check("forms", request.form, enabled=form.enabled)
            # A route's `when:` checks (opening window, networks) belong here, before the
            # guard counts the request.
            if not self._guard.allow_request(scope, request.client_ip, upload_rate(form)):
                outcome = "rate_limited"
                raise RateLimited("try again later")
            upload = parse_upload_request(form, request.body)
            field, size = upload.name, upload.size
            upload_id = self._new_id()
            metadata = {META_FIELD: upload.name, META_NAME: meta_name(upload.filename)}
            if upload.sha256 is not None:
                metadata[META_SHA256] = upload.sha256
            with _quarantine("sign an upload"):
                post = self._objects.presign(
                    upload_key(request.form, upload_id),
                    size=upload.size,
                    content_type=upload.content_type,
                    metadata=metadata,
                )
            expires = datetime.fromtimestamp(self._now() + UPLOAD_EXPIRES_SECONDS, UTC)
            outcome = "granted"
            return UploadGrant(
                upload_id, post.url, dict(post.fields), expires.strftime("%Y-%m-%dT%H:%M:%SZ")
            )
        except NotFound:
            outcome = "unknown_form"
            raise
        except RouteDisabled:
            outcome = "route_disabled"
            raise
        except ValidationFailed:
            outcome = "invalid"
            raise
        finally:
            audit(
                "upload",
                # The form's route: the grant is a step of its submission, no record yet.
                route=f"form:{request.form}",
                caller="anonymous",
                form=request.form,
                outcome=outcome,
                client_ip=request.client_ip,
                field=field,
                size=size,
            )


# ------------------------------------------------------------------- the submission


def checked_uploads(
    objects: UploadObjects | None, form_name: str, form: FormPolicy, refs: tuple[UploadRef, ...]
) -> tuple[QueuedAttachment, ...]:
    """What the intake calls: nothing to do without uploads, a misconfiguration without a
    store, else :func:`check_uploads`."""
    if not refs:
        return ()
    if objects is None:
        raise ConfigurationError(f"form {form_name!r} declares direct uploads: no store is set")
    return check_uploads(objects, form_name, form, refs)


def queue_with_uploads(
    objects: UploadObjects | None,
    outbox: Outbox,
    *,
    form_name: str,
    form: FormPolicy,
    receipt: str,
    submission: Submission,
    uploads: tuple[QueuedAttachment, ...],
) -> None:
    """Claim the uploads, then queue the submission with them; a submission the queue
    refuses gives its uploads back, so the browser's retry finds them unclaimed."""
    if objects is None:
        raise ConfigurationError(f"form {form_name!r} declares direct uploads: no store is set")
    claim_uploads(objects, form, uploads)
    try:
        outbox.put(
            receipt=receipt,
            form=form_name,
            record=submission.record,
            files=submission.attachments,
            uploads=uploads,
        )
    except OutboxUnavailable:
        release_uploads(objects, uploads)
        raise


def check_uploads(
    objects: UploadObjects, form_name: str, form: FormPolicy, refs: tuple[UploadRef, ...]
) -> tuple[QueuedAttachment, ...]:
    """The queued attachments of a submission's uploads, each object checked; otherwise
    :class:`~sekisho.errors.ValidationFailed` with one error per refused field."""
    checked: list[QueuedAttachment] = []
    errors: dict[str, dict[str, str]] = {}
    for ref in refs:
        if ref.name in errors:
            continue
        try:
            checked.append(_check(objects, form_name, form.fields[ref.name], ref))
        except FieldProblem as problem:
            errors[ref.name] = {
                "pointer": f"/fields/{ref.name}",
                "code": problem.code,
                "detail": problem.detail,
            }
    if errors:
        raise ValidationFailed("the form's fields are not valid", errors=list(errors.values()))
    return tuple(checked)


def claim_uploads(
    objects: UploadObjects, form: FormPolicy, uploads: tuple[QueuedAttachment, ...]
) -> None:
    """Claim each checked upload for the submission about to be queued (after the CAPTCHA
    and the budget, so a refused try leaves the uploads free for the next one)."""
    names = {f.code: name for name, f in form.fields.items()}
    for item in uploads:
        with _quarantine("claim an upload"):
            fresh = objects.claim(item.s3_key)
        if not fresh:
            # One upload, one record: a second submission naming it is refused here.
            pointer = f"/fields/{names.get(item.field, item.field)}"
            raise ValidationFailed(
                "the form's fields are not valid",
                errors=[{"pointer": pointer, "code": "upload", "detail": _NO_SUCH_UPLOAD}],
            )


def release_uploads(objects: UploadObjects, uploads: tuple[QueuedAttachment, ...]) -> None:
    """Best effort: the submission was not accepted (the outbox failed), so the browser's
    retry must find its uploads free. One left claimed expires with the claimed ones."""
    for item in uploads:
        try:
            objects.release(item.s3_key)
        except (ClientError, BotoCoreError) as exc:
            logger.warning("upload left claimed", extra={"error_code": aws.error_code(exc)})


def _check(
    objects: UploadObjects, form_name: str, spec: FormField, ref: UploadRef
) -> QueuedAttachment:
    key = upload_key(form_name, ref.upload_id)
    with _quarantine("read an upload"):
        head = objects.head(key)
    # Another field's upload is as absent as one never sent: an id is not a capability
    # for every field of the form.
    if head is None or head.metadata.get(META_FIELD) != ref.name:
        raise FieldProblem("upload", _NO_SUCH_UPLOAD)
    max_bytes = spec.max_bytes or 0
    if not 1 <= head.size <= max_bytes:
        raise FieldProblem("file_size", f"the upload must be 1 to {max_bytes} bytes")
    content_type = head.content_type.split(";", 1)[0].strip().lower()
    allowed = spec.content_types or ()
    if content_type not in allowed:
        raise FieldProblem("file_type", f"the upload must be one of: {', '.join(allowed)}")
    filename = _filename(head.metadata.get(META_NAME))
    if os.path.splitext(filename)[1].lower() not in CONTENT_TYPE_EXTENSIONS[content_type]:
        raise FieldProblem("file_name", f"the upload's name does not fit a {content_type} file")
    sha256 = head.metadata.get(META_SHA256) or None
    if sha256 is not None and (len(sha256) != 64 or not set(sha256) <= _SHA256_CHARACTERS):
        raise FieldProblem("upload", _NO_SUCH_UPLOAD)
    with _quarantine("read an upload"):
        first = objects.first_bytes(key)
    if first is None:
        raise FieldProblem("upload", _NO_SUCH_UPLOAD)
    if not bytes_match(content_type, first):
        raise FieldProblem("file_type", f"the upload is not a {content_type} file")
    return QueuedAttachment(
        field=spec.code,
        filename=filename,
        content_type=content_type,
        size=head.size,
        sha256=sha256,
        s3_key=key,
        upload=ref.upload_id,
    )


def _filename(value: str | None) -> str:
    # Set by the signed POST from a checked name; checked again, as everything here is.
    try:
        return clean_filename(name_from_meta(value or ""))
    except (FieldProblem, UnicodeDecodeError):
        raise FieldProblem("upload", _NO_SUCH_UPLOAD) from None


@contextlib.contextmanager
def _quarantine(action: str) -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        logger.warning("upload quarantine unavailable", extra={"error_code": aws.error_code(exc)})
        raise UploadsUnavailable(f"could not {action} ({aws.error_code(exc)})") from exc
