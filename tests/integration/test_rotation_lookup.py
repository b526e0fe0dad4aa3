"""A warm lookup keeps answering while its token is rotated and the old one is deleted in
kintone right after finishSecret: the GAIA_IA02 answer forces the secret store to re-read
AWSCURRENT at once, so the switch costs no failed request."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
import requests

from devstack.rotation_driver import ensure_rotation_enabled, rotate
from sekisho.guard.guard import Guard
from sekisho.guard.memory import InMemoryGuardStore
from sekisho.kintone import client as kintone_client
from sekisho.kintone.breaker import CircuitBreaker
from sekisho.kintone.client import KintoneClient
from sekisho.kintone.retry import RetryPolicy
from sekisho.lookup import LookupRequest, LookupService
from sekisho.policy.validation import parse_policy
from sekisho.rotation.staging import stage
from sekisho.rotation.steps import STEPS
from sekisho.rotation.versions import SecretVersions
from sekisho.rotation.wiring import build_rotator
from sekisho.secrets.aws import SecretsManagerBackend
from sekisho.secrets.store import SecretStore

pytestmark = pytest.mark.emulator

POLICY = """
kintone: {base_url: "https://example.cybozu.com"}
apps:
  1:
    name: deals
    fields: {担当ID: SINGLE_LINE_TEXT, 取引ID: SINGLE_LINE_TEXT, 取引名: SINGLE_LINE_TEXT,
             金額: NUMBER, ステータス: DROP_DOWN}
views:
  deal-status:
    app: 1
    token_secret: {secret}
    match:
      owner_id: {code: 担当ID, max_length: 12}
      deal_id: {code: 取引ID, pattern: '^D[0-9]{6}$'}
    fields: [取引名, 金額, ステータス]
    guard: {per_ip: 1000/hour, failures_per_key: 5/hour}
"""
OLD_TOKEN = "deals-view-token"
NEW_TOKEN = "DealsViewTokenAfterRotation"
EXPECTED = [{"取引名": "倉庫管理システム更改", "金額": "1200000", "ステータス": "商談中"}]


class Kintone:
    """The emulator's admin API for tokens."""

    def __init__(self, url: str) -> None:
        self.url = url

    def add_token(self, token: str) -> None:
        answer = requests.post(
            f"{self.url}/_emulator/tokens",
            json={"token": token, "app": 1, "permissions": ["view"]},
            timeout=5,
        )
        answer.raise_for_status()

    def delete_token(self, token: str) -> None:
        answer = requests.delete(f"{self.url}/_emulator/tokens", json={"token": token}, timeout=5)
        answer.raise_for_status()


@pytest.fixture
def parts(moto_url, kintone, monkeypatch):
    monkeypatch.setattr(kintone_client, "_breakers", {})
    name = f"sekisho/kintone/deals-view-{uuid.uuid4().hex[:8]}"
    policy = parse_policy(POLICY.replace("{secret}", name))
    sm = boto3.client("secretsmanager", endpoint_url=moto_url)
    sm.create_secret(
        Name=name, SecretString=json.dumps({"kind": "kintone-token", "token": OLD_TOKEN})
    )
    store = SecretStore(SecretsManagerBackend(sm), allowed={name})
    tokens_used: list[str] = []

    class RecordingClient(KintoneClient):
        def get_records(self, app, query="", fields=None, *, total_count=False):
            tokens_used.append(self._token.current())
            return super().get_records(app, query, fields, total_count=total_count)

    service = LookupService(
        policy,
        store.token_source,
        Guard(InMemoryGuardStore(), hash_key=b"k" * 32),
        kintone.url,
        client_factory=lambda base_url, token: RecordingClient(
            base_url,
            token,
            session=requests.Session(),
            retry=RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.001),
            breaker=CircuitBreaker(failure_threshold=100),
        ),
        not_found_deadline=0,
    )
    versions = SecretVersions(sm)
    return name, service, store, versions, build_rotator(policy, kintone.url, versions), tokens_used


def test_a_warm_lookup_answers_through_a_rotation_and_the_old_token_deletion(parts, kintone):
    name, service, store, versions, rotator, tokens_used = parts
    admin = Kintone(kintone.url)
    failures: list[Exception] = []

    def lookup() -> None:
        request = LookupRequest(
            "deal-status", {"match": {"owner_id": "A1", "deal_id": "D000001"}}, "203.0.113.9"
        )
        try:
            assert service.lookup(request) == EXPECTED
        except Exception as exc:  # every failure counts, whatever it is
            failures.append(exc)

    for _ in range(3):
        lookup()
    assert store.get(name)["token"] == OLD_TOKEN, "the container is warm"

    # The operator's order: create the token in kintone, stage it, rotate.
    admin.add_token(NEW_TOKEN)
    stage(versions, name, NEW_TOKEN)
    ensure_rotation_enabled(versions, name)
    steps = rotate(rotator, name)
    for expected_step in STEPS:
        assert next(steps).step == expected_step
        lookup()
    # ...and, against the advice, delete the old token the moment finishSecret is done.
    admin.delete_token(OLD_TOKEN)
    for _ in range(3):
        lookup()

    assert failures == []
    assert OLD_TOKEN in tokens_used
    assert tokens_used[-1] == NEW_TOKEN
    assert store.get(name)["token"] == NEW_TOKEN, "picked up long before the cache TTL"
