"""The lookup service against the emulator: enforced filters, exact re-check, guard, audit."""

import json
import logging

import pytest
import requests

from sekisho.errors import NotFound, RateLimited, UpstreamUnavailable, ValidationFailed
from sekisho.guard.guard import Guard
from sekisho.guard.memory import InMemoryGuardStore
from sekisho.kintone.breaker import CircuitBreaker
from sekisho.kintone.client import KintoneClient
from sekisho.kintone.retry import RetryPolicy
from sekisho.lookup import LookupRequest, LookupService
from sekisho.policy.validation import load_policy
from sekisho.secrets.memory import InMemorySecretBackend
from sekisho.secrets.store import SecretStore

pytestmark = pytest.mark.emulator

POLICY = """
kintone: {base_url: "https://example.cybozu.com"}
apps:
  1:
    name: deals
    fields: {担当ID: SINGLE_LINE_TEXT, 取引ID: SINGLE_LINE_TEXT, 取引名: SINGLE_LINE_TEXT,
             金額: NUMBER, ステータス: DROP_DOWN, 社内メモ: MULTI_LINE_TEXT}
views:
  deal-status:
    app: 1
    token_secret: sekisho/kintone/deals-view
    match:
      owner_id: {code: 担当ID, max_length: 40}
      deal_id: {code: 取引ID, pattern: '^D[0-9]{6}$'}
    where: 'ステータス not in ("取消")'
    fields: [取引名, 金額, ステータス]
    limit: 20
    guard: {per_ip: 6/hour, failures_per_key: 3/hour}
  partner-deals:
    app: 1
    token_secret: sekisho/kintone/deals-view
    match:
      owner: {code: 担当ID, from: "claim:custom:owner_id"}
      deal_id: {code: 取引ID, pattern: '^D[0-9]{6}$'}
    fields: [取引名]
"""


class Calls:
    """Counts kintone calls and remembers what each asked for."""

    def __init__(self) -> None:
        self.calls: list[dict] = []


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def service_parts(kintone, tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY, encoding="utf-8")
    policy = load_policy(path)
    backend = InMemorySecretBackend()
    backend.put("sekisho/kintone/deals-view", json.dumps({"token": "deals-view-token"}))
    store = SecretStore(backend, allowed=policy.secret_names("views"))
    guard = Guard(InMemoryGuardStore(), hash_key=b"k" * 32)
    calls = Calls()

    class RecordingClient(KintoneClient):
        def get_records(self, app, query="", fields=None, *, total_count=False):
            calls.calls.append({"app": app, "query": query, "fields": list(fields or [])})
            return super().get_records(app, query, fields, total_count=total_count)

    def client_factory(base_url, token_source):
        return RecordingClient(
            base_url,
            token_source,
            session=requests.Session(),
            retry=RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.001),
            breaker=CircuitBreaker(failure_threshold=100),
        )

    clock = Clock()
    service = LookupService(
        policy,
        store.token_source,
        guard,
        kintone.url,
        client_factory=client_factory,
        not_found_deadline=0.25,
        clock=clock,
        sleep=clock.sleep,
    )
    return service, calls, clock


def lookup(service, owner, deal, *, view="deal-status", ip="203.0.113.10", claims=None):
    match = {k: v for k, v in {"owner_id": owner, "deal_id": deal}.items() if v is not None}
    return service.lookup(
        LookupRequest(view=view, body={"match": match}, client_ip=ip, claims=claims or {})
    )


def test_the_right_pair_returns_only_the_projected_fields(service_parts):
    service, calls, _ = service_parts
    assert lookup(service, "A1", "D000001") == [
        {"取引名": "倉庫管理システム更改", "金額": "1200000", "ステータス": "商談中"}
    ]
    assert len(calls.calls) == 1, "exactly one kintone call per lookup"
    call = calls.calls[0]
    # The record id is read for the audit line only; the answer above shows it never leaves.
    assert set(call["fields"]) == {"取引名", "金額", "ステータス", "担当ID", "取引ID", "$id"}
    assert "社内メモ" not in call["fields"]
    assert call["query"] == (
        '(ステータス not in ("取消")) and (担当ID = "A1") and (取引ID = "D000001") limit 20'
    )


