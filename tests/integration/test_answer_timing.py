"""Timing tells nothing, with a slow kintone: a locked-out value (no kintone call) is
answered when a miss is, and a filled honeypot (no kintone call) when a recorded
submission is. Real clocks against the emulator with 400 ms of latency per request."""

from __future__ import annotations

import json
import statistics
import time

import pytest
import requests

from sekisho.errors import NotFound
from sekisho.guard.guard import Guard
from sekisho.guard.memory import InMemoryGuardStore
from sekisho.intake.attachments import InMemoryAttachmentStore
from sekisho.intake.outbox import Outbox
from sekisho.intake.queue import InMemoryQueue
from sekisho.intake.request import IntakeRequest
from sekisho.intake.service import IntakeService
from sekisho.kintone.client import KintoneClient
from sekisho.lookup import LookupRequest, LookupService
from sekisho.policy.validation import parse_policy
from sekisho.secrets.memory import InMemorySecretBackend
from sekisho.secrets.store import SecretStore

pytestmark = pytest.mark.emulator

LATENCY_MS = 400
# Scheduling jitter on a busy 2-core machine, not a kintone round trip (400 ms).
SPREAD = 0.15

POLICY = """
kintone: {base_url: "https://example.cybozu.com"}
apps:
  1:
    name: deals
    fields: {担当ID: SINGLE_LINE_TEXT, 取引ID: SINGLE_LINE_TEXT, 取引名: SINGLE_LINE_TEXT}
  2:
    name: seminar
    fields: {受付ID: SINGLE_LINE_TEXT, 氏名: SINGLE_LINE_TEXT, メール: SINGLE_LINE_TEXT}
views:
  deal-status:
    app: 1
    token_secret: sekisho/kintone/deals-view
    match:
      owner_id: {code: 担当ID, max_length: 40}
      deal_id: {code: 取引ID, pattern: '^D[0-9]{6}$'}
    fields: [取引名]
    guard: {per_ip: 100/hour, failures_per_key: 2/hour}
forms:
  seminar-apply:
    app: 2
    token_secret: sekisho/kintone/seminar-add
    receipt_field: 受付ID
    honeypot: website
    guard: {per_ip: 100/hour}
    fields:
      name: {code: 氏名, type: text, max_length: 100}
      email: {code: メール, type: email}
"""


@pytest.fixture
def slow_kintone(kintone, http):
    http.post(f"{kintone.url}/_emulator/faults", json={"latency_ms": LATENCY_MS}, timeout=5)
    yield kintone
    http.post(f"{kintone.url}/_emulator/faults", json={}, timeout=5)


def secret_store(policy, section: str) -> SecretStore:
    backend = InMemorySecretBackend()
    backend.put("sekisho/kintone/deals-view", json.dumps({"token": "deals-view-token"}))
    backend.put("sekisho/kintone/seminar-add", json.dumps({"token": "seminar-add-token"}))
    return SecretStore(backend, allowed=policy.secret_names(section))


def timed(call) -> float:
    started = time.monotonic()
    call()
    return time.monotonic() - started


def test_a_locked_value_is_answered_when_a_miss_is_though_kintone_is_slow(slow_kintone):
    policy = parse_policy(POLICY)
    # The shipped deadline (NOT_FOUND_DEADLINE_MS' default), not one made for the test.
    service = LookupService(
        policy,
        secret_store(policy, "views").token_source,
        Guard(InMemoryGuardStore(), hash_key=b"k" * 32),
        slow_kintone.url,
    )

    def miss() -> None:
        body = {"match": {"owner_id": "Z9", "deal_id": "D000099"}}
        with pytest.raises(NotFound):
            service.lookup(LookupRequest("deal-status", body, "203.0.113.5"))

    misses = [timed(miss) for _ in range(2)]  # each asks kintone; the second locks Z9
    locked = [timed(miss) for _ in range(2)]  # answered without asking kintone

    assert min(misses) > LATENCY_MS / 1000, "the misses did wait for kintone"
    spread = max(misses + locked) - min(misses + locked)
    assert spread < SPREAD, (misses, locked)


def test_a_filled_honeypot_is_answered_when_a_recorded_submission_is(slow_kintone):
    policy = parse_policy(POLICY)
    service = IntakeService(
        policy,
        secret_store(policy, "forms").token_source,
        Guard(InMemoryGuardStore(), hash_key=b"k" * 32),
        slow_kintone.url,
        outbox=Outbox(InMemoryQueue(), InMemoryAttachmentStore()),
        client_factory=lambda url, token: KintoneClient(url, token, session=requests.Session()),
    )

    def submit(fields: dict) -> None:
        result = service.submit(IntakeRequest("seminar-apply", {"fields": fields}, "203.0.113.6"))
        assert (result.status_code, result.status) == (201, "recorded")

    recorded = [
        timed(lambda: submit({"name": "山田 花子", "email": "hanako@example.com"}))
        for _ in range(4)
    ]
    caught = [
        timed(lambda: submit({"name": "bot", "email": "bot@example.com", "website": "x"}))
        for _ in range(4)
    ]

    assert min(recorded) > LATENCY_MS / 1000
    assert abs(statistics.median(caught) - statistics.median(recorded)) < SPREAD, (
        recorded,
        caught,
    )
    assert min(caught) >= min(recorded) - SPREAD
