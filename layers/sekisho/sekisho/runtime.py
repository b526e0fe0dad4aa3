"""What one container builds once: settings, policy, and each function's service.

Settings and the policy are read at cold start so a bad deployment fails at init with a
clear message; what needs a network call (the guard's hash key) waits for the first
request. The policy comes from the reviewed snapshot the layer bundles (or, for a YAML
file such as the local stack's, from the full validation), and its digest is logged
once, so an operator can match what runs with what was reviewed.

Each service's modules are imported where it is built, so a container loads only its
own function's code (no intake or idempotency in the lookup, no HTTP resolver in the
deliverer): imports are most of what a cold start costs.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from sekisho.errors import ConfigurationError
from sekisho.policy.snapshot import load_reviewed
from sekisho.settings import Settings

if TYPE_CHECKING:
    from sekisho.actions import ActionService
    from sekisho.guard import Guard
    from sekisho.http import HttpSettings
    from sekisho.intake import DeliverService, IntakeService
    from sekisho.kintone import RetryPolicy, Timeouts
    from sekisho.kintone.clients import ClientsByToken
    from sekisho.lookup import LookupService
    from sekisho.once import RunOnce
    from sekisho.policy import Policy
    from sekisho.secrets import SecretStore
    from sekisho.switches import RouteSwitches
    from sekisho.webhooks import WebhookService
    from sekisho.webhooks.refetch import Refetcher

# A child of the function's Powertools Logger (service "sekisho"): same JSON lines.
logger = logging.getLogger(__name__)


@functools.cache
def settings() -> Settings:
    return Settings.from_env()


@functools.cache
def policy() -> Policy:
    current = settings()
    reviewed = load_reviewed(current.policy_path, pinned=current.policy_digest)
    # The one init line an operator compares with the stack's PolicyDigest output.
    logger.info(
        "policy loaded",
        extra={
            "policy_digest": reviewed.digest,
            "policy_kind": reviewed.kind,
            "policy_file": reviewed.source.name,
        },
    )
    return reviewed.policy


def http_settings() -> HttpSettings:
    from sekisho.http import HttpSettings  # noqa: PLC0415 - Powertools' resolver: HTTP only

    current = settings()
    return HttpSettings(
        allowed_origins=current.allowed_origins, max_body_bytes=current.max_body_bytes
    )


def kintone_base_url() -> str:
    return settings().kintone_base_url or str(policy().kintone.base_url)


@functools.cache
def route_switches() -> RouteSwitches:
    """The kill switches of this container's routes: the policy's, and the SSM parameter's
    when ROUTE_SWITCHES_PARAMETER names one."""
    from sekisho.switches import RouteSwitches, ssm_reader  # noqa: PLC0415

    name = settings().route_switches_parameter
    return RouteSwitches(ssm_reader(name) if name else None)


def _required(**values: str | None) -> None:
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ConfigurationError(f"{', '.join(missing)} not set")


def _guard(store: SecretStore, current: Settings) -> Guard:
    """The guard over GUARD_TABLE, keyed by the hash key secret (read on first use)."""
    from sekisho.guard import DynamoGuardStore, Guard  # noqa: PLC0415

    hash_key = store.get(current.guard_hash_key_secret).get("key")
    if not isinstance(hash_key, str) or len(hash_key) < 32:
        raise ConfigurationError("the guard hash key secret holds no usable key")
    return Guard(DynamoGuardStore(current.guard_table), hash_key=hash_key.encode())


@functools.cache
def lookup_service() -> LookupService:
    from sekisho.lookup import LookupService  # noqa: PLC0415
    from sekisho.secrets import SecretsManagerBackend, SecretStore  # noqa: PLC0415

    current = settings()
    _required(GUARD_TABLE=current.guard_table)
    store = SecretStore(
        SecretsManagerBackend(),
        allowed=policy().secret_names("views") | {current.guard_hash_key_secret},
    )
    return LookupService(
        policy(),
        store.token_source,
        _guard(store, current),
        kintone_base_url(),
        not_found_deadline=current.not_found_deadline_ms / 1000,
        switches=route_switches(),
    )


# ------------------------------------------------------------------------------- intake


def intake_http_settings() -> HttpSettings:
    """The form route also takes a CAPTCHA token header from browsers (CORS)."""
    return dataclasses.replace(
        http_settings(), allow_headers=("Idempotency-Key", "X-Captcha-Token")
    )


def _intake_secret_names(current: Settings) -> frozenset[str]:
    """The add-only token secrets and CAPTCHA secrets the forms name (``secret_names``
    lists both), and the guard's hash key: nothing else, least of all a view's token."""
    return policy().secret_names("forms") | {current.guard_hash_key_secret}


@functools.cache
def intake_service() -> IntakeService:
    from aws_lambda_powertools.utilities.idempotency import (  # noqa: PLC0415
        DynamoDBPersistenceLayer,
    )

    from sekisho.guard import dynamodb_client  # noqa: PLC0415
    from sekisho.intake import (  # noqa: PLC0415
        Idempotency,
        IntakeService,
        Outbox,
        S3AttachmentStore,
        SiteverifyCaptcha,
        SqsQueue,
    )
    from sekisho.secrets import SecretsManagerBackend, SecretStore  # noqa: PLC0415

    current = settings()
    _required(
        GUARD_TABLE=current.guard_table,
        INTAKE_QUEUE_URL=current.intake_queue_url,
        ATTACHMENT_BUCKET=current.attachment_bucket,
        IDEMPOTENCY_TABLE=current.idempotency_table,
    )
    store = SecretStore(SecretsManagerBackend(), allowed=_intake_secret_names(current))
    # The guard's DynamoDB client, fail-fast timeouts and all: the idempotency table is read
    # and written on every submission too, and one client is one less to build.
    persistence = DynamoDBPersistenceLayer(
        table_name=current.idempotency_table, boto3_client=dynamodb_client()
    )
    return IntakeService(
        policy(),
        store.token_source,
        _guard(store, current),
        kintone_base_url(),
        outbox=Outbox(
            SqsQueue(current.intake_queue_url), S3AttachmentStore(current.attachment_bucket)
        ),
        idempotency=Idempotency(persistence),
        captcha=SiteverifyCaptcha(store.get),
        switches=route_switches(),
    )


@functools.cache
def deliver_service() -> DeliverService:
    from sekisho.intake import DeliverService, S3AttachmentStore, SqsVisibility  # noqa: PLC0415
    from sekisho.secrets import SecretsManagerBackend, SecretStore  # noqa: PLC0415

    current = settings()
    _required(ATTACHMENT_BUCKET=current.attachment_bucket)
    # Only the forms' add-only tokens: the deliverer has no CAPTCHA and no guard.
    tokens = frozenset(form.token_secret for form in policy().forms.values())
    store = SecretStore(SecretsManagerBackend(), allowed=tokens)
    return DeliverService(
        policy(),
        store.token_source,
        kintone_base_url(),
        attachments=S3AttachmentStore(current.attachment_bucket),
        visibility=SqsVisibility(),
        min_backoff_seconds=current.deliver_min_backoff_seconds,
    )


# ------------------------------------------------------------------------------ webhook


@functools.cache
def webhook_service() -> WebhookService:
    # Imported here: the lookup and intake containers never load the verifiers.
    from sekisho.secrets import SecretsManagerBackend, SecretStore  # noqa: PLC0415
    from sekisho.webhooks import (  # noqa: PLC0415
        DEDUPE_SECONDS,
        KEY_PREFIX,
        REFETCH_RETRY,
        REFETCH_TIMEOUTS,
        Refetcher,
        SigningKeys,
        SqsEventQueue,
        WebhookService,
    )

    current = settings()
    _required(GUARD_TABLE=current.guard_table, WEBHOOK_QUEUE_URL=current.webhook_queue_url)
    # The sources' own secrets and the refetch sources' view-only tokens: nothing else.
    store = SecretStore(SecretsManagerBackend(), allowed=policy().secret_names("webhooks"))
    # The dedupe records are Powertools idempotency records in the GuardTable, under
    # their own key prefix (the role may touch no other item there).
    once = _run_once_in_guard_table(current, KEY_PREFIX, DEDUPE_SECONDS)
    clients = _clients(store, REFETCH_RETRY, REFETCH_TIMEOUTS)
    return WebhookService(
        policy(),
        SigningKeys(store),
        SqsEventQueue(current.webhook_queue_url),
        once,
        Refetcher(clients),
        switches=route_switches(),
    )


def _run_once_in_guard_table(current: Settings, key_prefix: str, seconds: int) -> RunOnce:
    """RunOnce over Powertools idempotency records in the GuardTable, keyed
    ``<key_prefix>#<hash>``: each role's IAM condition lets it touch its own prefix only."""
    from aws_lambda_powertools.utilities.idempotency import (  # noqa: PLC0415
        DynamoDBPersistenceLayer,
    )

    from sekisho.guard import dynamodb_client  # noqa: PLC0415
    from sekisho.once import RunOnce  # noqa: PLC0415

    # The container's one DynamoDB client (the guard's fail-fast timeouts).
    persistence = DynamoDBPersistenceLayer(
        table_name=current.guard_table,
        key_attr="pk",
        expiry_attr="expires_at",
        boto3_client=dynamodb_client(),
    )
    return RunOnce(persistence, key_prefix=key_prefix, expires_after_seconds=seconds)


