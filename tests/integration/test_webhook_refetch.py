"""kintone refetch against the emulator: what is handed on is kintone's current record,
and an event that kintone's state contradicts is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sekisho.kintone.client import KintoneClient, TokenSource
from sekisho.kintone.clients import ClientsByToken
from sekisho.kintone.retry import RetryPolicy
from sekisho.once import InMemoryPersistenceLayer, RunOnce
from sekisho.policy import WebhookRefetch
from sekisho.policy.validation import validate_policy
from sekisho.secrets.memory import InMemorySecretBackend
from sekisho.secrets.store import SecretStore
from sekisho.webhooks.delivery import Delivery
from sekisho.webhooks.errors import (
    MalformedDelivery,
    RecordMismatch,
    RecordMissing,
    SignatureInvalid,
)
from sekisho.webhooks.keys import SigningKeys
from sekisho.webhooks.queue import InMemoryEventQueue
from sekisho.webhooks.refetch import Refetcher
from sekisho.webhooks.service import WebhookService
from webhook_senders import sign

pytestmark = pytest.mark.emulator

REFETCH = WebhookRefetch(
    app=1, token_secret="sekisho/kintone/deals-refetch", fields=("取引ID", "取引名")
)
URL_TOKEN = {"kind": "hmac", "secret": "kintone-url-token-for-tests-0123456789"}


VIEW_TOKEN = "deals-view-token"  # the emulator seed's view-only token on app 1


def _refetcher(kintone) -> Refetcher:
    return Refetcher(
        ClientsByToken(
            lambda _name: KintoneClient(
                kintone.url, TokenSource.fixed(VIEW_TOKEN), retry=RetryPolicy(max_attempts=1)
            )
        )
    )


def _event(kind: str = "ADD_RECORD", record_id: Any = "1", app: Any = "1") -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "01234567-89ab-cdef-0123-456789abcdef",
        "type": kind,
        "app": {"id": app, "name": "案件管理"},
        "url": "https://example.cybozu.com/k/1/show#record=1",
    }
    if kind in ("DELETE_RECORD", "ADD_RECORD_COMMENT"):
        body["recordId"] = record_id
    else:
        # A forger's idea of the record: none of this may be handed on.
        body["record"] = {
            "$id": {"type": "__ID__", "value": record_id},
            "取引名": {"type": "SINGLE_LINE_TEXT", "value": "偽の取引"},
        }
    return body


def test_an_add_record_event_carries_kintones_current_record_not_the_posted_one(kintone):
    event = _refetcher(kintone).event(REFETCH, _event())
    assert event["refetched"] is True
    assert (event["app"], event["record_id"]) == (1, "1")
    assert event["record"]["$id"]["value"] == "1"
    assert event["record"]["取引名"]["value"] != "偽の取引"


def test_the_refetched_record_carries_only_the_declared_fields(kintone):
    record = _refetcher(kintone).event(REFETCH, _event())["record"]
    assert set(record) == {"取引ID", "取引名", "$id", "$revision"}  # no 社内メモ, no 金額


def test_a_forged_add_record_for_a_record_that_does_not_exist_is_refused(kintone):
    with pytest.raises(RecordMissing) as refused:
        _refetcher(kintone).event(REFETCH, _event(record_id="99999"))
    assert refused.value.status == 401


def test_a_delete_event_is_confirmed_by_the_record_being_gone(kintone):
    event = _refetcher(kintone).event(REFETCH, _event("DELETE_RECORD", record_id="99999"))
    assert event == {"refetched": True, "app": 1, "record_id": "99999", "record": None}


def test_a_forged_delete_of_a_record_that_still_exists_is_refused(kintone):
    with pytest.raises(RecordMismatch):
        _refetcher(kintone).event(REFETCH, _event("DELETE_RECORD", record_id="1"))


def test_a_comment_event_refetches_the_record_it_names(kintone):
    event = _refetcher(kintone).event(REFETCH, _event("ADD_RECORD_COMMENT", record_id=1))
    assert event["record"]["$id"]["value"] == "1"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (_event(app="2"), RecordMismatch),
        (_event(app=None), RecordMismatch),
        (_event(record_id="0"), MalformedDelivery),
        (_event(record_id="1 or 1=1"), MalformedDelivery),
        (_event(record_id=True), MalformedDelivery),
        (_event(record_id="9" * 30), MalformedDelivery),
        (_event("UPDATE_APP"), MalformedDelivery),
        ({"type": "ADD_RECORD", "app": {"id": "1"}}, MalformedDelivery),
        # Signed-looking garbage after the token matched: a 401, never a 500.
        (_event() | {"type": []}, MalformedDelivery),
        (_event() | {"type": {"x": 1}}, MalformedDelivery),
        (_event() | {"record": {"$id": "1"}}, MalformedDelivery),
        (_event() | {"record": {"$id": None}}, MalformedDelivery),
        (_event() | {"record": []}, MalformedDelivery),
        (_event() | {"app": "1"}, RecordMismatch),
        (_event() | {"app": {"id": [1]}}, RecordMismatch),
    ],
)
def test_an_event_that_names_no_usable_record_of_the_app_is_refused(kintone, body, error):
    with pytest.raises(error):
        _refetcher(kintone).event(REFETCH, body)


def test_while_kintone_is_down_the_event_goes_on_as_an_identity_without_content(kintone, http):
    http.post(f"{kintone.url}/_emulator/maintenance", json={"enabled": True}).raise_for_status()
    event = _refetcher(kintone).event(REFETCH, _event())
    assert event == {"refetched": False, "app": 1, "record_id": "1", "record": None}


def _service(kintone) -> tuple[WebhookService, InMemoryEventQueue]:
    backend = InMemorySecretBackend()
    backend.put("sekisho/webhook/deals", json.dumps(URL_TOKEN))
    policy = validate_policy(
        {
            "kintone": {"base_url": kintone.url},
            "apps": {
                1: {
                    "name": "deals",
                    "fields": {"取引ID": "SINGLE_LINE_TEXT", "取引名": "SINGLE_LINE_TEXT"},
                }
            },
            "webhooks": {
                "deals": {
                    "scheme": "kintone",
                    "secret": "sekisho/webhook/deals",
                    "refetch": {
                        "app": 1,
                        "token_secret": "sekisho/kintone/deals-refetch",
                        "fields": ["取引ID", "取引名"],
                    },
                }
            },
        }
    )
    queue = InMemoryEventQueue()
    store = SecretStore(backend, allowed=frozenset({"sekisho/webhook/deals"}))
    service = WebhookService(
        policy,
        SigningKeys(store),
        queue,
        RunOnce(InMemoryPersistenceLayer(), key_prefix="t", expires_after_seconds=60),
        _refetcher(kintone),
    )
    return service, queue


def _delivery(body: dict[str, Any], secret: dict[str, Any] = URL_TOKEN) -> Delivery:
    raw = json.dumps(body, ensure_ascii=False).encode()
    signed = sign("kintone", raw, secret, now=0)
    return Delivery.build(raw, signed.headers, signed.query, "203.0.113.5")


def test_a_kintone_delivery_with_the_url_token_queues_the_refetched_record(kintone):
    service, queue = _service(kintone)
    assert service.receive("deals", _delivery(_event())).status == "queued"
    [message] = queue.messages
    event = json.loads(message["body"])
    assert event["event_type"] == "ADD_RECORD"
    assert event["record"]["$id"]["value"] == "1"
    assert "body" not in event
    assert "偽の取引" not in message["body"]


def test_a_kintone_delivery_with_a_wrong_url_token_is_refused_before_kintone_is_read(kintone):
    service, queue = _service(kintone)
    with pytest.raises(SignatureInvalid):
        service.receive("deals", _delivery(_event(), {"secret": "a-guess"}))
    assert queue.messages == []