def test_a_lookup_audits_the_ids_of_the_records_it_read_and_no_value(service_parts, caplog):
    service, _, _ = service_parts
    caplog.set_level(logging.INFO, logger="sekisho.audit")
    lookup(service, "A1", "D000001")
    with pytest.raises(NotFound):
        lookup(service, "A1", "D000010")
    found, missed = [r for r in caplog.records if getattr(r, "audit", False)]
    assert (found.route, found.caller, found.outcome) == ("view:deal-status", "anonymous", "found")
    # Ids only, as kintone numbers them: who read which record, never what it holds.
    assert len(found.record_ids) == 1
    assert found.record_ids[0].isdigit()
    assert (missed.outcome, missed.record_ids) == ("not_found", [])
    assert "倉庫管理システム更改" not in json.dumps(found.__dict__, default=str, ensure_ascii=False)


@pytest.mark.parametrize(
    ("owner", "deal"),
    [
        ("A1", "D000010"),  # A10's deal
        ("A10", "D000001"),  # A1's deal
        ("A1", "D000003"),  # A1's, but cancelled: the server condition excludes it
        ("A1", "D000011"),  # "A1 " owns it
        ("a1", "D000001"),  # case differs
        ("A1 ", "D000001"),  # trailing space
        ('A1" or 担当ID != "', "D000001"),  # an attempt to close the literal
        ("A1\\", "D000001"),  # a trailing backslash
        ("Ａ1", "D000001"),  # full-width A
    ],
)
def test_anything_but_the_exact_pair_is_not_found(service_parts, owner, deal):
    service, _, _ = service_parts
    with pytest.raises(NotFound):
        lookup(service, owner, deal)


@pytest.mark.parametrize(
    ("owner", "deal"),
    [("A1 ", "D000011"), ('Q"1', "D000012"), ("B\\", "D000013"), ("田中", "D000014")],
)
def test_owners_with_quotes_backslashes_and_spaces_find_their_own_deal(service_parts, owner, deal):
    service, _, _ = service_parts
    assert len(lookup(service, owner, deal)) == 1


def test_records_kintone_matches_by_folding_are_dropped_by_the_exact_recheck(
    service_parts, kintone
):
    requests.post(f"{kintone.url}/_emulator/collation", json={"fold": True}, timeout=5)
    service, calls, _ = service_parts
    with pytest.raises(NotFound):
        lookup(service, "a1", "D000001")
    assert len(calls.calls) == 1
    assert lookup(service, "A1", "D000001")[0]["取引名"] == "倉庫管理システム更改"


@pytest.mark.parametrize(
    ("match", "pointer", "code"),
    [
        ({"owner_id": "A1"}, "/match/deal_id", "required"),
        ({"deal_id": "D000001"}, "/match/owner_id", "required"),
        (
            {"owner_id": "A1", "deal_id": "D000001", "ステータス": "受注"},
            "/match/ステータス",
            "not_allowed",
        ),
        ({"owner_id": 1, "deal_id": "D000001"}, "/match/owner_id", "type"),
        ({"owner_id": ["A1"], "deal_id": "D000001"}, "/match/owner_id", "type"),
        ({"owner_id": "", "deal_id": "D000001"}, "/match/owner_id", "length"),
        ({"owner_id": "A" * 41, "deal_id": "D000001"}, "/match/owner_id", "length"),
        ({"owner_id": "A\n1", "deal_id": "D000001"}, "/match/owner_id", "format"),
        ({"owner_id": "A1", "deal_id": "D1"}, "/match/deal_id", "format"),
        ({"owner_id": "A1", "deal_id": "D000001\n"}, "/match/deal_id", "format"),
    ],
)
def test_missing_extra_and_malformed_predicates_are_rejected(service_parts, match, pointer, code):
    service, calls, _ = service_parts
    with pytest.raises(ValidationFailed) as caught:
        service.lookup(LookupRequest("deal-status", {"match": match}, "203.0.113.10"))
    assert (pointer, code) in {(e["pointer"], e["code"]) for e in caught.value.errors}
    assert calls.calls == []


