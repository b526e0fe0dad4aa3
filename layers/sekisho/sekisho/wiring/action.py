"""ActionFunction: WebhookQueue -> the declared kintone write of each verified event."""

from __future__ import annotations

import functools

from sekisho import runtime
from sekisho.actions.dead_letters import SqsDeadLetters
from sekisho.actions.service import KEY_PREFIX, LEDGER_SECONDS, ActionService
from sekisho.actions.writes import ActionWriter
from sekisho.aws import Service
from sekisho.kintone.writes import WRITE_RETRY, WRITE_TIMEOUTS
from sekisho.redelivery import Backoff, BatchedSqsVisibility
from sekisho.secrets.aws import SecretsManagerBackend
from sekisho.secrets.store import SecretStore
from sekisho.webhooks.refetch import Refetcher

from .ledger import clients, run_once_in

# The AWS services this function's role may call (template.yaml), so its clients: with
# SnapStart, built by the init into the snapshot (snapstart.prepare), not by a request.
AWS_SERVICES: tuple[Service, ...] = ("dynamodb", "secretsmanager", "sqs")


@functools.cache
def visibility() -> BatchedSqsVisibility:
    """The failed events' delays of a batch, sent together when the handler flushes."""
    return BatchedSqsVisibility()


@functools.cache
def action_service() -> ActionService:
    current = runtime.settings()
    table, dead_letters = runtime.required("guard_table", "webhook_dead_letter_queue_url")
    # The actions' own write and read tokens, and the refetch token of a source with
    # actions (an event queued while kintone was down is read then): nothing else.
    store = SecretStore(SecretsManagerBackend(), allowed=runtime.policy().secret_names("actions"))
    # A few quick attempts per call, as delivery makes: the queue's backoff is the rest.
    kintone = clients(store, WRITE_RETRY, WRITE_TIMEOUTS)
    return ActionService(
        runtime.policy(),
        ActionWriter(kintone),
        run_once_in(table, KEY_PREFIX, LEDGER_SECONDS),
        SqsDeadLetters(dead_letters),
        Backoff(visibility(), min_seconds=current.deliver_min_backoff_seconds),
        # An event queued while kintone was down carries no record: it is re-read.
        refetcher=Refetcher(kintone),
        max_receives=current.deliver_max_receives,
    )
