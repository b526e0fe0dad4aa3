"""The webhook service with in-memory twins: verify, dedupe, queue, then answer."""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from sekisho.errors import ConfigurationError, PayloadTooLarge, RouteDisabled
from sekisho.once import InMemoryPersistenceLayer, RunOnce
from sekisho.policy import Policy
from sekisho.policy.validation import validate_policy
from sekisho.secrets.memory import InMemorySecretBackend
from sekisho.secrets.store import SecretStore
from sekisho.webhooks.delivery import Delivery
from sekisho.webhooks.errors import (
    DeliveryInProgress,
    SignatureInvalid,
    SourceForbidden,
    StaleDelivery,
    UnknownSource,
    WebhookQueueUnavailable,
)
from sekisho.webhooks.keys import SigningKeys
from sekisho.webhooks.queue import MAX_MESSAGE_BYTES, InMemoryEventQueue
from sekisho.webhooks.service import WebhookService
from webhook_senders import sign

NOW = 1_795_000_000
GITHUB = {"secret": "github-test-secret"}
STANDARD = {"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
OLD_STANDARD = {"secret": "whsec_c2VraXNoby10ZXN0LW9sZC1rZXktMDAwMDAwMA=="}
BOX = {"primary": "box-primary-test", "secondary": "box-secondary-test"}
OLD_BOX = {"primary": "box-old-primary", "secondary": "box-old-secondary"}
SLACK = {"secret": "slack-test-signing-secret"}
SECRETS = {
    "sekisho/webhook/gh": GITHUB,
    "sekisho/webhook/std": STANDARD,
    "sekisho/webhook/box": BOX,
    "sekisho/webhook/slack": SLACK,
    "sekisho/webhook/office": GITHUB | {"note": "same shape, own secret"},
}


def _policy() -> Policy:
    return validate_policy(
        {
            "kintone": {"base_url": "https://example.cybozu.com"},
            "webhooks": {
                "gh": {"scheme": "github", "secret": "sekisho/webhook/gh"},
                "std": {"scheme": "standard", "secret": "sekisho/webhook/std"},
                "box": {"scheme": "box", "secret": "sekisho/webhook/box", "grace_seconds": 600},
                "slack": {"scheme": "slack", "secret": "sekisho/webhook/slack"},
                "office": {
                    "scheme": "github",
                    "secret": "sekisho/webhook/office",
                    "allow_ips": ["203.0.113.0/24"],
                },
            },
        }
    )


class Harness:
    def __init__(self, policy: Policy | None = None) -> None:
        self.backend = InMemorySecretBackend()
        for name, value in SECRETS.items():
            self.backend.put(name, json.dumps(value))
        self.store = SecretStore(self.backend, allowed=frozenset(SECRETS))
        self.queue = InMemoryEventQueue()
        self.persistence = InMemoryPersistenceLayer()
        self.sleeps: list[float] = []
        self.service = WebhookService(
            policy or _policy(),
            SigningKeys(self.store),
            self.queue,
            RunOnce(self.persistence, key_prefix="sekisho.webhook", expires_after_seconds=600),
            clock=lambda: NOW,
            sleep=self.sleeps.append,
        )

    def rotate(self, name: str, new: dict[str, Any], old: dict[str, Any], at: float) -> None:
        self.backend.put(name, json.dumps(new | {"rotated_at": at}))
        self.backend.put(name, json.dumps(old), stage="AWSPREVIOUS")
        self.store = SecretStore(self.backend, allowed=frozenset(SECRETS))
        self.service._keys = SigningKeys(self.store, clock=lambda: NOW)


@pytest.fixture
def harness() -> Harness:
    return Harness()


def _delivery(
    scheme: str,
    secret: dict[str, Any],
    body: dict[str, Any] | bytes,
    *,
    now: int = NOW,
    delivery_id: str = "d-1",
    ip: str = "198.51.100.7",
) -> Delivery:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    signed = sign(scheme, raw, secret, now=now, delivery_id=delivery_id)
    headers = {"Content-Type": "application/json", **signed.headers}
    return Delivery.build(raw, headers, signed.query, ip)


PUSH = {"ref": "refs/heads/main", "pusher": {"name": "山田"}}


def test_a_verified_delivery_is_queued_with_its_dedupe_key_and_verified_body(harness):
    receipt = harness.service.receive("gh", _delivery("github", GITHUB, PUSH))
    assert receipt.status == "queued"
    assert receipt.body == {"status": "queued"}
    [message] = harness.queue.messages
    event = json.loads(message["body"])
    assert message["source"] == "gh"
    assert message["dedupe_key"] == event["dedupe_key"]
    assert event["scheme"] == "github"
    assert event["received_at"] == "2026-11-18T11:06:40Z"
    assert json.loads(event["body"]) == PUSH
    assert event["content_type"] == "application/json"


def test_a_redelivery_of_the_same_event_answers_duplicate_and_is_not_queued_again(harness):
    harness.service.receive("gh", _delivery("github", GITHUB, PUSH))
    again = harness.service.receive("gh", _delivery("github", GITHUB, PUSH, now=NOW + 3600))
    assert again.status == "duplicate"
    assert len(harness.queue.messages) == 1


def test_another_event_of_the_same_source_is_queued_too(harness):
    harness.service.receive("gh", _delivery("github", GITHUB, PUSH))
    other = PUSH | {"ref": "refs/heads/release"}
    harness.service.receive("gh", _delivery("github", GITHUB, other, delivery_id="d-2"))
    assert len(harness.queue.messages) == 2


def test_a_captured_github_delivery_replayed_under_a_new_guid_is_a_duplicate(harness):
    harness.service.receive("gh", _delivery("github", GITHUB, PUSH))
    replay = _delivery("github", GITHUB, PUSH, delivery_id="forged-new-guid")
    assert harness.service.receive("gh", replay).status == "duplicate"
    assert len(harness.queue.messages) == 1


def test_the_same_event_id_from_two_sources_is_two_events(harness):
    harness.service.receive("gh", _delivery("github", GITHUB, PUSH))
    harness.service.receive(
        "office", _delivery("github", SECRETS["sekisho/webhook/office"], PUSH, ip="203.0.113.9")
    )
    assert len(harness.queue.messages) == 2


def test_when_the_queue_fails_the_answer_is_503_and_a_later_redelivery_is_queued(harness):
    harness.queue.fail = True
    with pytest.raises(WebhookQueueUnavailable) as refused:
        harness.service.receive("gh", _delivery("github", GITHUB, PUSH))
    assert refused.value.status == 503
    assert len(harness.persistence) == 0  # the failure left no dedupe record behind
    harness.queue.fail = False
    assert harness.service.receive("gh", _delivery("github", GITHUB, PUSH)).status == "queued"
    assert len(harness.queue.messages) == 1


def test_when_the_dedupe_table_fails_nothing_is_queued_and_the_answer_is_503(harness):
    harness.persistence.fail = True
    with pytest.raises(WebhookQueueUnavailable):
        harness.service.receive("gh", _delivery("github", GITHUB, PUSH))
    assert harness.queue.messages == []


def test_fifty_concurrent_redeliveries_queue_the_event_once(harness):
    delivery = _delivery("github", GITHUB, PUSH)
    release = threading.Event()
    original = harness.queue.send

    def slow_send(body: str, **attrs: str) -> None:
        release.wait(5)
        original(body, **attrs)

    harness.queue.send = slow_send  # type: ignore[method-assign]
    harness.service._sleep = lambda seconds: release.set()  # a waiter lets the first finish

    def deliver() -> str:
        try:
            return harness.service.receive("gh", delivery).status
        except DeliveryInProgress:
            return "in_progress"

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(lambda _: deliver(), range(50)))
    assert len(harness.queue.messages) == 1
    assert outcomes.count("queued") == 1
    assert set(outcomes) <= {"queued", "duplicate", "in_progress"}


