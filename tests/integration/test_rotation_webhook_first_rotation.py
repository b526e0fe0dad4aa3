"""A source's first rotation in moto's Secrets Manager, real stages and all: the template's
empty placeholder becomes AWSPREVIOUS, and for the whole grace period a forged delivery is
refused as forged (401), not answered 500 for the placeholder's empty key."""

from __future__ import annotations

import json
import logging
import uuid

import boto3
import pytest

from devstack.rotation_driver import ensure_rotation_enabled, rotate
from sekisho.once import InMemoryPersistenceLayer, RunOnce
from sekisho.policy.validation import parse_policy, validate_policy
from sekisho.rotation.staging import stage
from sekisho.rotation.versions import SecretVersions
from sekisho.rotation.wiring import build_rotator
from sekisho.secrets.aws import SecretsManagerBackend
from sekisho.secrets.store import SecretStore
from sekisho.webhooks.delivery import Delivery
from sekisho.webhooks.errors import SignatureInvalid
from sekisho.webhooks.keys import SigningKeys
from sekisho.webhooks.queue import InMemoryEventQueue
from sekisho.webhooks.service import WebhookService
from webhook_senders.signing import sign

ROTATED_AT = 1_763_700_000
GRACE = 3600
ROTATION_POLICY = parse_policy("kintone: {base_url: 'https://example.cybozu.com'}")
BODY = json.dumps({"id": "evt-1", "type": "push", "trigger": "FILE.UPLOADED"}).encode()

# (scheme, the template's placeholder, the field staged, the sender's new key)
SOURCES = [
    ("github", {"kind": "webhook-key", "secret": ""}, "secret", "new-github-secret"),
    ("box", {"kind": "webhook-key", "primary": "", "secondary": ""}, "primary", "new-box-key"),
]


@pytest.fixture
def first_rotation(moto_url, request):
    """A source whose secret was created as the template's placeholder, then staged and
    rotated once at ROTATED_AT; (scheme, its service, the current value)."""
    scheme, placeholder, field, key = request.param
    name = f"sekisho/webhook/{scheme}-{uuid.uuid4().hex[:8]}"
    sm = boto3.client("secretsmanager", endpoint_url=moto_url)
    sm.create_secret(Name=name, SecretString=json.dumps(placeholder))
    versions = SecretVersions(sm)
    stage(versions, name, key, field=field)
    ensure_rotation_enabled(versions, name)
    rotator = build_rotator(
        ROTATION_POLICY, "https://example.cybozu.com", versions, clock=lambda: ROTATED_AT
    )
    assert [outcome.action for outcome in rotate(rotator, name)][-1] == "promoted"
    store = SecretStore(SecretsManagerBackend(sm), allowed={name})
    assert store.get_stage(name, "AWSPREVIOUS") == placeholder
    policy = validate_policy(
        {
            "kintone": {"base_url": "https://example.cybozu.com"},
            "webhooks": {"src": {"scheme": scheme, "secret": name, "grace_seconds": GRACE}},
        }
    )
    service = WebhookService(
        policy,
        SigningKeys(store),
        InMemoryEventQueue(),
        RunOnce(InMemoryPersistenceLayer(), key_prefix="sekisho.webhook", expires_after_seconds=60),
        clock=lambda: ROTATED_AT + GRACE // 2,
        sleep=lambda _: None,
    )
    return scheme, service, store.get(name)


def delivery(scheme: str, secret: dict, delivery_id: str) -> Delivery:
    signed = sign(scheme, BODY, secret, now=ROTATED_AT + GRACE // 2, delivery_id=delivery_id)
    return Delivery.build(BODY, signed.headers, signed.query, "198.51.100.7")


@pytest.mark.parametrize("first_rotation", SOURCES, indirect=True, ids=["github", "box"])
def test_a_forged_delivery_inside_the_first_grace_period_is_refused_not_a_server_error(
    first_rotation, caplog
):
    scheme, service, current = first_rotation
    caplog.set_level(logging.WARNING, logger="sekisho")
    forger = {"secret": "guess", "primary": "guess", "secondary": "guess"}
    with pytest.raises(SignatureInvalid) as refused:
        service.receive("src", delivery(scheme, forger, "forged-1"))
    assert (refused.value.status, refused.value.code) == (401, "signature_invalid")
    assert any("holds no usable key" in r.getMessage() for r in caplog.records)
    # The sender's new key passes.
    assert service.receive("src", delivery(scheme, current, "real-1")).status == "queued"
