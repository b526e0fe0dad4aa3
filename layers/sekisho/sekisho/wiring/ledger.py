"""What the webhook and action functions share: once-only records, kintone clients."""

from __future__ import annotations

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from sekisho import aws, runtime
from sekisho.kintone.client import KintoneClient, Timeouts
from sekisho.kintone.clients import ClientsByToken
from sekisho.kintone.retry import RetryPolicy
from sekisho.once import RunOnce
from sekisho.secrets.store import SecretStore


def run_once_in(table: str, key_prefix: str, seconds: int) -> RunOnce:
    """RunOnce over Powertools idempotency records in ``table`` (the GuardTable), keyed
    ``<key_prefix>#<hash>``: each role's IAM condition lets it touch its own prefix only."""
    # The container's one DynamoDB client (the guard's fail-fast timeouts).
    persistence = DynamoDBPersistenceLayer(
        table_name=table,
        key_attr="pk",
        expiry_attr="expires_at",
        boto3_client=aws.client("dynamodb"),
    )
    return RunOnce(persistence, key_prefix=key_prefix, expires_after_seconds=seconds)


def clients(store: SecretStore, retry: RetryPolicy, timeouts: Timeouts) -> ClientsByToken:
    base_url = runtime.kintone_base_url()
    return ClientsByToken(
        lambda name: KintoneClient(
            base_url, store.token_source(name), retry=retry, timeouts=timeouts
        )
    )