def _clients(store: SecretStore, retry: RetryPolicy, timeouts: Timeouts) -> ClientsByToken:
    from sekisho.kintone import KintoneClient  # noqa: PLC0415
    from sekisho.kintone.clients import ClientsByToken  # noqa: PLC0415

    base_url = kintone_base_url()
    return ClientsByToken(
        lambda name: KintoneClient(
            base_url, store.token_source(name), retry=retry, timeouts=timeouts
        )
    )


# ------------------------------------------------------------------------------- action


@functools.cache
def action_service() -> ActionService:
    # Imported here: only the action container loads the actions and the refetcher.
    from sekisho.actions import (  # noqa: PLC0415
        KEY_PREFIX,
        LEDGER_SECONDS,
        ActionService,
        ActionWriter,
        SqsDeadLetters,
    )
    from sekisho.intake.delivery import DELIVER_RETRY, DELIVER_TIMEOUTS  # noqa: PLC0415
    from sekisho.intake.queue import SqsVisibility  # noqa: PLC0415
    from sekisho.redelivery import Backoff  # noqa: PLC0415
    from sekisho.secrets import SecretsManagerBackend, SecretStore  # noqa: PLC0415

    current = settings()
    _required(
        GUARD_TABLE=current.guard_table,
        WEBHOOK_DEAD_LETTER_QUEUE_URL=current.webhook_dead_letter_queue_url,
    )
    # The actions' own write and read tokens, and the refetch token of a source with
    # actions (an event queued while kintone was down is read then): nothing else.
    store = SecretStore(SecretsManagerBackend(), allowed=policy().secret_names("actions"))
    # A few quick attempts per call, as delivery makes: the queue's backoff is the rest.
    clients = _clients(store, DELIVER_RETRY, DELIVER_TIMEOUTS)
    return ActionService(
        policy(),
        ActionWriter(clients),
        _run_once_in_guard_table(current, KEY_PREFIX, LEDGER_SECONDS),
        SqsDeadLetters(current.webhook_dead_letter_queue_url),
        Backoff(SqsVisibility(), min_seconds=current.deliver_min_backoff_seconds),
        # Only an event queued while kintone was down is re-read: the refetcher (and the
        # webhook verifiers its module brings) loads when the first such event arrives.
        refetcher=_OnFirstUse(lambda: _refetcher(clients)),
    )


def _refetcher(clients: ClientsByToken) -> Refetcher:
    from sekisho.webhooks.refetch import Refetcher  # noqa: PLC0415

    return Refetcher(clients)


class _OnFirstUse:
    """Stands for an object that is built the first time one of its attributes is used."""

    def __init__(self, build: Callable[[], object]) -> None:
        self._build = build
        self._built: object | None = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> object:
        with self._lock:
            if self._built is None:
                self._built = self._build()
        return getattr(self._built, name)