@pytest.mark.parametrize(
    "body",
    [{}, {"match": "A1"}, {"match": {"owner_id": "A1", "deal_id": "D000001"}, "limit": 500}],
)
def test_a_body_other_than_one_match_object_is_rejected(service_parts, body):
    service, _, _ = service_parts
    with pytest.raises(ValidationFailed):
        service.lookup(LookupRequest("deal-status", body, "203.0.113.10"))


def test_an_unknown_view_is_not_found(service_parts):
    service, calls, _ = service_parts
    with pytest.raises(NotFound):
        lookup(service, "A1", "D000001", view="deals")
    assert calls.calls == []


def test_after_the_failure_limit_even_the_right_pair_is_not_found(service_parts):
    service, calls, _ = service_parts
    for deal in ("D000010", "D000012", "D000013"):
        with pytest.raises(NotFound):
            lookup(service, "A1", deal, ip=f"198.51.100.{len(deal)}")
    made = len(calls.calls)
    with pytest.raises(NotFound):
        lookup(service, "A1", "D000001")
    assert len(calls.calls) == made, "a locked-out key does not reach kintone"
    assert len(lookup(service, "A1 ", "D000011")) == 1, "other owners are unaffected"


def test_the_ip_limit_answers_rate_limited(service_parts):
    service, _, _ = service_parts
    for _ in range(6):
        lookup(service, "A1", "D000001", ip="192.0.2.1")
    with pytest.raises(RateLimited):
        lookup(service, "A1", "D000001", ip="192.0.2.1")
    assert lookup(service, "A1", "D000001", ip="192.0.2.2")


def test_a_not_found_is_padded_to_the_floor_and_a_hit_is_not(service_parts):
    service, _, clock = service_parts
    with pytest.raises(NotFound):
        lookup(service, "A1", "D000010")
    assert clock.slept == [pytest.approx(0.25)]
    lookup(service, "A1", "D000001")
    assert len(clock.slept) == 1


def test_a_locked_out_answer_is_padded_like_a_miss(service_parts):
    service, _, clock = service_parts
    for _ in range(4):
        with pytest.raises(NotFound):
            lookup(service, "A10", "D000001")
    assert clock.slept == [pytest.approx(0.25)] * 4


def test_a_claim_predicate_takes_its_value_from_the_verified_identity(service_parts):
    service, _, _ = service_parts
    request = LookupRequest(
        "partner-deals",
        {"match": {"deal_id": "D000002"}},
        "203.0.113.10",
        claims={"custom:owner_id": "A1"},
    )
    assert service.lookup(request) == [{"取引名": "年間保守契約"}]


def test_a_claim_predicate_cannot_be_supplied_in_the_body(service_parts):
    service, _, _ = service_parts
    request = LookupRequest(
        "partner-deals",
        {"match": {"owner": "A1", "deal_id": "D000002"}},
        "203.0.113.10",
        claims={"custom:owner_id": "A10"},
    )
    with pytest.raises(ValidationFailed):
        service.lookup(request)


def test_a_missing_claim_is_not_found(service_parts):
    service, _, _ = service_parts
    request = LookupRequest("partner-deals", {"match": {"deal_id": "D000002"}}, "203.0.113.10")
    with pytest.raises(NotFound):
        service.lookup(request)


def test_kintone_in_maintenance_is_upstream_unavailable(service_parts, kintone):
    requests.post(f"{kintone.url}/_emulator/maintenance", json={"enabled": True}, timeout=5)
    service, _, _ = service_parts
    with pytest.raises(UpstreamUnavailable) as caught:
        lookup(service, "A1", "D000001")
    assert caught.value.problem()["code"] == "upstream_unavailable"