def test_a_redelivery_while_the_first_is_still_queueing_gets_503_with_retry_after(harness):
    delivery = _delivery("github", GITHUB, PUSH)
    entered, release = threading.Event(), threading.Event()
    original = harness.queue.send

    def stuck_send(body: str, **attrs: str) -> None:
        entered.set()
        release.wait(5)
        original(body, **attrs)

    harness.queue.send = stuck_send  # type: ignore[method-assign]
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(harness.service.receive, "gh", delivery)
        assert entered.wait(5)
        with pytest.raises(DeliveryInProgress) as busy:
            harness.service.receive("gh", delivery)
        release.set()
        assert first.result().status == "queued"
    assert busy.value.status == 503
    assert busy.value.retry_after == 5
    assert len(harness.sleeps) == 4  # it waited for the first before giving up


def test_an_unknown_source_is_not_found(harness):
    with pytest.raises(UnknownSource) as refused:
        harness.service.receive("nobody", _delivery("github", GITHUB, PUSH))
    assert refused.value.status == 404


@pytest.mark.parametrize(
    ("ip", "allowed"),
    [("203.0.113.9", True), ("198.51.100.7", False), ("", False), ("not-an-ip", False)],
)
def test_a_source_with_an_ip_allowlist_refuses_other_addresses(harness, ip, allowed):
    delivery = _delivery("github", SECRETS["sekisho/webhook/office"], PUSH, ip=ip)
    if allowed:
        assert harness.service.receive("office", delivery).status == "queued"
    else:
        with pytest.raises(SourceForbidden) as refused:
            harness.service.receive("office", delivery)
        assert refused.value.status == 403
        assert harness.queue.messages == []


