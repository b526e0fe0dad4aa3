"""After a rotation, deliveries signed with the old key pass for the source's grace period
(counted from the ``rotated_at`` the rotation wrote) and fail after it; the new key always
passes. One sender key an operator stages (GitHub), one key sekisho generates (kintone's
URL token)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest

from devstack.rotation_driver import ensure_rotation_enabled, rotate
from sekisho.policy import WebhookPolicy
from sekisho.policy.validation import parse_policy
from sekisho.rotation.staging import stage
from sekisho.rotation.versions import SecretVersions
from sekisho.rotation.wiring import build_rotator
from sekisho.secrets.aws import SecretsManagerBackend
from sekisho.secrets.store import SecretStore
from sekisho.webhooks.delivery import Delivery
from sekisho.webhooks.errors import SignatureMismatch
from sekisho.webhooks.keys import SigningKeys
from sekisho.webhooks.schemes import VERIFIERS
from webhook_senders.signing import sign

ROTATED_AT = 1_763_700_000
GRACE = 3600
POLICY = parse_policy("kintone: {base_url: 'https://example.cybozu.com'}")
BODY = json.dumps({"id": "notification-1", "type": "ADD_RECORD"}).encode()


def passes(hook: WebhookPolicy, keys: SigningKeys, signed_with: dict[str, Any], now: int) -> bool:
    """What the webhook service does: try each version the keys offer at ``now``."""
    signed = sign(hook.scheme, BODY, signed_with, now=now)
    delivery = Delivery.build(BODY, signed.headers, signed.query)
    keys.clock = lambda: now
    for _, secret in keys.versions(hook):
        try:
            VERIFIERS[hook.scheme](delivery, secret, now=now)
        except SignatureMismatch:
            continue
        return True
    return False


@pytest.fixture
def rotated(moto_url, request):
    """A source's secret rotated once at ROTATED_AT; (hook, keys, old value, new value)."""
    scheme, old = request.param
    name = f"sekisho/webhook/{scheme}-{uuid.uuid4().hex[:8]}"
    sm = boto3.client("secretsmanager", endpoint_url=moto_url)
    sm.create_secret(Name=name, SecretString=json.dumps(old))
    versions = SecretVersions(sm)
    if old["kind"] == "webhook-key":
        stage(versions, name, "new-github-secret")
    ensure_rotation_enabled(versions, name)
    rotator = build_rotator(
        POLICY, "https://example.cybozu.com", versions, clock=lambda: ROTATED_AT
    )
    assert [outcome.action for outcome in rotate(rotator, name)][-1] == "promoted"
    store = SecretStore(SecretsManagerBackend(sm), allowed={name})
    new = store.get(name)
    assert new["secret"] != old["secret"]
    assert new["rotated_at"] == ROTATED_AT
    return (
        WebhookPolicy(scheme=scheme, secret=name, grace_seconds=GRACE),
        SigningKeys(store),
        old,
        new,
    )


SOURCES = [
    ("github", {"kind": "webhook-key", "secret": "old-github-secret"}),
    ("kintone", {"kind": "hmac", "secret": "old-kintone-url-token-" + "t" * 32}),
]


@pytest.mark.parametrize("rotated", SOURCES, indirect=True, ids=["github", "kintone"])
@pytest.mark.parametrize(
    ("after", "old_passes"),
    [(0, True), (GRACE // 2, True), (GRACE, True), (GRACE + 1, False), (7 * 86_400, False)],
)
def test_the_old_key_passes_during_the_grace_period_only(rotated, after, old_passes):
    hook, keys, old, new = rotated
    assert passes(hook, keys, old, ROTATED_AT + after) is old_passes
    assert passes(hook, keys, new, ROTATED_AT + after) is True
