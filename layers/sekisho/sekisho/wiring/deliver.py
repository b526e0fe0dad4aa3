"""DeliverFunction: IntakeQueue -> kintone, each submission once, then its mail once."""

from __future__ import annotations

import functools

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from sekisho import aws, runtime
from sekisho.aws import Service
from sekisho.entries.ledger import EntryLedger
from sekisho.intake.attachments import S3AttachmentStore
from sekisho.intake.delivery import DeliverService
from sekisho.intake.reply import Replies
from sekisho.intake.upload_objects import S3UploadObjects
from sekisho.mail.sender import SesMailer
from sekisho.redelivery import BatchedSqsVisibility
from sekisho.secrets.aws import SecretsManagerBackend
from sekisho.secrets.store import SecretStore

# The AWS services this function's role may call (template.yaml), so its clients: with
# SnapStart, built by the init into the snapshot (snapstart.prepare), not by a request.
AWS_SERVICES: tuple[Service, ...] = ("dynamodb", "s3", "secretsmanager", "sesv2", "sqs")


def replies() -> Replies | None:
    """The confirmation mail's sender, when a form of the policy has ``reply:``."""
    if not any(form.reply is not None for form in runtime.policy().forms.values()):
        return None
    current = runtime.settings()
    mail_from, table = runtime.required("mail_from_address", "idempotency_table")
    persistence = DynamoDBPersistenceLayer(table_name=table, boto3_client=aws.client("dynamodb"))
    mailer = SesMailer(mail_from, configuration_set=current.mail_configuration_set)
    return Replies(mailer, persistence)


@functools.cache
def visibility() -> BatchedSqsVisibility:
    """The failed messages' delays of a batch, sent together when the handler flushes."""
    return BatchedSqsVisibility()


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
        visibility=visibility(),
        uploads=S3UploadObjects(bucket),
        min_backoff_seconds=current.deliver_min_backoff_seconds,
        entries=EntryLedger(entries),
        max_receives=current.deliver_max_receives,
        replies=replies(),
    )