def test_a_wrong_secret_is_401_and_nothing_is_queued(harness):
    with pytest.raises(SignatureInvalid) as refused:
        harness.service.receive("gh", _delivery("github", {"secret": "guess"}, PUSH))
    assert refused.value.status == 401
    assert refused.value.code == "signature_invalid"
    assert harness.queue.messages == []


def test_a_correctly_signed_but_old_delivery_is_stale(harness):
    with pytest.raises(StaleDelivery):
        harness.service.receive(
            "std", _delivery("standard", STANDARD, {"type": "a"}, now=NOW - 3600)
        )


@pytest.mark.parametrize(
    ("scheme", "source", "keys"),
    [
        ("standard", "std", ("sekisho/webhook/std", STANDARD, OLD_STANDARD)),
        ("box", "box", ("sekisho/webhook/box", BOX, OLD_BOX)),
    ],
)
def test_a_delivery_signed_with_the_previous_secret_passes_only_inside_the_grace_period(
    harness, scheme, source, keys
):
    name, new, old = keys
    body = {"id": "evt-1", "type": "invoice.paid", "trigger": "FILE.UPLOADED"}
    harness.rotate(name, new, old, at=NOW - 60)
    assert harness.service.receive(source, _delivery(scheme, old, body)).status == "queued"

    harness.rotate(name, new, old, at=NOW - 8 * 86_400)  # past any grace period
    with pytest.raises(SignatureInvalid):
        harness.service.receive(
            source, _delivery(scheme, old, body | {"id": "evt-2"}, delivery_id="d-2")
        )


def test_without_rotated_at_the_previous_secret_is_never_tried(harness):
    harness.backend.put("sekisho/webhook/std", json.dumps(STANDARD))
    harness.backend.put("sekisho/webhook/std", json.dumps(OLD_STANDARD), stage="AWSPREVIOUS")
    with pytest.raises(SignatureInvalid):
        harness.service.receive("std", _delivery("standard", OLD_STANDARD, {"type": "a"}))
    assert harness.backend.calls == 2  # AWSCURRENT and its one forced re-read, no AWSPREVIOUS


def test_slack_url_verification_is_answered_with_its_challenge_and_not_queued(harness):
    body = {
        "type": "url_verification",
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        "token": "x",
    }
    receipt = harness.service.receive("slack", _delivery("slack", SLACK, body))
    assert receipt.body == {"challenge": body["challenge"]}
    assert harness.queue.messages == []


def test_an_event_too_large_for_the_queue_is_refused_and_not_remembered(harness):
    body = {"blob": "x" * MAX_MESSAGE_BYTES}
    with pytest.raises(PayloadTooLarge):
        harness.service.receive("gh", _delivery("github", GITHUB, body))
    assert len(harness.persistence) == 0


def test_every_receipt_is_audited_without_the_secret_or_the_body(harness, caplog):
    caplog.set_level(logging.INFO, logger="sekisho.audit")
    secret_body = {"ref": "refs/heads/秘密のブランチ"}
    harness.service.receive("gh", _delivery("github", GITHUB, secret_body))
    harness.service.receive("gh", _delivery("github", GITHUB, secret_body))
    with pytest.raises(SignatureInvalid):
        harness.service.receive(
            "gh", _delivery("github", {"secret": "wrong"}, secret_body, delivery_id="d-9")
        )
    records = [r for r in caplog.records if getattr(r, "audit", False)]
    outcomes = [r.outcome for r in records]
    assert outcomes == ["verified", "queued", "verified", "duplicate", "signature_invalid"]
    assert {r.source for r in records} == {"gh"}
    assert {(r.route, r.caller, tuple(r.record_ids)) for r in records} == {
        ("webhook:gh", "webhook", ())
    }
    assert {r.scheme for r in records} == {"github"}
    assert {r.client_ip for r in records} == {"198.51.100.7"}
    text = "\n".join(json.dumps(r.__dict__, default=str, ensure_ascii=False) for r in records)
    assert GITHUB["secret"] not in text
    assert "秘密" not in text


