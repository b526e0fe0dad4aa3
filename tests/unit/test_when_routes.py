"""Every route checks its when: after its switch and before its guard: a refused request
reads no secret (not the guard's hash key, not a token, not a realm's key) and calls no
kintone; claims wait for the verified session."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from sekisho.access.errors import ClaimsNotMet, Closed, NetworkNotAllowed, NotOpenYet
from sekisho.entries.memory import InMemoryEntryLedger
from sekisho.errors import UpstreamUnavailable
from sekisho.guard.guard import Guard
from sekisho.guard.memory import InMemoryGuardStore
from sekisho.intake.attachments import InMemoryAttachmentStore
from sekisho.intake.outbox import Outbox
from sekisho.intake.queue import InMemoryQueue
from sekisho.intake.request import IntakeRequest
from sekisho.intake.service import IntakeService
from sekisho.lookup import LookupRequest, LookupService
from sekisho.once import InMemoryPersistenceLayer, RunOnce
from sekisho.policy import Policy
from sekisho.policy.validation import validate_policy
from sekisho.secrets.memory import InMemorySecretBackend
from sekisho.secrets.store import SecretStore
from sekisho.webhooks.delivery import Delivery
from sekisho.webhooks.errors import SignatureInvalid, SourceForbidden
from sekisho.webhooks.keys import SigningKeys
from sekisho.webhooks.queue import InMemoryEventQueue
from sekisho.webhooks.service import WebhookService
from tests.unit.test_session_support import (
    APP,
    CLIENT_IP,
    FORM,
    HANAKO,
    REALM,
    TARO,
    World,
    bearer,
    shipped_policy_data,
)

# 2026-12-07T03:00:00Z, a Monday: noon in Tokyo.
NOW = 1796612400.0
PAST = {"opens": "2020-01-01T00:00:00+09:00", "closes": "2021-01-01T00:00:00+09:00"}
FUTURE = {"opens": "2099-01-01T00:00:00+09:00"}
OFFICE = {"networks": ["10.0.0.0/8"]}
LOOKUP = {"match": {"owner_id": "A1", "deal_id": "D000001"}}
APPLICATION = {"fields": {"name": "山田 花子", "email": "hanako@example.com", "seats": 2}}


def policy_with(kind: str, name: str, when: dict[str, Any]) -> Policy:
    data = shipped_policy_data()
    data[kind][name]["when"] = when
    return validate_policy(data)


class Reads:
    """Every secret read and kintone client a service asked for, in order."""

    def __init__(self) -> None:
        self.made: list[str] = []

    def hash_key(self) -> bytes:
        self.made.append("guard hash key")
        return b"unit-test-guard-hash-key-0123456789"

    def token_source(self, name: str) -> Any:
        self.made.append(f"token {name}")
        return None

    def client(self, url: str, token: Any) -> Any:
        self.made.append("kintone client")
        raise UpstreamUnavailable("kintone was called")


def audit_outcomes(caplog) -> list[str]:
    return [r.outcome for r in caplog.records if getattr(r, "audit", False)]


# ------------------------------------------------------------------------ lookup


def lookup_service(policy: Policy, reads: Reads) -> LookupService:
    return LookupService(
        policy,
        reads.token_source,
        Guard(InMemoryGuardStore(), hash_key=reads.hash_key),
        "https://example.cybozu.com",
        client_factory=reads.client,
        sleep=lambda seconds: None,
        wall=lambda: NOW,
    )


@pytest.mark.parametrize(
    ("when", "client_ip", "refusal"),
    [
        (OFFICE, "127.0.0.1", NetworkNotAllowed),
        (OFFICE, "2001:db8::1", NetworkNotAllowed),
        (PAST, "127.0.0.1", Closed),
        (FUTURE, "127.0.0.1", NotOpenYet),
    ],
)
def test_a_lookup_its_when_refuses_reads_no_secret_and_calls_no_kintone(
    caplog, when, client_ip, refusal
):
    reads = Reads()
    service = lookup_service(policy_with("views", "deal-status", when), reads)
    caplog.set_level(logging.INFO)
    with pytest.raises(refusal) as caught:
        service.lookup(LookupRequest("deal-status", LOOKUP, client_ip))
    assert caught.value.status == 403
    assert reads.made == []
    assert audit_outcomes(caplog) == [caught.value.code]


@pytest.mark.parametrize("client_ip", ["10.1.2.3", "::ffff:10.1.2.3"])
def test_a_lookup_from_inside_the_network_goes_on_to_the_guard_and_kintone(client_ip):
    reads = Reads()
    service = lookup_service(policy_with("views", "deal-status", OFFICE), reads)
    with pytest.raises(UpstreamUnavailable):
        service.lookup(LookupRequest("deal-status", LOOKUP, client_ip))
    assert reads.made == [
        "guard hash key",
        "token sekisho/kintone/deals-view",
        "kintone client",
    ]


# ------------------------------------------------------------------------ intake


def intake_service(
    policy: Policy, reads: Reads, queue: InMemoryQueue | None = None
) -> IntakeService:
    return IntakeService(
        policy,
        reads.token_source,
        Guard(InMemoryGuardStore(), hash_key=reads.hash_key),
        "https://example.cybozu.com",
        outbox=Outbox(queue or InMemoryQueue(), InMemoryAttachmentStore()),
        client_factory=reads.client,
        sleep=lambda seconds: None,
        wall=lambda: NOW,
        entries=InMemoryEntryLedger(),
    )


@pytest.mark.parametrize(
    ("when", "refusal", "times"),
    [
        (PAST, Closed, {"closes": "2021-01-01T00:00:00+09:00"}),
        (
            FUTURE,
            NotOpenYet,
            {"opens": "2099-01-01T00:00:00+09:00", "next_open": "2099-01-01T00:00:00+09:00"},
        ),
        (OFFICE, NetworkNotAllowed, {}),
    ],
)
def test_a_submission_outside_the_form_s_when_is_refused_before_anything_is_read(
    caplog, when, refusal, times
):
    reads = Reads()
    queue = InMemoryQueue()
    service = intake_service(policy_with("forms", FORM, when), reads, queue)
    caplog.set_level(logging.INFO)
    with pytest.raises(refusal) as caught:
        service.submit(IntakeRequest(FORM, APPLICATION, "127.0.0.1"))
    problem = caught.value.problem()
    assert {k: problem[k] for k in ("opens", "closes", "next_open") if k in problem} == times
    assert reads.made == []
    assert queue.messages == []
    assert audit_outcomes(caplog) == [caught.value.code]


def test_the_shipped_form_is_open_in_its_application_period():
    reads = Reads()
    service = intake_service(validate_policy(shipped_policy_data()), reads)
    # Open: it goes on to the guard, the form's token and kintone.
    with pytest.raises(UpstreamUnavailable):
        service.submit(IntakeRequest(FORM, APPLICATION, "127.0.0.1"))
    assert reads.made == ["guard hash key", "token sekisho/kintone/seminar-add", "kintone client"]


# ---------------------------------------------------------------------- webhooks


class WebhookWorld:
    def __init__(self, hook: dict[str, Any]) -> None:
        self.backend = InMemorySecretBackend()
        self.backend.put("sekisho/webhook/gh", json.dumps({"secret": "gh-test-secret"}))
        self.reads: list[str] = []
        fetch = self.backend.fetch

        def counted(name: str, stage: str) -> str:
            self.reads.append(name)
            return fetch(name, stage)

        self.backend.fetch = counted  # type: ignore[method-assign]
        store = SecretStore(self.backend, allowed=frozenset({"sekisho/webhook/gh"}))
        self.queue = InMemoryEventQueue()
        policy = validate_policy(
            {
                "kintone": {"base_url": "https://example.cybozu.com"},
                "webhooks": {"gh": {"scheme": "github", "secret": "sekisho/webhook/gh", **hook}},
            }
        )
        self.service = WebhookService(
            policy,
            SigningKeys(store),
            self.queue,
            RunOnce(InMemoryPersistenceLayer(), key_prefix="t", expires_after_seconds=60),
            clock=lambda: NOW,
        )

    def receive(self, ip: str) -> Any:
        return self.service.receive("gh", Delivery.build(b"{}", {}, (), ip))


@pytest.mark.parametrize(
    ("hook", "ip", "refusal", "code"),
    [
        ({"when": PAST}, "203.0.113.7", Closed, "closed"),
        ({"when": OFFICE}, "203.0.113.7", NetworkNotAllowed, "network_not_allowed"),
        # allow_ips keeps working, and when.networks narrows it further.
        (
            {"allow_ips": ["203.0.113.0/24"], "when": {"networks": ["203.0.113.0/25"]}},
            "203.0.113.200",
            NetworkNotAllowed,
            "network_not_allowed",
        ),
        (
            {"allow_ips": ["203.0.113.0/24"], "when": {"networks": ["203.0.113.0/25"]}},
            "198.51.100.1",
            SourceForbidden,
            "forbidden",
        ),
    ],
)
def test_a_delivery_outside_the_source_s_when_is_refused_before_its_key_is_read(
    caplog, hook, ip, refusal, code
):
    world = WebhookWorld(hook)
    caplog.set_level(logging.INFO)
    with pytest.raises(refusal) as caught:
        world.receive(ip)
    assert (caught.value.status, caught.value.code) == (403, code)
    assert world.reads == []
    assert world.queue.messages == []
    assert audit_outcomes(caplog)[-1] in (code, "ip_refused")


def test_a_delivery_inside_both_networks_goes_on_to_verification():
    world = WebhookWorld(
        {"allow_ips": ["203.0.113.0/24"], "when": {"networks": ["203.0.113.0/25"]}}
    )
    with pytest.raises(SignatureInvalid):  # unsigned: verified, and refused
        world.receive("203.0.113.9")
    assert world.reads == ["sekisho/webhook/gh"]


# ---------------------------------------------------------------------- sessions


def session_world(kind: str, name: str, when: dict[str, Any]) -> World:
    data = shipped_policy_data()
    data[kind][name]["when"] = when
    world = World(validate_policy(data))
    reads: list[str] = []
    fetch = world.backend.fetch

    def counted(secret: str, stage: str) -> str:
        reads.append(secret)
        return fetch(secret, stage)

    world.backend.fetch = counted  # type: ignore[method-assign]
    world.secret_reads = reads  # type: ignore[attr-defined]
    return world


@pytest.mark.parametrize(
    ("when", "refusal"), [(PAST, Closed), (FUTURE, NotOpenYet), (OFFICE, NetworkNotAllowed)]
)
def test_a_code_request_and_a_sign_in_outside_the_realm_s_when_read_nothing(when, refusal):
    world = session_world("realms", REALM, when)
    with pytest.raises(refusal):
        world.request_code(HANAKO)
    with pytest.raises(refusal):
        world.sign_in_service.sign_in(REALM, {"email": HANAKO, "code": "123456"}, CLIENT_IP)
    assert world.mailer.sent == []
    assert world.kintone.calls == []
    assert world.secret_reads == []


def test_a_session_view_outside_its_when_is_refused_before_the_session_s_key_is_read():
    world = session_world("views", "my-applications", PAST)
    # Not even a session: the period is checked before the session (and its key).
    with pytest.raises(Closed):
        world.page("not-a-session")
    assert world.secret_reads == []
    assert world.kintone.calls == []


@pytest.mark.parametrize(("required", "allowed"), [(HANAKO, True), (TARO, False)])
def test_a_session_view_s_claims_are_checked_once_the_session_is_verified(required, allowed):
    world = session_world("views", "my-applications", {"claims": {"email": required}})
    world.apply(HANAKO)
    token = world.sign_in(HANAKO)
    world.kintone.calls.clear()
    if allowed:
        assert len(world.page(token)["records"]) == 1
    else:
        with pytest.raises(ClaimsNotMet) as caught:
            world.page(token)
        assert (caught.value.status, caught.value.code) == (403, "claims_not_met")
        assert world.kintone.calls == []


def _entry_request(world: World, token: str, record: int) -> Any:
    ref = world.tools.refs(REALM).make(APP, str(record))
    return world.request(token, ref, "1", bearer(token))


@pytest.mark.parametrize(
    ("when", "refusal"), [(PAST, Closed), ({"claims": {"email": TARO}}, ClaimsNotMet)]
)
def test_corrections_and_cancels_follow_their_form_s_when(when, refusal):
    world = session_world("forms", FORM, when)
    record = world.apply(HANAKO)
    token = world.sign_in(HANAKO)
    world.kintone.calls.clear()
    with pytest.raises(refusal):
        world.entries.correct(_entry_request(world, token, record), {"fields": {"seats": 3}})
    with pytest.raises(refusal):
        world.entries.cancel(_entry_request(world, token, record))
    assert world.kintone.calls == []


def test_the_owner_s_correction_passes_a_form_s_claims():
    world = session_world("forms", FORM, {"claims": {"email": HANAKO}})
    record = world.apply(HANAKO)
    token = world.sign_in(HANAKO)
    answer = world.entries.correct(_entry_request(world, token, record), {"fields": {"seats": 3}})
    assert answer == {"revision": "2"}
