"""The outbox: an accepted submission's files into the bucket, then its message queued.

The files go first, so a message on the queue always finds its files (objects left by a
failed send expire with the bucket's lifecycle rule); a failure of either step means the
submission was not accepted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sekisho import aws

from .attachments import AttachmentStore
from .errors import OutboxUnavailable
from .message import QueuedAttachment, QueuedSubmission, attachment_key, utc_now
from .queue import MessageQueue
from .reply_job import ReplyJob
from .writer import FileContent


class Outbox:
    def __init__(self, queue: MessageQueue, attachments: AttachmentStore) -> None:
        self._queue = queue
        self._attachments = attachments

    def put(
        self,
        *,
        receipt: str,
        form: str,
        record: Mapping[str, Any],
        files: Iterable[FileContent],
        uploads: Iterable[QueuedAttachment] = (),
        language: str | None = None,
    ) -> QueuedSubmission:
        """Store the files, then queue the message. Raises :class:`OutboxUnavailable`
        when either step fails: the submission was then not accepted. ``uploads`` (checked
        direct uploads) are already in the bucket and follow the files in the message."""
        queued: list[QueuedAttachment] = []
        try:
            for index, item in enumerate(files):
                key = attachment_key(receipt, index)
                self._attachments.put(key, item.data)
                queued.append(
                    QueuedAttachment(
                        field=item.field,
                        filename=item.filename,
                        content_type=item.content_type,
                        size=len(item.data),
                        sha256=hashlib.sha256(item.data).hexdigest(),
                        s3_key=key,
                    )
                )
            queued.extend(uploads)
            message = QueuedSubmission(
                receipt, form, dict(record), tuple(queued), utc_now(), language
            )
            self._queue.send(message.to_json(), receipt)
        except (ClientError, BotoCoreError) as exc:
            raise OutboxUnavailable(
                f"the submission could not be queued ({aws.error_code(exc)})"
            ) from exc
        return message

    def put_reply(self, job: ReplyJob) -> None:
        """Queue a confirmation mail; :class:`OutboxUnavailable` when SQS does not take it."""
        try:
            self._queue.send(job.to_json(), job.receipt)
        except (ClientError, BotoCoreError) as exc:
            raise OutboxUnavailable(
                f"the reply could not be queued ({aws.error_code(exc)})"
            ) from exc
