"""The intake service over in-memory twins: record once, queue when kintone is away."""

from __future__ import annotations

import ast
import base64
import contextlib
import json
import logging
import re
from pathlib import Path

import pytest

from sekisho.entries.memory import InMemoryEntryLedger
from sekisho.errors import (
    ConfigurationError,
    NotFound,
    RateLimited,
    RouteDisabled,
    UpstreamError,
    UpstreamUnavailable,
    ValidationFailed,
)
from sekisho.guard.guard import Guard
from sekisho.guard.memory import InMemoryGuardStore
from sekisho.intake.attachments import InMemoryAttachmentStore
from sekisho.intake.captcha import StaticCaptcha
from sekisho.intake.errors import (
    CaptchaFailed,
    IdempotencyKeyReused,
    OutboxUnavailable,
    ReceiptClash,
    RequestInProgress,
)
from sekisho.intake.idempotency import Idempotency, InMemoryPersistenceLayer
from sekisho.intake.message import QueuedSubmission
from sekisho.intake.outbox import Outbox
from sekisho.intake.queue import InMemoryQueue
from sekisho.intake.receipts import SHORT_PATTERN
from sekisho.intake.request import IntakeRequest
from sekisho.intake.service import IntakeService
from sekisho.kintone.client import TokenSource
from sekisho.kintone.errors import (
    KintoneBusy,
    KintoneCircuitOpen,
    KintoneConnectionError,
    KintoneError,
    KintoneLocked,
    KintoneMaintenance,
    KintonePermissionDenied,
    KintoneServerError,
    KintoneTimeout,
    KintoneUniqueViolation,
    KintoneValidationError,
)
from sekisho.policy import Policy
from sekisho.policy.validation import parse_policy
from sekisho.secrets.errors import SecretUnavailable

ROOT = Path(__file__).resolve().parents[2]
IP = "203.0.113.20"
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"

POLICY = """
kintone: {base_url: https://example.cybozu.com}
apps:
  2:
    name: seminar
    fields:
      受付ID: SINGLE_LINE_TEXT
      氏名: SINGLE_LINE_TEXT
      メール: SINGLE_LINE_TEXT
      人数: NUMBER
      履歴書: FILE
      受付経路: SINGLE_LINE_TEXT
      社内メモ: MULTI_LINE_TEXT
forms:
  seminar-apply:
    app: 2
    token_secret: sekisho/kintone/seminar-add
    receipt_field: 受付ID
    honeypot: website
    guard: {per_ip: 3/hour}
    fields:
      name:  {code: 氏名, type: text, required: true, max_length: 100}
      email: {code: メール, type: email, required: true, max_length: 254}
      seats: {code: 人数, type: number, min: 1, max: 5}
      cv:    {code: 履歴書, type: file, max_bytes: 2097152, content_types: [application/pdf]}
    set: {受付経路: web}
  guarded-apply:
    app: 2
    token_secret: sekisho/kintone/seminar-add
    receipt_field: 受付ID
    captcha: {provider: turnstile, secret: sekisho/captcha/guarded-apply}
    fields:
      name:  {code: 氏名, type: text, required: true}
"""

VALID = {"fields": {"name": "山田 花子", "email": "hanako@example.com", "seats": 2}}
WITH_CV = {
    "fields": {
        **VALID["fields"],
        "cv": [
            {
                "filename": "cv.pdf",
                "content_type": "application/pdf",
                "data": base64.b64encode(PDF).decode(),
            }
        ],
    }
}


class FakeKintone:
    """Records what the intake writes; fails with the queued exceptions first."""

    def __init__(self) -> None:
        self.failures: list[Exception] = []
        self.uploads: list[tuple[str, bytes, str]] = []
        self.added: list[tuple[int, dict]] = []
        self.on_add = None

    def _maybe_fail(self) -> None:
        if self.failures:
            raise self.failures.pop(0)

    def upload_file(self, filename: str, content: bytes, content_type: str) -> str:
        self._maybe_fail()
        self.uploads.append((filename, content, content_type))
        return f"file-key-{len(self.uploads)}"

    def add_record(self, app: int, record: dict) -> None:
        self._maybe_fail()
        if self.on_add is not None:
            self.on_add()
        self.added.append((app, dict(record)))

    def __getattr__(self, name: str):
        # get_records, get_record, ...: the intake path must never read.
        raise AssertionError(f"the intake path called kintone's {name}")


