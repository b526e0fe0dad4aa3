"""DeliverFunction: IntakeQueue -> kintone, each submission once."""

from __future__ import annotations

import functools

from sekisho import runtime
from sekisho.entries.ledger import EntryLedger
from sekisho.intake.attachments import S3AttachmentStore
from sekisho.intake.delivery import DeliverService
from sekisho.intake.upload_objects import S3UploadObjects
from sekisho.redelivery import SqsVisibility
from sekisho.secrets.aws import SecretsManagerBackend
from sekisho.secrets.store import SecretStore


@functools.cache
def deliver_service() -> DeliverService:
    current = runtime.settings()
    bucket, entries = runtime.required("attachment_bucket", "entries_table")
    # Only the forms' add-only tokens: the deliverer has no CAPTCHA and no guard.
    tokens = frozenset(form.token_secret for form in runtime.policy().forms.values())
    store = SecretStore(SecretsManagerBackend(), allowed=tokens)
    return DeliverService(
        runtime.policy(),
        store.token_source,
        runtime.kintone_base_url(),
        attachments=S3AttachmentStore(bucket),
        visibility=SqsVisibility(),
        uploads=S3UploadObjects(bucket),
        min_backoff_seconds=current.deliver_min_backoff_seconds,
        entries=EntryLedger(entries),
        max_receives=current.deliver_max_receives,
    )
