"""A delivery without a body carries no event: it is refused (401) by every scheme, even
correctly signed, as the contract says (the request body is required).

Found by the contract fuzzer once it signed its requests: Standard Webhooks, GitHub and
Slack sign the body without reading it, so an empty one signed by the sender's key was
queued as an event and answered 200.
"""

from __future__ import annotations

import json

import pytest

from sekisho.once import InMemoryPersistenceLayer, RunOnce
from sekisho.policy.validation import validate_policy
from sekisho.secrets.memory import InMemorySecretBackend
from sekisho.secrets.store import SecretStore
from sekisho.webhooks.delivery import Delivery
from sekisho.webhooks.errors import SignatureInvalid
from sekisho.webhooks.keys import SigningKeys
from sekisho.webhooks.queue import InMemoryEventQueue
from sekisho.webhooks.service import WebhookService
from webhook_senders import SCHEMES, demo_secret, sign

NOW = 1_795_000_000


def service_with_one_source_per_scheme() -> tuple[WebhookService, InMemoryEventQueue, dict]:
    secrets = {scheme: demo_secret(scheme) for scheme in SCHEMES}
    backend = InMemorySecretBackend()
    for scheme, secret in secrets.items():
        backend.put(f"sekisho/webhook/{scheme}", json.dumps(secret))
    policy = validate_policy(
        {
            "kintone": {"base_url": "https://example.cybozu.com"},
            "webhooks": {
                scheme: {"scheme": scheme, "secret": f"sekisho/webhook/{scheme}"}
                for scheme in SCHEMES
            },
        }
    )
    store = SecretStore(backend, allowed=frozenset(f"sekisho/webhook/{s}" for s in SCHEMES))
    queue = InMemoryEventQueue()
    once = RunOnce(
        InMemoryPersistenceLayer(), key_prefix="sekisho.webhook", expires_after_seconds=600
    )
    service = WebhookService(policy, SigningKeys(store), queue, once, clock=lambda: NOW)
    return service, queue, secrets


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_correctly_signed_delivery_without_a_body_is_refused_and_nothing_is_queued(scheme):
    service, queue, secrets = service_with_one_source_per_scheme()
    signed = sign(scheme, b"", secrets[scheme], now=NOW)

    with pytest.raises(SignatureInvalid) as refused:
        service.receive(scheme, Delivery.build(b"", signed.headers, signed.query, "192.0.2.1"))

    assert (refused.value.status, refused.value.code) == (401, "signature_invalid")
    assert queue.messages == []


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_same_delivery_with_a_body_is_queued(scheme):
    service, queue, secrets = service_with_one_source_per_scheme()
    # What every scheme accepts: a JSON object with the event ids they read.
    body = json.dumps({"id": "evt_1", "event_id": "Ev1", "type": "UPDATE_RECORD"}).encode()
    signed = sign(scheme, body, secrets[scheme], now=NOW)

    receipt = service.receive(scheme, Delivery.build(body, signed.headers, signed.query, "::1"))

    assert receipt.status == "queued"
    assert len(queue.messages) == 1