class Harness:
    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy or parse_policy(POLICY)
        self.kintone = FakeKintone()
        self.queue = InMemoryQueue()
        self.files = InMemoryAttachmentStore()
        self.persistence = InMemoryPersistenceLayer()
        self.captcha = StaticCaptcha({"good-token", "another-good-token"})
        self.tokens: list[str] = []
        self.entries = InMemoryEntryLedger()
        self.service = IntakeService(
            self.policy,
            self._token_source,
            Guard(InMemoryGuardStore(), hash_key=b"unit-test-hash-key-0123456789abcdef"),
            "https://example.cybozu.com",
            outbox=Outbox(self.queue, self.files),
            idempotency=Idempotency(self.persistence),
            captcha=self.captcha,
            client_factory=lambda url, token: self.kintone,
            entries=self.entries,
        )

    def _token_source(self, name: str) -> TokenSource:
        self.tokens.append(name)
        return TokenSource.fixed("unused")

    def submit(self, body=VALID, form="seminar-apply", **options):
        return self.service.submit(IntakeRequest(form, body, options.pop("ip", IP), **options))


@pytest.fixture
def intake() -> Harness:
    return Harness()


def audit_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "audit", False)]


# ------------------------------------------------------------------------ recorded


def test_a_valid_submission_is_recorded_with_exactly_the_declared_fields_presets_and_receipt(
    intake,
):
    result = intake.submit()
    assert (result.status_code, result.status) == (201, "recorded")
    assert re.fullmatch(SHORT_PATTERN, result.receipt)
    assert intake.kintone.added == [
        (
            2,
            {
                "氏名": "山田 花子",
                "メール": "hanako@example.com",
                "人数": "2",
                "受付経路": "web",
                "受付ID": result.receipt,
            },
        )
    ]
    assert intake.queue.messages == []


def test_the_answer_body_is_the_receipt_and_the_status(intake):
    result = intake.submit()
    assert result.body() == {"receipt": result.receipt, "status": "recorded"}


def test_every_submission_gets_its_own_receipt(intake):
    assert intake.submit().receipt != intake.submit().receipt


def test_attachments_are_uploaded_then_attached_by_file_key_in_the_same_add(intake):
    result = intake.submit(WITH_CV)
    assert intake.kintone.uploads == [("cv.pdf", PDF, "application/pdf")]
    _, record = intake.kintone.added[0]
    assert record["履歴書"] == [{"fileKey": "file-key-1"}]
    assert record["受付ID"] == result.receipt


def test_the_form_uses_only_its_own_token_secret(intake):
    intake.submit()
    assert intake.tokens == ["sekisho/kintone/seminar-add"]


READ_APIS = frozenset({"get_records", "get_record", "get_form_fields"})
INTAKE_CODE = [
    *sorted((ROOT / "layers" / "sekisho" / "sekisho" / "intake").glob("*.py")),
    ROOT / "functions" / "intake" / "app.py",
    ROOT / "functions" / "deliver" / "app.py",
]


