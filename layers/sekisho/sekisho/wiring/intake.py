"""IntakeFunction: ``POST /forms/{form}``, into IntakeQueue."""

from __future__ import annotations

import dataclasses
import functools

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from sekisho import aws, runtime
from sekisho.aws import Service
from sekisho.entries.facts import FormFacts
from sekisho.entries.ledger import EntryLedger
from sekisho.entries.status import ReceiptStatus
from sekisho.http.resolver import HttpSettings
from sekisho.intake.attachments import S3AttachmentStore
from sekisho.intake.captcha import SiteverifyCaptcha
from sekisho.intake.idempotency import Idempotency
from sekisho.intake.outbox import Outbox
from sekisho.intake.queue import SqsQueue
from sekisho.intake.receipts import normalize_receipt
from sekisho.intake.service import IntakeService
from sekisho.intake.upload_objects import S3UploadObjects
from sekisho.intake.uploads import UploadService
from sekisho.secrets.aws import SecretsManagerBackend
from sekisho.secrets.store import SecretStore
from sekisho.settings import Settings

from .guarded import guard
from .routes import http_settings, route_switches

# The AWS services this function's role may call (template.yaml), so its clients: with
# SnapStart, built by the init into the snapshot (snapstart.prepare), not by a request.
AWS_SERVICES: tuple[Service, ...] = ("dynamodb", "s3", "secretsmanager", "sqs", "ssm")


def intake_http_settings() -> HttpSettings:
    """The form route also takes a CAPTCHA token header from browsers (CORS)."""
    return dataclasses.replace(
        http_settings(), allow_headers=("Idempotency-Key", "X-Captcha-Token")
    )


def intake_secret_names(current: Settings) -> frozenset[str]:
    """The add-only token secrets and CAPTCHA secrets the forms name (``secret_names``
    lists both), and the guard's hash key: nothing else, least of all a view's token."""
    return runtime.policy().secret_names("forms") | {current.guard_hash_key_secret}


@functools.cache
def _secrets() -> SecretStore:
    return SecretStore(SecretsManagerBackend(), allowed=intake_secret_names(runtime.settings()))


@functools.cache
def _entries() -> EntryLedger:
    (table,) = runtime.required("entries_table")
    return EntryLedger(table)


@functools.cache
def intake_service() -> IntakeService:
    return build_intake_service(_secrets())


def build_intake_service(store: SecretStore, *, captcha: bool = True) -> IntakeService:
    """The intake over ``store``: IntakeFunction's, or PartnerFunction's (whose store
    holds no CAPTCHA secret: a partner's signature stands in for the CAPTCHA)."""
    current = runtime.settings()
    table, queue, bucket, idempotency = runtime.required(
        "guard_table", "intake_queue_url", "attachment_bucket", "idempotency_table"
    )
    # The guard's DynamoDB client, fail-fast timeouts and all: the idempotency table is read
    # and written on every submission too, and one client is one less to build.
    persistence = DynamoDBPersistenceLayer(
        table_name=idempotency, boto3_client=aws.client("dynamodb")
    )
    return IntakeService(
        runtime.policy(),
        store.token_source,
        guard(store, current, table),
        runtime.kintone_base_url(),
        outbox=Outbox(SqsQueue(queue), S3AttachmentStore(bucket)),
        idempotency=Idempotency(persistence),
        captcha=SiteverifyCaptcha(store.get) if captcha else None,
        switches=route_switches(),
        entries=_entries(),
        uploads=S3UploadObjects(bucket),
    )


@functools.cache
def form_facts() -> FormFacts:
    """GET /forms/{form}: the entries table only (no secret, no kintone, no guard)."""
    return FormFacts(runtime.policy(), _entries(), route_switches())


@functools.cache
def receipt_status() -> ReceiptStatus:
    current = runtime.settings()
    (table,) = runtime.required("guard_table")
    return ReceiptStatus(
        runtime.policy(),
        _entries(),
        guard(_secrets(), current, table),
        route_switches(),
        normalize=normalize_receipt,
    )


@functools.cache
def upload_service() -> UploadService:
    """``POST /forms/{form}/uploads``: the forms' guard and switches, the quarantine."""
    current = runtime.settings()
    table, bucket = runtime.required("guard_table", "attachment_bucket")
    return UploadService(
        runtime.policy(),
        guard(_secrets(), current, table),
        S3UploadObjects(bucket),
        switches=route_switches(),
    )