def test_a_delivery_verified_with_the_previous_key_is_logged_so_the_sender_gets_updated(
    harness, caplog
):
    caplog.set_level(logging.INFO, logger="sekisho")
    harness.rotate("sekisho/webhook/std", STANDARD, OLD_STANDARD, at=NOW - 60)
    harness.service.receive("std", _delivery("standard", OLD_STANDARD, {"type": "a"}))
    [verified] = [r for r in caplog.records if getattr(r, "outcome", None) == "verified"]
    assert verified.stage == "AWSPREVIOUS"
    assert any("previous key" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")


def test_a_key_rotated_since_it_was_cached_is_read_again_at_once(harness):
    harness.service.receive("gh", _delivery("github", GITHUB, PUSH))  # caches the key
    new = {"secret": "github-rotated-secret", "rotated_at": NOW}
    harness.backend.put("sekisho/webhook/gh", json.dumps(new))
    later = PUSH | {"ref": "refs/heads/after-rotation"}
    receipt = harness.service.receive("gh", _delivery("github", new, later, delivery_id="d-2"))
    assert receipt.status == "queued"


def test_forged_deliveries_cannot_make_each_a_secrets_manager_read(harness):
    harness.service.receive("gh", _delivery("github", GITHUB, PUSH))
    before = harness.backend.calls
    for n in range(20):
        forged = _delivery("github", {"secret": "guess"}, PUSH, delivery_id=f"f-{n}")
        with pytest.raises(SignatureInvalid):
            harness.service.receive("gh", forged)
    assert harness.backend.calls - before == 1  # one forced re-read per 30 s, not twenty


def test_characters_sqs_refuses_travel_escaped_and_arrive_unchanged(harness):
    body = {"ref": "refs/heads/x\ufffey\uffff", "pusher": {"name": "山田"}}
    harness.service.receive("gh", _delivery("github", GITHUB, body))
    [message] = harness.queue.messages
    assert "\ufffe" not in message["body"]
    assert "\uffff" not in message["body"]
    assert "山田" in message["body"]  # non-ASCII text stays UTF-8 (a third of the escapes)
    assert json.loads(json.loads(message["body"])["body"]) == body


@pytest.mark.parametrize(
    ("event", "max_bytes", "refusal"),
    [
        (
            {"body": "!!not base64!!", "isBase64Encoded": True},
            1000,
            (SignatureInvalid, "signature_invalid"),
        ),
        ({"body": "x" * 50, "isBase64Encoded": False}, 10, (PayloadTooLarge, "payload_too_large")),
    ],
)
def test_a_refusal_before_verification_is_audited_too(harness, caplog, event, max_bytes, refusal):
    error, outcome = refusal
    caplog.set_level(logging.INFO, logger="sekisho.audit")
    event = event | {"requestContext": {"identity": {"sourceIp": "198.51.100.7"}}}
    with pytest.raises(error):
        harness.service.receive_event("gh", event, max_body_bytes=max_bytes)
    [record] = [r for r in caplog.records if getattr(r, "audit", False)]
    assert (record.outcome, record.source, record.client_ip) == (outcome, "gh", "198.51.100.7")
    assert harness.queue.messages == []


def test_a_source_switched_off_in_the_policy_answers_503_before_any_key_is_read():
    policy = _policy()
    hook = policy.webhooks["gh"].replace(enabled=False)
    harness = Harness(policy.replace(webhooks={**policy.webhooks, "gh": hook}))
    reads: list[str] = []
    harness.backend.get = lambda *a, **k: reads.append("read")  # type: ignore[method-assign]
    with pytest.raises(RouteDisabled) as caught:
        harness.service.receive("gh", _delivery("github", GITHUB, {"zen": "x"}))
    assert (caught.value.status, caught.value.code) == (503, "route_disabled")
    assert harness.queue.messages == []
    assert reads == []


# ------------------------------------------------------------ rotation edge cases


def _warnings(caplog, words: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelname == "WARNING" and words in r.getMessage()]


@pytest.mark.parametrize(
    "rotated_at",
    [
        pytest.param(NOW + 3600, id="an-hour-ahead"),
        pytest.param(1_765_000_000_000, id="milliseconds-by-hand"),
    ],
)
def test_a_rotated_at_in_the_future_opens_no_grace_period(harness, caplog, rotated_at):
    caplog.set_level(logging.INFO, logger="sekisho")
    harness.rotate("sekisho/webhook/std", STANDARD, OLD_STANDARD, at=rotated_at)
    with pytest.raises(SignatureInvalid) as refused:
        harness.service.receive("std", _delivery("standard", OLD_STANDARD, {"type": "a"}))
    assert refused.value.status == 401
    assert harness.queue.messages == []
    assert harness.backend.calls == 2  # AWSCURRENT and its forced re-read, no AWSPREVIOUS
    [warning] = _warnings(caplog, "rotated_at is in the future")
    assert warning.secret == "sekisho/webhook/std"
    logged = json.dumps([r.__dict__ for r in caplog.records], default=str)
    assert STANDARD["secret"] not in logged
    assert OLD_STANDARD["secret"] not in logged
    # The current key still works.
    receipt = harness.service.receive("std", _delivery("standard", STANDARD, {"type": "b"}))
    assert receipt.status == "queued"


def test_a_rotated_at_a_little_ahead_is_clock_skew_and_opens_the_grace_period(harness):
    harness.rotate("sekisho/webhook/std", STANDARD, OLD_STANDARD, at=NOW + 120)
    old = _delivery("standard", OLD_STANDARD, {"type": "a"})
    assert harness.service.receive("std", old).status == "queued"


def test_the_future_rotated_at_is_warned_about_once_a_cache_period_not_per_delivery(
    harness, caplog
):
    caplog.set_level(logging.WARNING, logger="sekisho")
    harness.rotate("sekisho/webhook/std", STANDARD, OLD_STANDARD, at=NOW + 86_400)
    for n in range(5):
        forged = _delivery("standard", OLD_STANDARD, {"type": "a", "n": n}, delivery_id=f"f{n}")
        with pytest.raises(SignatureInvalid):
            harness.service.receive("std", forged)
    assert len(_warnings(caplog, "rotated_at is in the future")) == 1


FORGED_STANDARD = {"secret": "whsec_Z3Vlc3MtZ3Vlc3MtZ3Vlc3MtZ3Vlc3M="}
# (source, scheme, its current key, the template's placeholder left at AWSPREVIOUS, a forger)
PLACEHOLDERS = [
    pytest.param(("gh", "github", GITHUB, {"secret": ""}, {"secret": "guess"}), id="github"),
    pytest.param(
        ("std", "standard", STANDARD, {"secret": ""}, FORGED_STANDARD), id="standard-empty"
    ),
    pytest.param(
        ("std", "standard", STANDARD, {"secret": "whsec_"}, FORGED_STANDARD), id="standard-no-key"
    ),
    pytest.param(
        ("box", "box", BOX, {"primary": "", "secondary": ""}, {"primary": "x", "secondary": "y"}),
        id="box",
    ),
]


@pytest.mark.parametrize("case", PLACEHOLDERS)
def test_a_forged_delivery_after_the_first_rotation_is_refused_not_a_server_error(
    harness, caplog, case
):
    source, scheme, current, placeholder, forger = case
    caplog.set_level(logging.WARNING, logger="sekisho")
    name = f"sekisho/webhook/{source}"
    # The first rotation leaves the template's empty placeholder at AWSPREVIOUS.
    harness.rotate(name, current, {"kind": "webhook-key"} | placeholder, at=NOW - 60)
    body = {"id": "evt-1", "type": "invoice.paid", "trigger": "FILE.UPLOADED"}
    for n in range(3):
        forged = _delivery(scheme, forger, body | {"n": n}, delivery_id=f"forged-{n}")
        with pytest.raises(SignatureInvalid) as refused:
            harness.service.receive(source, forged)
        assert (refused.value.status, refused.value.code) == (401, "signature_invalid")
    assert harness.queue.messages == []
    [warning] = _warnings(caplog, "previous version of a webhook secret holds no usable key")
    assert warning.secret == name
    # The sender's real key still passes.
    assert harness.service.receive(source, _delivery(scheme, current, body)).status == "queued"


def test_a_previous_version_that_is_not_json_is_no_previous_key(harness, caplog):
    caplog.set_level(logging.WARNING, logger="sekisho")
    harness.rotate("sekisho/webhook/gh", GITHUB, {}, at=NOW - 60)
    harness.backend.put("sekisho/webhook/gh", "not json", stage="AWSPREVIOUS")
    with pytest.raises(SignatureInvalid):
        harness.service.receive("gh", _delivery("github", {"secret": "guess"}, PUSH))
    assert len(_warnings(caplog, "holds no usable key")) == 1


@pytest.mark.parametrize(
    "empty", [{"secret": ""}, {}, {"secret": 42}], ids=["empty", "absent", "int"]
)
def test_an_unusable_current_key_stays_a_configuration_error(harness, empty):
    harness.rotate("sekisho/webhook/gh", {"kind": "webhook-key"} | empty, GITHUB, at=NOW - 60)
    with pytest.raises(ConfigurationError) as refused:
        harness.service.receive("gh", _delivery("github", GITHUB, PUSH))
    assert (refused.value.status, refused.value.code) == (500, "configuration_error")
    assert harness.queue.messages == []