@pytest.mark.parametrize("path", INTAKE_CODE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_intake_or_delivery_code_calls_a_kintone_read_api(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    used |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert not used & READ_APIS


# -------------------------------------------------------------------------- queued

TRANSIENT = [
    KintoneBusy("busy", kintone_code="GAIA_TO04", http_status=429),
    KintoneMaintenance("maintenance", http_status=503),
    KintoneLocked("locked", kintone_code="GAIA_DA02", http_status=400),
    KintoneServerError("oops", http_status=500),
    KintoneTimeout("timed out"),
    KintoneConnectionError("refused"),
    KintoneCircuitOpen("open"),
    SecretUnavailable("secrets manager is down"),
]


@pytest.mark.parametrize("failure", TRANSIENT, ids=lambda e: type(e).__name__)
def test_a_transient_kintone_failure_queues_the_submission_with_its_receipt(intake, failure):
    intake.kintone.failures.append(failure)
    result = intake.submit()
    assert (result.status_code, result.status) == (202, "queued")
    [sent] = intake.queue.messages
    assert sent.receipt == result.receipt
    message = QueuedSubmission.from_json(sent.body)
    assert message.receipt == result.receipt
    assert message.form == "seminar-apply"
    assert dict(message.record) == {
        "氏名": "山田 花子",
        "メール": "hanako@example.com",
        "人数": "2",
        "受付経路": "web",
    }


def test_a_failure_during_the_upload_queues_the_files_too(intake):
    intake.kintone.failures.append(KintoneMaintenance("maintenance", http_status=503))
    result = intake.submit(WITH_CV)
    assert result.status_code == 202
    message = QueuedSubmission.from_json(intake.queue.messages[0].body)
    [attachment] = message.attachments
    assert attachment.field == "履歴書"
    assert attachment.s3_key == f"attachments/{result.receipt}/0"
    assert intake.files.get(attachment.s3_key) == PDF
    assert attachment.size == len(PDF)
    assert intake.kintone.added == []


def test_a_timed_out_add_is_queued_because_the_receipt_makes_a_second_write_safe(intake):
    intake.kintone.failures.append(KintoneTimeout("timed out"))
    result = intake.submit()
    assert result.status_code == 202
    assert QueuedSubmission.from_json(intake.queue.messages[0].body).receipt == result.receipt


def test_with_too_little_time_left_kintone_is_not_called_and_the_submission_is_queued(intake):
    result = intake.submit(remaining_ms=lambda: 1_000)
    assert result.status_code == 202
    assert intake.kintone.added == []


def test_when_the_outbox_fails_too_the_answer_is_503_and_nothing_is_accepted(intake):
    intake.kintone.failures.append(KintoneMaintenance("maintenance", http_status=503))
    intake.queue.fail = True
    with pytest.raises(OutboxUnavailable) as caught:
        intake.submit()
    assert caught.value.status == 503
    assert caught.value.problem()["code"] == "upstream_unavailable"


# ------------------------------------------------------------------------ refusals


def test_a_kintone_validation_error_is_a_502_not_the_browsers_fault_and_is_not_queued(intake):
    intake.kintone.failures.append(
        KintoneValidationError(
            "bad", kintone_code="CB_VA01", http_status=400, field_errors={"record.人数.value": []}
        )
    )
    with pytest.raises(KintoneValidationError) as caught:
        intake.submit()
    assert (caught.value.status, caught.value.problem()["code"]) == (502, "upstream_error")
    assert intake.queue.messages == []


def test_a_unique_violation_on_another_field_is_a_502(intake):
    intake.kintone.failures.append(
        KintoneUniqueViolation(
            "dup",
            kintone_code="CB_VA01",
            http_status=400,
            field_errors={"record.メール.value": ["This value already exists in another record."]},
        )
    )
    with pytest.raises(UpstreamError) as caught:
        intake.submit()
    assert caught.value.status == 502


def test_a_token_without_permission_is_a_502_and_is_not_queued(intake):
    intake.kintone.failures.append(
        KintonePermissionDenied("no", kintone_code="GAIA_NO01", http_status=403)
    )
    with pytest.raises(UpstreamError) as caught:
        intake.submit()
    assert caught.value.status == 502
    assert intake.queue.messages == []


def test_an_unknown_form_is_not_found(intake):
    with pytest.raises(NotFound):
        intake.submit(form="all-records")


@pytest.mark.parametrize(
    "body",
    [
        {"fields": {**VALID["fields"], "社内メモ": "値引きは50%まで"}},
        {"fields": {**VALID["fields"], "受付経路": "phone"}},
        {"fields": {**VALID["fields"], "受付ID": "S7K3-M9Q2-XRW"}},
        {"fields": {**VALID["fields"], "seats": 9}},
        {"fields": {"email": "hanako@example.com"}},
        {"record": VALID["fields"]},
    ],
    ids=["internal-field", "preset", "receipt", "out-of-range", "missing-name", "wrong-shape"],
)
def test_an_invalid_submission_is_a_400_and_writes_nothing(intake, body):
    with pytest.raises(ValidationFailed) as caught:
        intake.submit(body)
    assert caught.value.status == 400
    assert intake.kintone.added == []
    assert intake.queue.messages == []


def receipt_taken(field: str = "受付ID") -> KintoneUniqueViolation:
    return KintoneUniqueViolation(
        "dup",
        kintone_code="CB_VA01",
        http_status=400,
        field_errors={f"record.{field}.value": ["This value already exists in another record."]},
    )


def refuse_first_adds(intake: Harness, count: int) -> list[int]:
    """kintone refuses the first ``count`` adds as a duplicate receipt."""
    refused: list[int] = []

    def maybe_refuse() -> None:
        if len(refused) < count:
            refused.append(1)
            raise receipt_taken()

    intake.kintone.on_add = maybe_refuse
    return refused


def test_a_receipt_another_record_holds_is_a_clash_so_a_new_one_is_drawn(intake, caplog):
    caplog.set_level(logging.INFO)
    drawn = iter(["S7K3-M9Q2-XRW", "0D8E-9C1A-2BD"])
    intake.service._new_receipt = lambda: next(drawn)
    refuse_first_adds(intake, 1)
    result = intake.submit()
    assert (result.status_code, result.status, result.receipt) == (201, "recorded", "0D8E-9C1A-2BD")
    [(_, record)] = intake.kintone.added
    assert record["受付ID"] == "0D8E-9C1A-2BD"
    assert intake.queue.messages == []
    assert audit_lines(caplog)[-1].receipt == "0D8E-9C1A-2BD"


def test_a_clash_with_files_uploads_them_again_and_records_one_record_with_them(intake):
    refuse_first_adds(intake, 2)
    result = intake.submit(WITH_CV)
    assert result.status_code == 201
    [(_, record)] = intake.kintone.added
    assert record["受付ID"] == result.receipt
    assert record["履歴書"] == [{"fileKey": "file-key-3"}]
    assert len(intake.kintone.uploads) == 3


def test_a_clash_then_kintone_going_away_queues_the_submission_under_the_new_receipt(intake):
    drawn = iter(["S7K3-M9Q2-XRW", "0D8E-9C1A-2BD"])
    intake.service._new_receipt = lambda: next(drawn)
    refused: list[int] = []

    def clash_then_maintenance() -> None:
        refused.append(1)
        raise receipt_taken() if len(refused) == 1 else KintoneMaintenance("m", http_status=503)

    intake.kintone.on_add = clash_then_maintenance
    result = intake.submit()
    assert (result.status_code, result.receipt) == (202, "0D8E-9C1A-2BD")
    [message] = intake.queue.messages
    assert QueuedSubmission.from_json(message.body).receipt == "0D8E-9C1A-2BD"


def test_receipts_taken_every_time_are_a_502_with_nothing_recorded_or_queued(intake):
    refused = refuse_first_adds(intake, 10)
    with pytest.raises(ReceiptClash) as caught:
        intake.submit()
    assert (caught.value.status, caught.value.problem()["code"]) == (502, "upstream_error")
    assert len(refused) == 3
    assert (intake.kintone.added, intake.queue.messages) == ([], [])


def test_the_rate_limit_per_client_ip_answers_429(intake):
    for _ in range(3):
        intake.submit()
    with pytest.raises(RateLimited):
        intake.submit()
    assert intake.submit(ip="198.51.100.1").status_code == 201


def test_a_filled_honeypot_answers_like_a_recorded_submission_and_writes_nothing(intake, caplog):
    caplog.set_level(logging.INFO)
    body = {"fields": {**VALID["fields"], "website": "https://spam.example"}}
    result = intake.submit(body)
    assert (result.status_code, result.status) == (201, "recorded")
    assert re.fullmatch(SHORT_PATTERN, result.receipt)
    assert intake.kintone.added == []
    assert intake.queue.messages == []
    assert audit_lines(caplog)[-1].outcome == "honeypot"


def test_an_empty_honeypot_is_ignored(intake):
    result = intake.submit({"fields": {**VALID["fields"], "website": ""}})
    assert result.status_code == 201
    assert len(intake.kintone.added) == 1


# ------------------------------------------------------------------------- captcha


def test_a_form_with_a_captcha_refuses_a_submission_without_a_token(intake):
    with pytest.raises(CaptchaFailed) as caught:
        intake.submit({"fields": {"name": "花子"}}, form="guarded-apply")
    assert caught.value.status == 403
    assert intake.kintone.added == []


def test_a_form_with_a_captcha_records_a_submission_with_a_good_token(intake):
    result = intake.submit(
        {"fields": {"name": "花子"}}, form="guarded-apply", captcha_token="good-token"
    )
    assert result.status_code == 201
    assert intake.captcha.calls == [("turnstile", "good-token")]


def test_an_invalid_submission_does_not_spend_the_captcha_token(intake):
    with pytest.raises(ValidationFailed):
        intake.submit({"fields": {}}, form="guarded-apply", captcha_token="good-token")
    assert intake.captcha.calls == []


def test_a_form_without_a_captcha_never_asks_the_provider(intake):
    intake.submit(captcha_token="whatever")
    assert intake.captcha.calls == []


def test_a_retry_with_the_same_key_is_not_asked_for_the_spent_captcha_again(intake):
    body = {"fields": {"name": "花子"}}
    first = intake.submit(
        body, form="guarded-apply", captcha_token="good-token", idempotency_key="a"
    )
    again = intake.submit(
        body, form="guarded-apply", captcha_token="good-token", idempotency_key="a"
    )
    assert again == first
    assert len(intake.captcha.calls) == 1


def test_a_form_declaring_a_captcha_without_a_verifier_is_a_configuration_error(intake):
    intake.service._captcha = None
    with pytest.raises(ConfigurationError):
        intake.submit({"fields": {"name": "花子"}}, form="guarded-apply", captcha_token="x")


# --------------------------------------------------------------------- idempotency


def test_a_retry_with_the_same_idempotency_key_gets_the_first_answer_and_writes_once(intake):
    first = intake.submit(idempotency_key="retry-1")
    again = intake.submit(idempotency_key="retry-1")
    assert again == first
    assert len(intake.kintone.added) == 1


def test_a_retry_of_a_queued_submission_gets_the_same_receipt_and_is_queued_once(intake):
    intake.kintone.failures.append(KintoneMaintenance("maintenance", http_status=503))
    first = intake.submit(idempotency_key="retry-2")
    again = intake.submit(idempotency_key="retry-2")
    assert (again.status_code, again.receipt) == (202, first.receipt)
    assert len(intake.queue.messages) == 1
    assert intake.kintone.added == []


def test_the_same_key_with_a_different_body_is_422(intake):
    intake.submit(idempotency_key="retry-3")
    other = {"fields": {**VALID["fields"], "seats": 3}}
    with pytest.raises(IdempotencyKeyReused) as caught:
        intake.submit(other, idempotency_key="retry-3")
    assert (caught.value.status, caught.value.code) == (422, "idempotency_key_reused")


def test_the_same_key_on_another_form_is_another_submission(intake):
    intake.submit(idempotency_key="shared")
    result = intake.submit(
        {"fields": {"name": "花子"}},
        form="guarded-apply",
        captcha_token="good-token",
        idempotency_key="shared",
    )
    assert result.status_code == 201
    assert len(intake.kintone.added) == 2


def test_a_request_while_the_first_with_its_key_is_in_progress_is_409(intake):
    seen = []

    def retry_meanwhile():
        with pytest.raises(RequestInProgress) as caught:
            intake.submit(idempotency_key="busy")
        seen.append(caught.value.status)

    intake.kintone.on_add = retry_meanwhile
    intake.submit(idempotency_key="busy")
    assert seen == [409]


def test_a_failed_submission_is_not_remembered_so_the_retry_runs_again(intake):
    intake.kintone.failures.append(
        KintonePermissionDenied("no", kintone_code="GAIA_NO01", http_status=403)
    )
    with pytest.raises(UpstreamError):
        intake.submit(idempotency_key="again")
    assert intake.submit(idempotency_key="again").status_code == 201
    assert len(intake.kintone.added) == 1


def test_an_invalid_submission_is_not_remembered_either(intake):
    with pytest.raises(ValidationFailed):
        intake.submit({"fields": {}}, idempotency_key="fix-and-retry")
    assert intake.submit(idempotency_key="fix-and-retry").status_code == 201


@pytest.mark.parametrize(
    "key",
    ["", " ", "a b", "x" * 129, "キー", "tab\there", "new\nline", "\x7f"],
    ids=["empty", "space", "inner-space", "too-long", "non-ascii", "tab", "newline", "del"],
)
def test_an_unusable_idempotency_key_is_a_400(intake, key):
    with pytest.raises(ValidationFailed) as caught:
        intake.submit(idempotency_key=key)
    assert caught.value.errors[0]["pointer"] == "/headers/Idempotency-Key"
    assert intake.kintone.added == []


@pytest.mark.parametrize("key", ["a", "x" * 128, "3f0c6a52-6a0e-4d4b-9c55-1f1bba3b2a10", "~!@#"])
def test_a_usable_idempotency_key_is_accepted(intake, key):
    assert intake.submit(idempotency_key=key).status_code == 201


def test_when_the_idempotency_store_is_down_nothing_is_accepted(intake):
    intake.persistence.fail = True
    with pytest.raises(UpstreamUnavailable) as caught:
        intake.submit(idempotency_key="down")
    assert caught.value.status == 503
    assert intake.kintone.added == []


def test_an_accepted_submission_is_answered_even_if_its_answer_cannot_be_stored(intake):
    original = intake.persistence._update_record

    def broken(data_record):
        intake.persistence.fail = True
        try:
            original(data_record)
        finally:
            intake.persistence.fail = False

    intake.persistence._update_record = broken
    result = intake.submit(idempotency_key="half")
    assert result.status_code == 201
    assert len(intake.kintone.added) == 1


# ------------------------------------------------------------------------ replays


@pytest.fixture
def one_an_hour() -> Harness:
    return Harness(parse_policy(POLICY.replace("per_ip: 3/hour", "per_ip: 1/hour")))


def test_a_replay_after_the_limit_is_reached_still_gets_its_first_answer(one_an_hour):
    first = one_an_hour.submit(idempotency_key="lost-connection")
    assert first.status_code == 201
    for _ in range(3):
        assert one_an_hour.submit(idempotency_key="lost-connection") == first
    assert len(one_an_hour.kintone.added) == 1


def test_a_replay_does_not_count_against_the_limit(one_an_hour):
    first = one_an_hour.submit(idempotency_key="first")
    one_an_hour.submit(idempotency_key="first")
    # The first request spent the hour's one submission, the replay nothing more: a new
    # key from the same address is the second submission, refused.
    with pytest.raises(RateLimited):
        one_an_hour.submit({"fields": {**VALID["fields"], "seats": 3}}, idempotency_key="next")
    assert one_an_hour.submit(idempotency_key="first").receipt == first.receipt


def test_a_replay_of_a_queued_answer_after_the_limit_gets_the_queued_answer(one_an_hour):
    one_an_hour.kintone.failures.append(KintoneMaintenance("maintenance", http_status=503))
    first = one_an_hour.submit(idempotency_key="queued")
    again = one_an_hour.submit(idempotency_key="queued")
    assert (again.status_code, again.status, again.receipt) == (202, "queued", first.receipt)
    assert len(one_an_hour.queue.messages) == 1


FRESH_KEYS_COUNTED = {
    "a new key": (VALID, "another-key", RateLimited),
    "no key": (VALID, None, RateLimited),
    "the same key with another body": (
        {"fields": {**VALID["fields"], "seats": 3}},
        "first",
        RateLimited,
    ),
    "an unusable key": (VALID, "a b", RateLimited),
}


@pytest.mark.parametrize(
    ("body", "key", "refusal"), FRESH_KEYS_COUNTED.values(), ids=FRESH_KEYS_COUNTED.keys()
)
def test_what_is_not_a_replay_is_counted_after_the_limit(one_an_hour, body, key, refusal):
    one_an_hour.submit(idempotency_key="first")
    with pytest.raises(refusal):
        one_an_hour.submit(body, idempotency_key=key)
    assert len(one_an_hour.kintone.added) == 1


def test_the_same_key_with_another_body_within_the_limit_is_still_422(intake):
    intake.submit(idempotency_key="first")
    with pytest.raises(IdempotencyKeyReused):
        intake.submit({"fields": {**VALID["fields"], "seats": 3}}, idempotency_key="first")
    # Counted: the first request and the refused one leave one of the three.
    intake.submit(idempotency_key="third")
    with pytest.raises(RateLimited):
        intake.submit(idempotency_key="fourth")


def test_a_flood_of_fresh_keys_is_counted_like_any_other_submission(intake):
    for n in range(3):
        intake.submit({"fields": {**VALID["fields"], "name": f"bot {n}"}}, idempotency_key=f"k{n}")
    for n in range(3, 20):
        with pytest.raises(RateLimited):
            intake.submit(idempotency_key=f"k{n}")
    assert len(intake.kintone.added) == 3


def test_a_request_while_the_first_is_in_progress_is_counted_and_409(one_an_hour):
    seen: list[type[Exception]] = []

    def retry_meanwhile() -> None:
        try:
            one_an_hour.submit(idempotency_key="busy")
        except (RequestInProgress, RateLimited) as exc:
            seen.append(type(exc))

    one_an_hour.kintone.on_add = retry_meanwhile
    one_an_hour.submit(idempotency_key="busy")
    # Not a replay (nothing answered yet): counted, and past the one an hour.
    assert seen == [RateLimited]


def test_a_replay_is_not_answered_when_the_store_cannot_be_read(one_an_hour):
    first = one_an_hour.submit(idempotency_key="first")
    one_an_hour.persistence.fail = True
    with pytest.raises(RateLimited):
        one_an_hour.submit(idempotency_key="first")
    one_an_hour.persistence.fail = False
    assert one_an_hour.submit(idempotency_key="first") == first


def test_a_replay_is_audited_as_replayed_before_anything_is_counted(one_an_hour, caplog):
    caplog.set_level(logging.INFO)
    first = one_an_hour.submit(idempotency_key="audit")
    one_an_hour.submit(idempotency_key="audit")
    line = audit_lines(caplog)[-1]
    assert (line.outcome, line.receipt, line.replayed) == ("replayed", first.receipt, True)


def test_a_replay_on_a_form_switched_off_answers_503(one_an_hour):
    one_an_hour.submit(idempotency_key="first")
    one_an_hour.service._switches.check = _switched_off
    with pytest.raises(RouteDisabled):
        one_an_hour.submit(idempotency_key="first")


def _switched_off(kind: str, name: str, *, enabled: bool) -> None:
    raise RouteDisabled("off")


# --------------------------------------------------------------------------- audit


def test_one_audit_line_per_submission_with_outcome_and_receipt_but_no_values(intake, caplog):
    caplog.set_level(logging.INFO)
    result = intake.submit(WITH_CV)
    [line] = audit_lines(caplog)
    assert (line.outcome, line.receipt, line.client_ip) == ("recorded", result.receipt, IP)
    assert (line.form, line.attachments) == ("seminar-apply", 1)
    everything = json.dumps([vars(r) for r in caplog.records], ensure_ascii=False, default=str)
    for value in ("山田", "hanako@example.com", base64.b64encode(PDF).decode()[:16]):
        assert value not in everything


@pytest.mark.parametrize(
    ("arrange", "body", "outcome"),
    [
        (lambda h: None, {"fields": {}}, "invalid"),
        (
            lambda h: h.kintone.failures.append(KintoneBusy("busy", http_status=429)),
            VALID,
            "queued",
        ),
        (
            lambda h: h.kintone.failures.append(KintoneError("no", kintone_code="GAIA_XX01")),
            VALID,
            "failed",
        ),
    ],
    ids=["invalid", "queued", "failed"],
)
def test_the_audit_outcome_says_what_happened(intake, caplog, arrange, body, outcome):
    caplog.set_level(logging.INFO)
    arrange(intake)
    with contextlib.suppress(ValidationFailed, UpstreamError):
        intake.submit(body)
    assert audit_lines(caplog)[-1].outcome == outcome


def test_a_replayed_answer_is_audited_as_a_replay_with_the_first_receipt(intake, caplog):
    caplog.set_level(logging.INFO)
    first = intake.submit(idempotency_key="audit")
    intake.submit(idempotency_key="audit")
    line = audit_lines(caplog)[-1]
    assert (line.outcome, line.receipt, line.replayed) == ("replayed", first.receipt, True)


def test_a_form_switched_off_in_the_policy_answers_503_and_accepts_nothing(caplog):
    policy = parse_policy(POLICY)
    form = policy.forms["seminar-apply"].replace(enabled=False)
    intake = Harness(policy.replace(forms={"seminar-apply": form}))
    with caplog.at_level(logging.INFO), pytest.raises(RouteDisabled) as caught:
        intake.submit()
    assert (caught.value.status, caught.value.code) == (503, "route_disabled")
    assert intake.kintone.added == []
    assert intake.queue.messages == []
    assert [r.outcome for r in audit_lines(caplog)] == ["route_disabled"]
