"""The action consumer against the local kintone: each verified event is applied exactly
once, refusals go to the dead-letter queue with their reason, outages are retried."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from sekisho.actions.dead_letters import InMemoryDeadLetters
from sekisho.actions.service import KEY_PREFIX, ActionService
from sekisho.actions.writes import ActionWriter
from sekisho.errors import SekishoError, UpstreamUnavailable
from sekisho.kintone.breaker import CircuitBreaker
from sekisho.kintone.client import KintoneClient, TokenSource
from sekisho.kintone.clients import ClientsByToken
from sekisho.kintone.retry import RetryPolicy
from sekisho.once import InMemoryPersistenceLayer, RunOnce
from sekisho.policy.validation import parse_policy, read_policy
from sekisho.redelivery import Backoff, InMemoryVisibility
from sekisho.webhooks.refetch import Refetcher
from tests.action_support import (
    DEMO_RECEIPT,
    FAILED,
    SUCCEEDED,
    checkout_completed,
    checkout_event,
    kintone_message,
    sqs_record,
    stripe_message,
)

pytestmark = pytest.mark.emulator

REPO = Path(__file__).resolve().parents[2]
POLICY = read_policy(REPO / "policy.yaml")
# The emulator's demo tokens behind each secret the actions name (local/devstack/secrets.yaml).
TOKENS = {
    "sekisho/kintone/seminar-edit": "seminar-edit-token",
    "sekisho/kintone/seminar-payment-view": "seminar-view-token",
    "sekisho/kintone/audit-add": "audit-add-token",
    "sekisho/kintone/deals-refetch": "deals-view-token",
}
SEMINAR, AUDIT = 2, 3


class Harness:
    def __init__(self, url: str, *, before_update=None, policy=POLICY) -> None:
        self.url = url
        self.persistence = InMemoryPersistenceLayer()
        self.dead_letters = InMemoryDeadLetters()
        self.visibility = InMemoryVisibility()
        breaker = CircuitBreaker(failure_threshold=1000)

        def client(name: str) -> KintoneClient:
            made = KintoneClient(
                url,
                TokenSource.fixed(TOKENS[name]),
                retry=RetryPolicy(max_attempts=1),
                breaker=breaker,
            )
            if before_update is not None:
                original = made.update_record

                def update_record(*args, **kwargs):
                    before_update()
                    return original(*args, **kwargs)

                made.update_record = update_record  # type: ignore[method-assign]
            return made

        clients = ClientsByToken(client)
        self.service = ActionService(
            policy,
            ActionWriter(clients),
            RunOnce(self.persistence, key_prefix=KEY_PREFIX, expires_after_seconds=3600),
            self.dead_letters,
            Backoff(self.visibility, min_seconds=1),
            refetcher=Refetcher(clients),
        )

    def forget(self) -> None:
        """As if the ledger lost every entry (expired, restored, or a crash after the write)."""
        self.persistence.forget_all()

    def apply(self, message: dict[str, Any], **record: Any) -> str:
        return self.service.apply_record(sqs_record(message, **record))


@pytest.fixture
def harness(kintone, http) -> Harness:
    # The tests read the audit app back with a view token of their own (no route has one).
    token = {"token": "audit-view-token", "app": AUDIT, "permissions": ["view"], "active": True}
    http.post(f"{kintone.url}/_emulator/tokens", json=token).raise_for_status()
    return Harness(kintone.url)


def records(url: str, app: int, token: str, query: str = "") -> list[dict[str, Any]]:
    client = KintoneClient(url, TokenSource.fixed(token))
    return client.get_records(app, query).records


def seminar(url: str, receipt: str = DEMO_RECEIPT) -> dict[str, Any]:
    (found,) = records(url, SEMINAR, "seminar-view-token", f'受付ID = "{receipt}"')
    return {code: cell["value"] for code, cell in found.items()}


def audit_lines(url: str) -> list[dict[str, Any]]:
    return [
        {code: cell["value"] for code, cell in r.items()}
        for r in records(url, AUDIT, "audit-view-token")
    ]


def add_seminar(url: str, receipt: str, name: str = "佐藤 次郎") -> None:
    client = KintoneClient(url, TokenSource.fixed("seminar-add-token"))
    client.add_record(SEMINAR, {"受付ID": receipt, "氏名": name, "メール": "jiro@example.com"})


# ------------------------------------------------------------------------- update


def test_a_paid_checkout_marks_exactly_the_application_it_names_as_paid(harness, kintone):
    add_seminar(kintone.url, "receipt-other")
    before, other = seminar(kintone.url), seminar(kintone.url, "receipt-other")

    assert harness.apply(stripe_message(checkout_completed("evt_paid_1"))) == "applied"

    after = seminar(kintone.url)
    assert after["支払状況"] == "支払済"
    assert after["決済額"] == "12000"
    assert after["決済日時"] == "2025-12-03T00:00:00Z"
    assert after["決済イベントID"] == "demo-stripe#evt_paid_1"
    assert int(after["$revision"]) == int(before["$revision"]) + 1
    assert after["氏名"] == before["氏名"]
    assert seminar(kintone.url, "receipt-other") == other


def test_a_redelivered_message_changes_nothing_more(harness, kintone):
    message = stripe_message(checkout_completed("evt_paid_2"))
    assert harness.apply(message) == "applied"
    revision = seminar(kintone.url)["$revision"]

    assert harness.apply(message, receive_count=2) == "duplicate"
    assert seminar(kintone.url)["$revision"] == revision


def test_an_event_already_in_kintone_is_not_applied_again_when_the_ledger_forgot_it(
    harness, kintone
):
    message = stripe_message(checkout_completed("evt_paid_3"))
    harness.apply(message)
    revision = seminar(kintone.url)["$revision"]
    harness.forget()

    assert harness.apply(message, receive_count=2) == "duplicate"
    assert seminar(kintone.url)["$revision"] == revision


def test_fifty_concurrent_deliveries_of_one_event_advance_the_revision_once(harness, kintone):
    message = stripe_message(checkout_completed("evt_paid_4"))
    revision = int(seminar(kintone.url)["$revision"])
    outcomes: list[str] = []
    lock = threading.Lock()

    def deliver(_: int) -> None:
        while True:
            try:
                outcome = harness.apply(message)
            except UpstreamUnavailable:
                continue  # in progress elsewhere: SQS would deliver it again later
            with lock:
                outcomes.append(outcome)
            return

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(deliver, range(50)))

    assert sorted(set(outcomes)) == ["applied", "duplicate"]
    assert outcomes.count("applied") == 1
    assert int(seminar(kintone.url)["$revision"]) == revision + 1


def test_a_concurrent_edit_is_read_again_and_kept_not_overwritten(kintone):
    edits = []

    def someone_edits_first() -> None:
        if not edits:
            edits.append(1)
            (found,) = records(
                kintone.url, SEMINAR, "seminar-view-token", f'受付ID = "{DEMO_RECEIPT}"'
            )
            person = KintoneClient(kintone.url, TokenSource.fixed("seminar-edit-token"))
            person.update_record(SEMINAR, int(found["$id"]["value"]), {"氏名": "山田 花子（変更）"})

    harness = Harness(kintone.url, before_update=someone_edits_first)
    revision = int(seminar(kintone.url)["$revision"])

    assert harness.apply(stripe_message(checkout_completed("evt_paid_5"))) == "applied"

    after = seminar(kintone.url)
    assert after["氏名"] == "山田 花子（変更）"
    assert after["支払状況"] == "支払済"
    assert int(after["$revision"]) == revision + 2  # the person's edit, then the event's


def test_a_key_kintone_folds_onto_another_record_never_updates_that_record(kintone, http):
    # Real kintone may compare text ignoring case and width: only an exact key counts.
    http.post(f"{kintone.url}/_emulator/collation", json={"fold": True}).raise_for_status()
    add_seminar(kintone.url, "receipt-abc")
    before = seminar(kintone.url, "receipt-abc")
    harness = Harness(kintone.url)

    assert harness.apply(stripe_message(checkout_completed("evt_fold", "RECEIPT-ABC"))) == (
        "dead_lettered"
    )
    assert _dead_letter(harness)["reason"] == "target_missing"
    assert seminar(kintone.url, "receipt-abc") == before


# ------------------------------------------------------------------------- upsert


def upsert_policy():
    """The demo's update as an upsert, its token allowed both add and edit."""
    data = yaml.safe_load((REPO / "policy.yaml").read_text(encoding="utf-8"))
    action = data["webhooks"]["demo-stripe"]["actions"]["mark-seminar-paid"]
    action.update(operation="upsert", permissions=["add", "edit"])
    action["fields"]["氏名"] = {"set": "決済から"}
    action["fields"]["メール"] = {"set": "stripe@example.com"}
    return parse_policy(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


@pytest.fixture
def upsert(kintone, http) -> Harness:
    token = {"token": "seminar-add-edit-token", "app": SEMINAR, "permissions": ["add", "edit"]}
    http.post(f"{kintone.url}/_emulator/tokens", json={**token, "active": True})
    TOKENS["sekisho/kintone/seminar-edit"] = "seminar-add-edit-token"
    try:
        yield Harness(kintone.url, policy=upsert_policy())
    finally:
        TOKENS["sekisho/kintone/seminar-edit"] = "seminar-edit-token"


def test_an_upsert_adds_the_record_its_key_names_when_there_is_none(upsert, kintone):
    assert upsert.apply(stripe_message(checkout_completed("evt_up_1", "receipt-new"))) == (
        "applied"
    )
    added = seminar(kintone.url, "receipt-new")
    assert (added["支払状況"], added["氏名"], added["決済イベントID"]) == (
        "支払済",
        "決済から",
        "demo-stripe#evt_up_1",
    )
    upsert.forget()
    assert upsert.apply(stripe_message(checkout_completed("evt_up_1", "receipt-new"))) == (
        "duplicate"
    )
    assert len(records(kintone.url, SEMINAR, "seminar-view-token", '受付ID = "receipt-new"')) == 1


def test_an_upsert_updates_the_record_its_key_names_when_there_is_one(upsert, kintone):
    revision = int(seminar(kintone.url)["$revision"])
    assert upsert.apply(stripe_message(checkout_completed("evt_up_2"))) == "applied"
    after = seminar(kintone.url)
    assert after["支払状況"] == "支払済"
    assert int(after["$revision"]) == revision + 1


def test_an_upsert_that_loses_the_race_to_add_updates_the_winner(kintone, http):
    token = {"token": "seminar-add-edit-token", "app": SEMINAR, "permissions": ["add", "edit"]}
    http.post(f"{kintone.url}/_emulator/tokens", json={**token, "active": True})
    TOKENS["sekisho/kintone/seminar-edit"] = "seminar-add-edit-token"
    raced = []
    try:
        harness = Harness(kintone.url, policy=upsert_policy())
        writer = harness.service._writer
        original = writer._add

        def add_after_someone_else(action, values, written):
            if not raced:
                raced.append(1)
                add_seminar(kintone.url, "receipt-raced", "先に来た人")
            return original(action, values, written)

        writer._add = add_after_someone_else  # type: ignore[method-assign]
        message = stripe_message(checkout_completed("evt_up_3", "receipt-raced"))
        assert harness.apply(message) == "applied"
    finally:
        TOKENS["sekisho/kintone/seminar-edit"] = "seminar-edit-token"
    (only,) = records(kintone.url, SEMINAR, "seminar-view-token", '受付ID = "receipt-raced"')
    assert only["支払状況"]["value"] == "支払済"
    assert only["氏名"]["value"] == "決済から"


# ---------------------------------------------------------------------------- add


DEAL = {
    "$id": {"type": "__ID__", "value": "1"},
    "$revision": {"type": "__REVISION__", "value": "1"},
    "担当ID": {"type": "SINGLE_LINE_TEXT", "value": "A1"},
    "取引ID": {"type": "SINGLE_LINE_TEXT", "value": "D000001"},
    "取引名": {"type": "SINGLE_LINE_TEXT", "value": "倉庫管理システム更改"},
    "金額": {"type": "NUMBER", "value": "1200000"},
    "ステータス": {"type": "DROP_DOWN", "value": "商談中"},
}


def test_a_new_deal_adds_one_audit_line_even_when_delivered_twice_and_forgotten(harness, kintone):
    message = kintone_message("notification-1", DEAL)
    assert harness.apply(message) == "applied"
    harness.forget()
    assert harness.apply(message, receive_count=2) == "duplicate"

    lines = audit_lines(kintone.url)
    assert len(lines) == 1
    assert {k: lines[0][k] for k in ("通知ID", "取引ID", "取引名", "金額", "種別")} == {
        "通知ID": "demo-kintone#notification-1",
        "取引ID": "D000001",
        "取引名": "倉庫管理システム更改",
        "金額": "1200000",
        "種別": "ADD_RECORD",
    }


def test_an_event_queued_while_kintone_was_down_is_read_from_kintone_first(harness, kintone):
    message = kintone_message("notification-2", None, record_id="2", refetched=False)
    assert harness.apply(message) == "applied"
    (line,) = audit_lines(kintone.url)
    assert (line["取引ID"], line["取引名"]) == ("D000002", "年間保守契約")


def test_an_update_event_of_the_same_source_is_dropped_not_retried(harness, kintone):
    message = kintone_message("notification-3", DEAL, event_type="UPDATE_RECORD")
    assert harness.apply(message) == "dropped"
    assert audit_lines(kintone.url) == []
    assert harness.dead_letters.messages == []


# ---------------------------------------------------------------------- refusals


def _dead_letter(harness: Harness) -> dict[str, str]:
    (letter,) = harness.dead_letters.messages
    return {name: value["StringValue"] for name, value in letter["attributes"].items()}


REFUSALS = [
    pytest.param(
        stripe_message(checkout_completed("evt_r1", metadata={})),
        ("pointer_missing", "受付ID"),
        id="key-pointer-missing",
    ),
    pytest.param(
        stripe_message(checkout_completed("evt_r2", amount_total="12,000")),
        ("value_invalid", "決済額"),
        id="wrong-type",
    ),
    pytest.param(
        stripe_message(checkout_completed("evt_r3", receipt="no-such-receipt")),
        ("target_missing", "受付ID"),
        id="no-such-record",
    ),
    pytest.param(
        kintone_message("notification-r4", {**DEAL, "金額": {"type": "NUMBER", "value": "多"}}),
        ("value_invalid", "金額"),
        id="refetched-value-wrong",
    ),
    pytest.param(
        kintone_message("notification-r5", None, record_id="999", refetched=False),
        ("record_gone", None),
        id="record-gone",
    ),
]


@pytest.mark.parametrize(("message", "refusal"), REFUSALS)
def test_a_refused_event_goes_to_the_dead_letter_queue_once_with_its_reason(
    harness, kintone, message, refusal
):
    before = seminar(kintone.url)
    assert harness.apply(message) == "dead_lettered"

    letter = _dead_letter(harness)
    assert (letter["reason"], letter.get("field")) == refusal
    assert letter["dedupe_key"] == message["dedupe_key"]
    assert harness.visibility.delays == []  # acknowledged: never seen again
    assert seminar(kintone.url) == before
    assert audit_lines(kintone.url) == []


def test_a_message_that_is_not_an_event_is_dead_lettered_as_malformed(harness):
    record = sqs_record(stripe_message(checkout_completed("evt_m")))
    record["body"] = "not json"
    assert harness.service.apply_record(record) == "dead_lettered"
    assert _dead_letter(harness)["reason"] == "malformed_message"


def test_a_refusal_stays_on_the_queue_when_the_dead_letter_queue_is_down(harness):
    harness.dead_letters.fail = True
    with pytest.raises(UpstreamUnavailable):
        harness.apply(stripe_message(checkout_completed("evt_r6", metadata={})))
    assert len(harness.visibility.delays) == 1


# ----------------------------------------------------------------------- outages


def test_an_event_during_maintenance_is_backed_off_then_applied_once(harness, kintone, http):
    message = stripe_message(checkout_completed("evt_down_1"))
    http.post(f"{kintone.url}/_emulator/maintenance", json={"enabled": True}).raise_for_status()
    try:
        with pytest.raises(UpstreamUnavailable):
            harness.apply(message)
    finally:
        http.post(f"{kintone.url}/_emulator/maintenance", json={"enabled": False})
    assert len(harness.visibility.delays) == 1
    assert harness.dead_letters.messages == []

    revision = int(seminar(kintone.url)["$revision"])
    assert harness.apply(message, receive_count=2) == "applied"
    assert int(seminar(kintone.url)["$revision"]) == revision + 1


def test_a_token_kintone_refuses_is_retried_later_not_dead_lettered(harness, kintone, http):
    http.delete(f"{kintone.url}/_emulator/tokens", json={"token": "seminar-edit-token"})
    with pytest.raises(SekishoError):
        harness.apply(stripe_message(checkout_completed("evt_token_1")))
    assert harness.dead_letters.messages == []
    assert len(harness.visibility.delays) == 1


def test_the_ledger_down_defers_the_event_without_writing(harness, kintone):
    revision = seminar(kintone.url)["$revision"]
    harness.persistence.fail = True
    with pytest.raises(UpstreamUnavailable):
        harness.apply(stripe_message(checkout_completed("evt_ledger_1")))
    assert seminar(kintone.url)["$revision"] == revision


# ------------------------------------------------------------------------- audit


AUDITED = [
    pytest.param(
        stripe_message(checkout_completed("evt_a1", metadata={})),
        ("dead_lettered", "pointer_missing", "受付ID"),
        id="pointer-missing",
    ),
    pytest.param(
        stripe_message(checkout_completed("evt_a2", amount_total=[12000])),
        ("dead_lettered", "value_invalid", "決済額"),
        id="wrong-type",
    ),
    pytest.param(
        stripe_message({"id": "evt_a3", "type": "invoice.paid", "data": {}}),
        ("dropped", "no_action", None),
        id="no-action",
    ),
    pytest.param(
        {**stripe_message(checkout_completed("evt_a4")), "source": "gone-source"},
        ("dropped", "unknown_source", None),
        id="unknown-source",
    ),
]


@pytest.mark.parametrize(("message", "expected"), AUDITED)
def test_each_event_that_cannot_be_applied_has_its_own_audit_reason_and_no_retry(
    harness, caplog, message, expected
):
    with caplog.at_level("INFO", logger="sekisho.audit"):
        harness.apply(message)
    (line,) = [r for r in caplog.records if getattr(r, "action", None) == "webhook.action"]
    assert (line.outcome, line.reason, line.field) == expected
    assert line.dedupe_key == message["dedupe_key"]
    assert harness.visibility.delays == []
    # The audit line names the event, never a value from it.
    assert "12000" not in str(line.__dict__)


def test_a_bug_in_the_writer_fails_the_message_and_backs_it_off_never_drops_it(harness, caplog):
    def broken(*args, **kwargs):
        raise KeyError("a bug")

    harness.service._writer.apply = broken  # type: ignore[method-assign]
    with caplog.at_level("INFO"), pytest.raises(SekishoError, match="action crashed"):
        harness.apply(stripe_message(checkout_completed("evt_bug_1")))
    assert len(harness.visibility.delays) == 1
    assert harness.dead_letters.messages == []
    (line,) = [r for r in caplog.records if getattr(r, "action", None) == "webhook.action"]
    assert (line.outcome, line.reason) == ("failed", "KeyError")
    # Logged with where it broke (the type and frames), never with what it said.
    [crash] = [r for r in caplog.records if r.message == "action crashed"]
    assert (crash.error_type, crash.frames[-1]["function"]) == ("builtins.KeyError", "broken")
    assert crash.exc_info is None
    assert "a bug" not in str(crash.__dict__)


# -------------------------------------------------------------------- conditions


def kintone_requests(kintone) -> int:
    return kintone.emulator.controls.stats()["requests"]


def test_an_unpaid_checkout_completion_leaves_the_application_unpaid(harness, kintone):
    before = seminar(kintone.url)
    asked = kintone_requests(kintone)

    message = stripe_message(checkout_completed("evt_konbini_1", payment_status="unpaid"))
    assert harness.apply(message) == "skipped_condition"

    assert kintone_requests(kintone) == asked  # not even the read of the record
    assert seminar(kintone.url) == before
    assert before["支払状況"] == "未払い"
    assert harness.dead_letters.messages == []
    assert harness.visibility.delays == []  # acknowledged: never seen again


def test_a_delayed_payment_marks_the_application_paid_when_it_succeeds(harness, kintone):
    session = {"session_id": "cs_test_konbini_2"}
    completed = checkout_completed("evt_konbini_2a", payment_status="unpaid", **session)
    succeeded = checkout_event(SUCCEEDED, "evt_konbini_2b", payment_status="paid", **session)
    revision = int(seminar(kintone.url)["$revision"])

    assert harness.apply(stripe_message(completed)) == "skipped_condition"
    assert harness.apply(stripe_message(succeeded)) == "applied"

    paid = seminar(kintone.url)
    assert (paid["支払状況"], paid["決済額"]) == ("支払済", "12000")
    assert paid["決済イベントID"] == "demo-stripe#evt_konbini_2b"
    assert int(paid["$revision"]) == revision + 1
    # The unpaid completion again, redelivered late: still skipped, still paid.
    assert harness.apply(stripe_message(completed), receive_count=2) == "skipped_condition"
    assert seminar(kintone.url) == paid


def test_a_paid_checkout_completion_still_marks_the_application_paid_at_once(harness, kintone):
    assert harness.apply(stripe_message(checkout_completed("evt_card_1"))) == "applied"
    assert seminar(kintone.url)["支払状況"] == "支払済"


def test_a_failed_delayed_payment_leaves_the_application_unpaid(harness, kintone):
    before = seminar(kintone.url)
    asked = kintone_requests(kintone)
    session = {"session_id": "cs_test_konbini_3"}
    completed = checkout_completed("evt_konbini_3a", payment_status="unpaid", **session)
    failed = checkout_event(FAILED, "evt_konbini_3b", payment_status="unpaid", **session)

    assert harness.apply(stripe_message(completed)) == "skipped_condition"
    assert harness.apply(stripe_message(failed)) == "dropped"

    assert kintone_requests(kintone) == asked
    assert seminar(kintone.url) == before
    assert harness.dead_letters.messages == []
    assert harness.visibility.delays == []


def test_an_unmet_condition_is_decided_before_the_ledger_and_kintone_are_asked(
    harness, kintone, http
):
    # Both down: an event that would be written is deferred, one that never will is not.
    harness.persistence.fail = True
    http.post(f"{kintone.url}/_emulator/maintenance", json={"enabled": True}).raise_for_status()
    try:
        unpaid = stripe_message(checkout_completed("evt_konbini_4", payment_status="unpaid"))
        assert harness.apply(unpaid) == "skipped_condition"
        with pytest.raises(UpstreamUnavailable):
            harness.apply(stripe_message(checkout_completed("evt_card_4")))
    finally:
        http.post(f"{kintone.url}/_emulator/maintenance", json={"enabled": False})
        harness.persistence.fail = False
    assert len(harness.visibility.delays) == 1  # the paid one only
    assert harness.apply(unpaid, receive_count=2) == "skipped_condition"
    assert harness.apply(stripe_message(checkout_completed("evt_card_4"))) == "applied"
    # The ledger holds the applied event alone: nothing of the skipped one is remembered.
    assert len(harness.persistence._records) == 1


CONDITION_AUDITED = [
    # (the session's fields, the audit line's reason and pointer)
    pytest.param({"payment_status": "unpaid"}, "value_not_allowed", id="unpaid"),
    pytest.param({"payment_status": "no_payment_required"}, "value_not_allowed", id="free"),
    pytest.param({"payment_status": "PAID"}, "value_not_allowed", id="another-case"),
    pytest.param({"payment_status": ["paid"]}, "value_not_allowed", id="a-list"),
    pytest.param({"payment_status": True}, "value_not_allowed", id="a-boolean"),
    pytest.param({"payment_status": None}, "value_not_allowed", id="null"),
]


@pytest.mark.parametrize(("session", "reason"), CONDITION_AUDITED)
def test_a_skipped_event_is_audited_with_the_pointer_it_failed_never_its_value(
    harness, kintone, caplog, session, reason
):
    message = stripe_message(checkout_completed("evt_skip_1", **session))
    with caplog.at_level("INFO", logger="sekisho.audit"):
        assert harness.apply(message) == "skipped_condition"
    (line,) = [r for r in caplog.records if getattr(r, "action", None) == "webhook.action"]
    assert (line.outcome, line.reason, line.pointer) == (
        "skipped_condition",
        reason,
        "/data/object/payment_status",
    )
    assert (line.action_name, line.dedupe_key) == ("mark-seminar-paid", "evt_skip_1")
    assert line.field is None
    value = session["payment_status"]
    if isinstance(value, str | list):  # (True and None say nothing and appear anyway)
        assert repr(value) not in str(line.__dict__)


def test_an_event_without_the_conditions_pointer_is_skipped_not_dead_lettered(
    harness, kintone, caplog
):
    event = checkout_completed("evt_skip_2")
    del event["data"]["object"]["payment_status"]
    before = seminar(kintone.url)
    with caplog.at_level("INFO", logger="sekisho.audit"):
        assert harness.apply(stripe_message(event)) == "skipped_condition"
    (line,) = [r for r in caplog.records if getattr(r, "action", None) == "webhook.action"]
    assert (line.reason, line.pointer) == ("pointer_missing", "/data/object/payment_status")
    assert harness.dead_letters.messages == []
    assert harness.visibility.delays == []
    assert seminar(kintone.url) == before


# A kintone source's action that audits live deals only: its condition reads the record.
LIVE_DEALS = {"/record/ステータス/value": ["商談中", "受注"]}


def kintone_policy(when: dict[str, Any]):
    data = yaml.safe_load((REPO / "policy.yaml").read_text(encoding="utf-8"))
    data["webhooks"]["demo-kintone"]["actions"]["audit-new-deal"]["when"] = when
    return parse_policy(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


@pytest.fixture
def live_deals(harness, kintone) -> Harness:
    return Harness(kintone.url, policy=kintone_policy(LIVE_DEALS))


def test_an_event_queued_without_its_record_is_read_first_then_its_condition_decided(
    live_deals, kintone
):
    # Record 2 (D000002) is 商談中, record 3 (D000003) 取消.
    live = kintone_message("notification-c1", None, record_id="2", refetched=False)
    cancelled = kintone_message("notification-c2", None, record_id="3", refetched=False)
    asked = kintone_requests(kintone)

    assert live_deals.apply(cancelled) == "skipped_condition"
    # One request: the refetch token's read of the record. No write, no ledger entry.
    assert kintone_requests(kintone) == asked + 1
    assert audit_lines(kintone.url) == []

    assert live_deals.apply(live) == "applied"
    (line,) = audit_lines(kintone.url)
    assert (line["取引ID"], line["通知ID"]) == ("D000002", "demo-kintone#notification-c1")
    assert live_deals.dead_letters.messages == []


def test_a_refetched_record_that_fails_the_condition_is_skipped_without_a_request(
    live_deals, kintone
):
    cancelled = {**DEAL, "ステータス": {"type": "DROP_DOWN", "value": "取消"}}
    asked = kintone_requests(kintone)
    assert live_deals.apply(kintone_message("notification-c3", cancelled)) == "skipped_condition"
    assert kintone_requests(kintone) == asked
    assert live_deals.apply(kintone_message("notification-c4", DEAL)) == "applied"
    assert len(audit_lines(kintone.url)) == 1


def test_a_condition_that_needs_the_record_waits_for_kintone_rather_than_guessing(
    live_deals, kintone, http
):
    message = kintone_message("notification-c5", None, record_id="2", refetched=False)
    http.post(f"{kintone.url}/_emulator/maintenance", json={"enabled": True}).raise_for_status()
    try:
        with pytest.raises(UpstreamUnavailable):
            live_deals.apply(message)
    finally:
        http.post(f"{kintone.url}/_emulator/maintenance", json={"enabled": False})
    assert len(live_deals.visibility.delays) == 1
    assert live_deals.dead_letters.messages == []
    assert live_deals.apply(message, receive_count=2) == "applied"


def test_a_condition_on_the_message_itself_needs_no_read_of_the_record(harness, kintone):
    updates_only = Harness(kintone.url, policy=kintone_policy({"/type": "UPDATE_RECORD"}))
    asked = kintone_requests(kintone)
    message = kintone_message("notification-c6", None, record_id="2", refetched=False)
    assert updates_only.apply(message) == "skipped_condition"
    assert kintone_requests(kintone) == asked


def test_a_record_deleted_before_its_condition_is_read_is_dead_lettered_as_gone(live_deals):
    message = kintone_message("notification-c7", None, record_id="999", refetched=False)
    assert live_deals.apply(message) == "dead_lettered"
    assert _dead_letter(live_deals)["reason"] == "record_gone"


def _action_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "action", None) == "webhook.action"]


def test_the_audit_line_names_the_record_an_event_updated(harness, kintone, caplog):
    caplog.set_level(logging.INFO)

    assert harness.apply(stripe_message(checkout_completed("evt_paid_ids"))) == "applied"

    (line,) = _action_lines(caplog)
    assert line.record_ids == [seminar(kintone.url)["$id"]]


def test_the_audit_line_names_the_record_an_event_added(harness, kintone, caplog):
    caplog.set_level(logging.INFO)

    assert harness.apply(kintone_message("notification-ids", DEAL)) == "applied"

    (line,) = _action_lines(caplog)
    (added,) = audit_lines(kintone.url)
    assert line.record_ids == [added["$id"]]
