"""WebhookFunction: ``POST /webhooks/{source}``, verified, into WebhookQueue."""

from __future__ import annotations

import functools

from sekisho import runtime
from sekisho.aws import Service
from sekisho.secrets.aws import SecretsManagerBackend
from sekisho.secrets.store import SecretStore
from sekisho.webhooks.keys import SigningKeys
from sekisho.webhooks.queue import SqsEventQueue
from sekisho.webhooks.refetch import REFETCH_RETRY, REFETCH_TIMEOUTS, Refetcher
from sekisho.webhooks.service import DEDUPE_SECONDS, KEY_PREFIX, WebhookService

from .ledger import clients, run_once_in
from .routes import route_switches

# The AWS services this function's role may call (template.yaml), so its clients: with
# SnapStart, built by the init into the snapshot (snapstart.prepare), not by a request.
AWS_SERVICES: tuple[Service, ...] = ("dynamodb", "secretsmanager", "sqs", "ssm")


@functools.cache
def webhook_service() -> WebhookService:
    table, queue = runtime.required("guard_table", "webhook_queue_url")
    # The sources' own secrets and the refetch sources' view-only tokens: nothing else.
    store = SecretStore(SecretsManagerBackend(), allowed=runtime.policy().secret_names("webhooks"))
    return WebhookService(
        runtime.policy(),
        SigningKeys(store),
        SqsEventQueue(queue),
        # The dedupe records are Powertools idempotency records in the GuardTable, under
        # their own key prefix (the role may touch no other item there).
        run_once_in(table, KEY_PREFIX, DEDUPE_SECONDS),
        Refetcher(clients(store, REFETCH_RETRY, REFETCH_TIMEOUTS)),
        switches=route_switches(),
    )
